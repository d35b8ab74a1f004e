"""The account the REST stand-in serves: its calls, numbers, queues and messages, and their JSON.

Field names, date format (RFC 2822), URIs and error bodies are Twilio's (api 2010-04-01),
so that the real `twilio` package's Client reads them as it reads Twilio's. All state sits
behind one lock: the API server's threads, the dispatcher and the calls' threads share it.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any, Final

from softphone.caller import API_VERSION, CallRecord, new_sid

if TYPE_CHECKING:
    from softphone.caller import Softphone

API_ROOT: Final = f"/{API_VERSION}"

QUEUED: Final = "queued"
INITIATED: Final = "initiated"
RINGING: Final = "ringing"
IN_PROGRESS: Final = "in-progress"
COMPLETED: Final = "completed"
BUSY: Final = "busy"
NO_ANSWER: Final = "no-answer"
FAILED: Final = "failed"
CANCELED: Final = "canceled"
ENDED: Final = frozenset({COMPLETED, BUSY, NO_ANSWER, FAILED, CANCELED})
"""The statuses a call never leaves."""

# A message's statuses (Twilio's Message resource; "queued" and "failed" are shared with calls).
SENT: Final = "sent"
DELIVERED: Final = "delivered"
UNDELIVERED: Final = "undelivered"
RECEIVED: Final = "received"
MESSAGE_ENDED: Final = frozenset({DELIVERED, UNDELIVERED, FAILED, RECEIVED})
"""The statuses a message never leaves."""

QUEUE_DEFAULT_SIZE: Final = 1000
"""A new queue's MaxSize unless given (Twilio's Queue resource default)."""
QUEUE_MAX_SIZE: Final = 5000
"""Twilio's ceiling for a queue's MaxSize."""

Json = dict[str, Any]


class ApiError(Exception):
    """An answer in Twilio's error format; `code` is Twilio's error code."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> Json:
        return {
            "code": self.code,
            "message": self.message,
            "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
            "status": self.status,
        }


def rfc2822(moment: datetime | None) -> str | None:
    """Twilio's date format: "Tue, 31 Aug 2010 20:36:28 +0000" (UTC, whole seconds)."""
    if moment is None:
        return None
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0))


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class CallbackSent:
    """One webhook the stand-in sent for a call (status or AMD callback), for assertions."""

    url: str
    params: dict[str, str]
    http_status: int  # softphone.NO_RESPONSE (0) when nothing answered


@dataclass
class CallState:
    """One call created through the API, from the create request to its end."""

    sid: str
    account_sid: str
    to: str
    from_: str
    url: str
    method: str
    fallback_url: str | None
    status_callback: str | None
    status_callback_events: frozenset[str]
    machine_detection: str | None  # "Enable", "DetectMessageEnd" or None
    async_amd: bool
    async_amd_status_callback: str | None
    timeout: int
    twiml: str | None
    created_at: float  # time.monotonic() when the create was accepted
    date_created: datetime
    index: int  # creation order, to break ties between calls created in the same second
    status: str = QUEUED
    placed_at: float | None = None  # time.monotonic() when it left "queued"
    answered_by: str | None = None
    persona: str = ""  # the class name of whoever answered the number
    date_updated: datetime | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    duration: int | None = None
    record: CallRecord | None = None
    """What the callee heard (a softphone CallRecord); None unless answered."""
    callbacks: list[CallbackSent] = field(default_factory=list)
    """Status callbacks sent, in order."""
    amd_callbacks: list[CallbackSent] = field(default_factory=list)
    voicemail_from: int | None = None
    """Index into record.heard where a voicemail began recording (after its beep)."""
    softphone: Softphone | None = field(default=None, repr=False)
    cancel_requested: bool = False
    settled: bool = False
    """Ended and done: its last status callback sent, its thread finished."""

    @property
    def amd_requested(self) -> bool:
        return self.machine_detection is not None

    @property
    def voicemail(self) -> str | None:
        """What a Voicemail recorded after its beep; None unless a voicemail answered."""
        if self.persona != "Voicemail":
            return None
        if self.record is None or self.voicemail_from is None:
            return ""
        return " ".join(self.record.heard[self.voicemail_from :])

    @property
    def heard(self) -> str:
        """Everything the callee heard, as one string."""
        return self.record.spoken if self.record is not None else ""

    @property
    def queued_seconds(self) -> float:
        """How long the call waited in "queued" for the account's CPS (so far)."""
        placed = self.placed_at if self.placed_at is not None else time.monotonic()
        return placed - self.created_at

    @property
    def ended(self) -> bool:
        return self.status in ENDED

    def uri(self) -> str:
        return f"{API_ROOT}/Accounts/{self.account_sid}/Calls/{self.sid}.json"

    def to_json(self, phone_number_sid: str | None) -> Json:
        base = self.uri().removesuffix(".json")
        return {
            "sid": self.sid,
            "date_created": rfc2822(self.date_created),
            "date_updated": rfc2822(self.date_updated or self.date_created),
            "parent_call_sid": None,
            "account_sid": self.account_sid,
            "to": self.to,
            "to_formatted": formatted(self.to),
            "from": self.from_,
            "from_formatted": formatted(self.from_),
            "phone_number_sid": phone_number_sid,
            "status": self.status,
            "start_time": rfc2822(self.start_time),
            "end_time": rfc2822(self.end_time),
            # Twilio's duration is a string of whole seconds, empty until the call completes.
            "duration": None if self.duration is None else str(self.duration),
            "price": None,
            "price_unit": "USD",
            "direction": "outbound-api",
            "answered_by": self.answered_by,
            "api_version": API_VERSION,
            "forwarded_from": None,
            "group_sid": None,
            "caller_name": None,
            "queue_time": str(round(1000 * self.queued_seconds)),
            "trunk_sid": None,
            "uri": self.uri(),
            "subresource_uris": {
                "notifications": f"{base}/Notifications.json",
                "recordings": f"{base}/Recordings.json",
                "events": f"{base}/Events.json",
            },
        }


