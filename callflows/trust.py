"""How far the hotline can trust that a report comes from the precinct's chair: one rule,
shared by the call flow (what the chair hears when they submit) and the worker (the
report's status, `queues.assessment`), so the two cannot disagree.

A right PIN proves someone has the PIN; the caller ID proves nothing by itself, since
anyone can put any number in it. Only the carrier's SHAKEN/STIR attestation at level A
(Twilio's `StirVerstat` of `TN-Validation-Passed-A`) says the caller may use the number
they show. So a report commits directly only from the precinct's registered chair phone
on a call attested A; from that phone without A, or for a precinct with no registered
phone, it is held until the chair is called back (or a reviewer approves it); from any
other number it is quarantined.
"""

from __future__ import annotations

from enum import StrEnum

from callflows.phones import e164

FULL_ATTESTATION = "TN-Validation-Passed-A"
"""Twilio's `StirVerstat` when the carrier knows the caller and that the number is theirs."""


class Trust(StrEnum):
    """Who a report's caller is, as far as the hotline can tell."""

    VERIFIED = "verified"
    """The precinct's registered chair phone, on a call the carrier attested at level A."""
    UNATTESTED = "unattested"
    """The chair's registered phone, but not attested A (B, C, none, or failed): honest
    for many landlines, some carriers and every call from abroad, and what a spoofer of
    the chair's number looks like too."""
    NO_CHAIR_PHONE = "no_chair_phone"
    """The precinct has no registered chair phone, so nothing ties the caller to it."""
    OTHER_NUMBER = "other_number"
    """Any number but the chair's registered phone, withheld ones included (a PIN read
    off a photo, perhaps)."""

    @property
    def commits(self) -> bool:
        """Whether a report of this trust may go straight into the results."""
        return self is Trust.VERIFIED


def report_trust(
    caller: str, chair_phone: str, stir_verstat: str, *, reached_by_hotline: bool = False
) -> Trust:
    """The trust of a report keyed by `caller` (the caller ID as Twilio sent it) for a
    precinct whose registered phone is `chair_phone` (E.164, "" for none), on a call with
    the carrier's `stir_verstat`; `reached_by_hotline` when the hotline placed the call to
    `caller` itself (then `caller` is the number dialled, which nobody can spoof)."""
    if not chair_phone:
        return Trust.NO_CHAIR_PHONE
    if e164(caller) != chair_phone:
        return Trust.OTHER_NUMBER
    if reached_by_hotline:
        # A spoofer can show the chair's number, but cannot answer a call placed to it.
        return Trust.VERIFIED
    # Exactly A: anything else (B, C, "No-TN-Validation", "TN-Validation-Failed-*", none,
    # or something Twilio would never send) leaves the number unconfirmed.
    if stir_verstat != FULL_ATTESTATION:
        return Trust.UNATTESTED
    return Trust.VERIFIED
