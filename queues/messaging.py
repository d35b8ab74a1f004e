"""What the worksheet intake (queues.worksheet_intake) needs of Twilio's messaging, as a
protocol: the worker is given the real client (`ivr.twilio_messages.TwilioMessages`) at
start-up, and nothing in `queues` imports the web tier's code."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class MediaTooLarge(Exception):
    """The photo is over `download`'s max_bytes (by its stated length, or as it is read)."""


class MediaUnavailable(Exception):
    """The photo could not be fetched (an HTTP error, a network failure); one line."""


@dataclass(frozen=True)
class Downloaded:
    content_type: str
    content: bytes


class MessagingApi(Protocol):
    """What the job needs of Twilio (`ivr.twilio_messages.TwilioMessages`)."""

    def download(self, url: str, max_bytes: int) -> Downloaded:
        """The media at `url` (a Twilio media URL of the account); MediaTooLarge or
        MediaUnavailable when it cannot be had."""
        ...

    def delete_media(self, message_sid: str, media_sid: str) -> None: ...

    def send_text(self, to: str, body: str) -> None:
        """A text message from the hotline's number."""
        ...
