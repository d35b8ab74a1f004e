"""A Twilio stand-in: places calls against the hotline's voice webhooks as Twilio would.

Tests, the terminal softphone (``hotline call``) and the load tester (``hotline flood``) all
use it, because Twilio itself cannot be reached from here. It only ever sends signed form
POSTs to the Voice URL, the URLs the returned TwiML names, the Fallback URL and the status
callback.
"""

from softphone.caller import (
    APPLICATION_ERROR,
    APPLICATION_ERROR_MESSAGE,
    BUSY,
    CALLER_HUNG_UP,
    COMPLETED,
    HANGUP,
    REJECTED,
    REQUEST_LIMIT,
    Answer,
    CallRecord,
    Clock,
    Event,
    GatherPrompt,
    GatherResult,
    HangUp,
    Keys,
    Queues,
    Softphone,
    gather_digits,
    keypad,
    new_sid,
    signature_url,
    voice_step,
)
from softphone.overrides import ConnectionOverrides, parse_overrides, strip_fragment
from softphone.transport import (
    NO_RESPONSE,
    TWILIO_TIMEOUT_SECONDS,
    FlaskClientTransport,
    HttpTransport,
    TimedTransport,
    Transport,
)
from softphone.twiml import TwimlError, UnsupportedTwimlError, parse_twiml

__all__ = [
    "APPLICATION_ERROR",
    "APPLICATION_ERROR_MESSAGE",
    "BUSY",
    "CALLER_HUNG_UP",
    "COMPLETED",
    "HANGUP",
    "NO_RESPONSE",
    "REJECTED",
    "REQUEST_LIMIT",
    "TWILIO_TIMEOUT_SECONDS",
    "Answer",
    "CallRecord",
    "Clock",
    "ConnectionOverrides",
    "Event",
    "FlaskClientTransport",
    "GatherPrompt",
    "GatherResult",
    "HangUp",
    "HttpTransport",
    "Keys",
    "Queues",
    "Softphone",
    "TimedTransport",
    "Transport",
    "TwimlError",
    "UnsupportedTwimlError",
    "gather_digits",
    "keypad",
    "new_sid",
    "parse_overrides",
    "parse_twiml",
    "signature_url",
    "strip_fragment",
    "voice_step",
]
