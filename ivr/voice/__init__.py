"""Twilio's voice webhooks: the routes (`routes`), the typed request they parse
(`twilio_request`), and the handlers that answer a call (`calls`)."""

from ivr.voice.routes import bp

__all__ = ["bp"]
