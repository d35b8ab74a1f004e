"""The hotline number's messaging webhook (its SmsUrl, `POST /sms`).

Until chairs can send a photo of the worksheet, a text or MMS to the hotline gets one plain
answer: call instead. The request is signature-checked like every voice webhook (the WSGI
layer in `ivr.voice.routes` answers it; `ivr.web_sessions.is_webhook` names the path);
nothing is stored, and a message's text is never logged.
"""

from __future__ import annotations

from twilio.twiml.messaging_response import MessagingResponse

from ivr.callstore import Writes
from ivr.hotline import Hotline
from ivr.voice.twilio_request import VoiceRequest

CALL_INSTEAD = "This number takes caucus results by phone call only. Please call it to report."
"""The answer to every text or picture message sent to the hotline."""


def inbound(hotline: Hotline, req: VoiceRequest, writes: Writes) -> str:
    """Any message to the hotline's number: the reply asks the sender to call."""
    response = MessagingResponse()
    response.message(CALL_INSTEAD)
    return str(response)