@dataclass
class NumberState:
    """One IncomingPhoneNumber the account owns."""

    sid: str
    account_sid: str
    phone_number: str
    date_created: datetime
    date_updated: datetime
    friendly_name: str
    voice_url: str = ""
    voice_method: str = "POST"
    voice_fallback_url: str = ""
    voice_fallback_method: str = "POST"
    status_callback: str = ""
    status_callback_method: str = "POST"
    sms_url: str = ""
    sms_method: str = "POST"
    sms_fallback_url: str = ""
    sms_fallback_method: str = "POST"

    def uri(self) -> str:
        return f"{API_ROOT}/Accounts/{self.account_sid}/IncomingPhoneNumbers/{self.sid}.json"

    def to_json(self) -> Json:
        return {
            "account_sid": self.account_sid,
            "address_requirements": "none",
            "address_sid": None,
            "api_version": API_VERSION,
            "beta": False,
            "bundle_sid": None,
            "capabilities": {"voice": True, "sms": True, "mms": True, "fax": False},
            "date_created": rfc2822(self.date_created),
            "date_updated": rfc2822(self.date_updated),
            "emergency_address_sid": None,
            "emergency_address_status": "unregistered",
            "emergency_status": "Inactive",
            "friendly_name": self.friendly_name,
            "identity_sid": None,
            "origin": "twilio",
            "phone_number": self.phone_number,
            "sid": self.sid,
            "sms_application_sid": "",
            "sms_fallback_method": self.sms_fallback_method,
            "sms_fallback_url": self.sms_fallback_url,
            "sms_method": self.sms_method,
            "sms_url": self.sms_url,
            "status": "in-use",
            "status_callback": self.status_callback,
            "status_callback_method": self.status_callback_method,
            "trunk_sid": None,
            "type": "local",
            "uri": self.uri(),
            "voice_application_sid": "",
            "voice_caller_id_lookup": False,
            "voice_fallback_method": self.voice_fallback_method,
            "voice_fallback_url": self.voice_fallback_url,
            "voice_method": self.voice_method,
            "voice_receive_mode": "voice",
            "voice_url": self.voice_url,
            "subresource_uris": {
                "assigned_add_ons": self.uri().removesuffix(".json") + "/AssignedAddOns.json"
            },
        }


