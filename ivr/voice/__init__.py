"""Twilio's voice webhooks: the WSGI layer that answers them (`routes`), the typed request
it parses (`twilio_request`), and the handlers that answer a call (`calls`)."""

from ivr.voice.routes import VoiceWebhooks

__all__ = ["VoiceWebhooks"]
