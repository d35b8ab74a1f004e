"""A text or picture message to the hotline's number: what it carries, whose precinct it is
for, and what the sender is told (issue 18: worksheets that arrive as photos).

Pure, like the call flow: the webhook (ivr.sms) reads the message and the precinct
directory, and this module decides. A photo sent from a precinct chair's registered phone
is that precinct's; from any other number, the message must name a precinct ID in its text.
Whatever cannot be tied to a precinct, or cannot be read, goes to staff's triage: nothing a
sender sends is dropped. Every reply is a phrase of callflows.prompts, said in the sender's
language.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from callflows import prompts
from callflows.phrases import Phrase

PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
"""What the hotline keeps as a worksheet photo: what phones send by MMS and a browser shows
(HEIC is not among them: phones convert it to JPEG for MMS)."""
MAX_MEDIA = 10
"""Twilio's limit of media in one message."""
PRECINCT_ID = re.compile(r"(?<!\d)(\d{4,7})(?!\d)")
"""A precinct ID in a message's text: 4 to 7 digits standing alone."""


class TiedBy(StrEnum):
    """How a message was tied to its precinct."""

    CHAIR_PHONE = "chair_phone"
    """Sent from the precinct chair's registered phone."""
    NAMED = "named"
    """Its text names the precinct's ID (any sender: held until verified)."""
    NOTHING = ""
    """Not tied: staff's triage decides."""


@dataclass(frozen=True)
class Media:
    """One item of a message, as the webhook gave it."""

    url: str
    content_type: str

    @property
    def is_photo(self) -> bool:
        return self.content_type in PHOTO_TYPES


@dataclass(frozen=True)
class Intake:
    """What the hotline makes of a message."""

    precinct_id: str
    """"" when not tied to one."""
    tied_by: TiedBy
    photos: tuple[Media, ...]
    refused: tuple[Media, ...]
    """Items of another type (a PDF, a video): kept in triage, never fetched."""
    reply: Phrase

    @property
    def needs_triage(self) -> bool:
        """Whether staff must look at it before an operator can key it."""
        return not self.precinct_id or bool(self.refused) or not self.photos


def named_precinct(text: str, is_known: Callable[[str], bool]) -> str:
    """The first precinct ID the text names that the directory knows; "" for none."""
    for found in PRECINCT_ID.findall(text):
        if is_known(found):
            return str(found)
    return ""


def take_message(
    body: str,
    media: Sequence[Media],
    chair_precincts: Sequence[str],
    is_known: Callable[[str], bool],
    reference: str,
) -> Intake:
    """Decide what a message is. `chair_precincts` are the precincts whose registered chair
    phone sent it (usually one; none for another number), `reference` the number the
    sender is given for it."""
    photos = tuple(item for item in media if item.is_photo)
    refused = tuple(item for item in media if not item.is_photo)
    named = named_precinct(body, is_known)
    if named and (named in chair_precincts or not chair_precincts):
        precinct, tied = named, (TiedBy.CHAIR_PHONE if named in chair_precincts else TiedBy.NAMED)
    elif len(chair_precincts) == 1:
        precinct, tied = chair_precincts[0], TiedBy.CHAIR_PHONE
    else:
        # A phone that chairs several precincts must say which; another number must name one.
        precinct, tied = "", TiedBy.NOTHING
    reply = _reply(photos, refused, precinct, reference)
    return Intake(precinct, tied, photos, refused, reply)


def _reply(
    photos: Sequence[Media], refused: Sequence[Media], precinct: str, reference: str
) -> Phrase:
    if not photos and not refused:
        return prompts.TEXT_ONLY
    if not photos:
        return prompts.photos_only(reference)
    if not precinct:
        return prompts.photo_needs_precinct(reference)
    if refused:
        return prompts.photo_received_other_unused(precinct, reference)
    return prompts.worksheet_photo_received(precinct, reference)