# Form fields a number's update may set, and the attribute each sets.
NUMBER_FIELDS: Final = {
    "VoiceUrl": "voice_url",
    "VoiceMethod": "voice_method",
    "VoiceFallbackUrl": "voice_fallback_url",
    "VoiceFallbackMethod": "voice_fallback_method",
    "StatusCallback": "status_callback",
    "StatusCallbackMethod": "status_callback_method",
    "SmsUrl": "sms_url",
    "SmsMethod": "sms_method",
    "SmsFallbackUrl": "sms_fallback_url",
    "SmsFallbackMethod": "sms_fallback_method",
    "FriendlyName": "friendly_name",
}


@dataclass
class QueueState:
    """One call queue (the hotline's hold queue is one)."""

    sid: str
    account_sid: str
    friendly_name: str
    max_size: int
    date_created: datetime
    date_updated: datetime
    current_size: int = 0

    def uri(self) -> str:
        return f"{API_ROOT}/Accounts/{self.account_sid}/Queues/{self.sid}.json"

    def to_json(self) -> Json:
        return {
            "account_sid": self.account_sid,
            "average_wait_time": 0,
            "current_size": self.current_size,
            "date_created": rfc2822(self.date_created),
            "date_updated": rfc2822(self.date_updated),
            "friendly_name": self.friendly_name,
            "max_size": self.max_size,
            "sid": self.sid,
            "uri": self.uri(),
            "subresource_uris": {"members": self.uri().removesuffix(".json") + "/Members.json"},
        }


# GSM 03.38: the basic character set (one septet each) and its extension table (two each).
_GSM_BASIC: Final = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION: Final = frozenset("\f^{}\\[~]|€")


def num_segments(body: str) -> int:
    """How many SMS segments carry `body`: GSM-7 takes 160 septets in one segment and 153 in
    each of several; any other character makes the message UCS-2 (70 code units, or 67)."""
    if all(c in _GSM_BASIC or c in _GSM_EXTENSION for c in body):
        units = sum(2 if c in _GSM_EXTENSION else 1 for c in body)
        single, part = 160, 153
    else:
        units = len(body.encode("utf-16-le")) // 2
        single, part = 70, 67
    return 1 if units <= single else math.ceil(units / part)


@dataclass
class MediaState:
    """One piece of a message's media (a Media subresource) and its content."""

    sid: str
    account_sid: str
    parent_sid: str
    content_type: str
    date_created: datetime
    content: bytes | None = None
    """The bytes Twilio stores; None until an outbound message's MediaUrl was fetched."""
    source_url: str | None = None
    """The MediaUrl an outbound message was created with (None for inbound media)."""

    def uri(self) -> str:
        return (
            f"{API_ROOT}/Accounts/{self.account_sid}/Messages/{self.parent_sid}"
            f"/Media/{self.sid}.json"
        )

    def content_path(self) -> str:
        """Where Twilio serves the content itself: the resource's URI without ".json"."""
        return self.uri().removesuffix(".json")

    def to_json(self) -> Json:
        return {
            "account_sid": self.account_sid,
            "content_type": self.content_type,
            "date_created": rfc2822(self.date_created),
            "date_updated": rfc2822(self.date_created),
            "parent_sid": self.parent_sid,
            "sid": self.sid,
            "uri": self.uri(),
        }


@dataclass
class MessageState:
    """One message: created through the API (or a <Message> reply), or sent to a number."""

    sid: str
    account_sid: str
    to: str
    from_: str
    body: str
    direction: str  # "outbound-api", "outbound-reply" or "inbound"
    status: str
    date_created: datetime
    index: int  # creation order, to break ties between messages created in the same second
    status_callback: str | None = None
    media: list[MediaState] = field(default_factory=list)
    """The media not deleted, in order."""
    num_media: int = 0
    """How many media the message carried (a deleted Media does not change it)."""
    date_updated: datetime | None = None
    date_sent: datetime | None = None
    error_code: int | None = None
    error_message: str | None = None
    callbacks: list[CallbackSent] = field(default_factory=list)
    """Status callbacks sent (MessageStatus), in order."""
    webhook_status: int | None = None
    """An inbound message: the HTTP status of the hotline's answer (0 when none came)."""
    webhook_answer: str | None = None
    """An inbound message: the body of the hotline's answer (TwiML)."""
    settled: bool = False
    """Done: delivered or failed and its last status callback sent, or received and answered."""

    @property
    def ended(self) -> bool:
        return self.status in MESSAGE_ENDED

    @property
    def num_segments(self) -> int:
        # An MMS is one message whatever its length.
        return 1 if self.num_media else num_segments(self.body)

    def uri(self) -> str:
        return f"{API_ROOT}/Accounts/{self.account_sid}/Messages/{self.sid}.json"

    def to_json(self) -> Json:
        base = self.uri().removesuffix(".json")
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": self.body,
            "date_created": rfc2822(self.date_created),
            "date_sent": rfc2822(self.date_sent),
            "date_updated": rfc2822(self.date_updated or self.date_created),
            "direction": self.direction,
            "error_code": self.error_code,
            "error_message": self.error_message,
            "from": self.from_,
            "messaging_service_sid": None,
            # Twilio's counts are strings.
            "num_media": str(self.num_media),
            "num_segments": str(self.num_segments),
            "price": None,
            "price_unit": "USD",
            "sid": self.sid,
            "status": self.status,
            "subresource_uris": {
                "media": f"{base}/Media.json",
                "feedback": f"{base}/Feedback.json",
            },
            "to": self.to,
            "uri": self.uri(),
        }


