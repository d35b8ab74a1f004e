"""A stand-in for Twilio's REST API (api 2010-04-01), served live on loopback.

`RestStandIn` answers the real `twilio` Client (pointed at it through
`ivr.twilio_api.rest_client`) for Calls, IncomingPhoneNumbers, Queues, and Messages with
their Media, and places the calls created through it into the hotline as Twilio would,
answered by the personas a test registers per number (`callees`); `send_message` delivers a
text or picture message to the hotline's SmsUrl as Twilio does. Media content URLs redirect
to pre-signed URLs on a media CDN of the stand-in's own (`cdn`), as Twilio's redirect to S3.
"""

from softphone.rest.callees import (
    AnsweringChair,
    Busy,
    Callee,
    Fails,
    NoAnswer,
    Persona,
    Series,
    Voicemail,
)
from softphone.rest.cdn import CdnRequest
from softphone.rest.placement import InboundAnswer
from softphone.rest.resources import (
    CallbackSent,
    CallState,
    MediaState,
    MessageState,
    NumberState,
    QueueState,
)
from softphone.rest.server import RestStandIn

__all__ = [
    "AnsweringChair",
    "Busy",
    "CallState",
    "CallbackSent",
    "Callee",
    "CdnRequest",
    "Fails",
    "InboundAnswer",
    "MediaState",
    "MessageState",
    "NoAnswer",
    "NumberState",
    "Persona",
    "QueueState",
    "RestStandIn",
    "Series",
    "Voicemail",
]