def formatted(number: str) -> str:
    """A North American number as Twilio formats it for display: (515) 555-0100."""
    digits = number.removeprefix("+1")
    if number.startswith("+1") and len(digits) == 10 and digits.isdigit():
        return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
    return number


class Account:
    """The account's resources, behind one lock."""

    def __init__(self, account_sid: str, numbers: tuple[str, ...]) -> None:
        self.sid = account_sid
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        """Notified whenever a call's or a message's status changes (wait_until_idle waits on
        it)."""
        now = utc_now()
        self.numbers: dict[str, NumberState] = {}
        for number in numbers:
            state = NumberState(
                sid=new_sid("PN"),
                account_sid=account_sid,
                phone_number=number,
                date_created=now,
                date_updated=now,
                friendly_name=formatted(number),
            )
            self.numbers[state.sid] = state
        self.calls: dict[str, CallState] = {}
        self.queues: dict[str, QueueState] = {}
        self.messages: dict[str, MessageState] = {}

    def number_sid_of(self, phone_number: str) -> str | None:
        with self.lock:
            return next(
                (n.sid for n in self.numbers.values() if n.phone_number == phone_number), None
            )

    def call(self, sid: str) -> CallState:
        with self.lock:
            try:
                return self.calls[sid]
            except KeyError:
                raise not_found(f"{API_ROOT}/Accounts/{self.sid}/Calls/{sid}.json") from None

    def number(self, sid: str) -> NumberState:
        with self.lock:
            try:
                return self.numbers[sid]
            except KeyError:
                path = f"{API_ROOT}/Accounts/{self.sid}/IncomingPhoneNumbers/{sid}.json"
                raise not_found(path) from None

    def queue(self, sid: str) -> QueueState:
        with self.lock:
            try:
                return self.queues[sid]
            except KeyError:
                raise not_found(f"{API_ROOT}/Accounts/{self.sid}/Queues/{sid}.json") from None

    def message(self, sid: str) -> MessageState:
        with self.lock:
            try:
                return self.messages[sid]
            except KeyError:
                raise not_found(f"{API_ROOT}/Accounts/{self.sid}/Messages/{sid}.json") from None

    def medium(self, message_sid: str, sid: str) -> MediaState:
        """One Media of a message (404 as Twilio's when either is unknown or it was deleted)."""
        with self.lock:
            message = self.message(message_sid)
            found = next((m for m in message.media if m.sid == sid), None)
            if found is None:
                path = f"{API_ROOT}/Accounts/{self.sid}/Messages/{message_sid}/Media/{sid}.json"
                raise not_found(path)
            return found

    def set_message_status(self, message: MessageState, status: str) -> None:
        with self.lock:
            message.status = status
            message.date_updated = utc_now()
            self.changed.notify_all()

    def set_status(self, call: CallState, status: str) -> None:
        with self.lock:
            call.status = status
            call.date_updated = utc_now()
            self.changed.notify_all()

    def call_json(self, call: CallState) -> Json:
        with self.lock:
            return call.to_json(self.number_sid_of(call.from_))


def not_found(path: str) -> ApiError:
    return ApiError(404, 20404, f"The requested resource {path} was not found")
