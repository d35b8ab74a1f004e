"""A call's state between webhook requests, and the names of the steps it can be at.

The state is a plain dataclass that round-trips through JSON, so the web tier can keep it
in Redis by CallSid. The current step is stored as the step name used in the action URL
(e.g. "figure/final/3"); block and group positions are parsed from it, not stored twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

PRECINCT = "precinct"
PIN = "pin"
RESUME = "resume"
CHANCE = "chance"
CONFIRM = "confirm"
DONE = "done"
OFFER = "offer"
"""A call the hotline placed to a precinct with no report: press 1 to report now."""
VERIFY = "verify"
"""A call the hotline placed to verify a held report: press 1 if you made it, 2 if not."""
REMIND = "remind"
"""A call the hotline placed to remind a chair to drill: the drill line's number, and
press 1 to hear it again (a question, so a voicemail's greeting can end before the message)."""

FIRST = "first"
FINAL = "final"
DELEGATES = "delegates"
BLOCKS = (FIRST, FINAL, DELEGATES)
"""The blocks of every caucus worksheet, in the order a chair keys them: the first
alignment, the final alignment, and the county delegates. They are the caucus rules'
own (callflows.caucus checks one against another), so no ballot configures them."""


def figure_step(block: str, position: int) -> str:
    """Step name for one group's figure; `position` is the 1-based ballot position."""
    return f"figure/{block}/{position}"


def total_step(block: str) -> str:
    return f"total/{block}"


def fix_step(block: str) -> str:
    return f"fix/{block}"


def step_kind(step: str) -> str:
    """The first part of a step name: "figure", "total", "fix", "pin", ..."""
    return step.split("/", 1)[0]


def step_block(step: str) -> str:
    """The block a figure/total/fix step belongs to."""
    return step.split("/")[1]


def step_position(step: str) -> int:
    """The 1-based ballot position of a figure step."""
    return int(step.split("/")[2])


@dataclass
class CallState:
    """Everything the flow knows about one call."""

    call_sid: str
    caller: str
    attested: bool = False
    stir_verstat: str = ""
    """The carrier's attestation of the caller ID (Twilio's `StirVerstat`), as sent."""
    step: str = PRECINCT
    # Bumped on every answer; action URLs carry it so a repeated or stale request is spotted.
    seq: int = 0
    silences: int = 0
    errors: int = 0
    precinct_id: str | None = None
    precinct_name: str = ""
    delegates_to_elect: int | None = None
    authenticated: bool = False
    id_failures: int = 0
    pin_failures: int = 0
    figures: dict[str, list[int | None]] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)
    flagged: dict[str, str] = field(default_factory=dict)
    # The winners of the game of chance the chair reported (group indices).
    chance: list[int] = field(default_factory=list)
    report_id: str = ""
    receipt: str = ""
    reached_by_hotline: bool = False
    """The hotline placed this call to the precinct's registered chair phone (`caller`):
    whoever answers has that phone, as surely as a call the carrier attested at level A."""
    verifying_report_id: str = ""
    """On a verification call: the held report the chair is asked about."""
    verifying_receipt: str = ""
    verifying_worksheet: bool = False
    """The held report was keyed from a worksheet photo the chair's phone texted (issue 18):
    the chair is asked about the photo, by its reference, not about a call."""
    reminding_number: str = ""
    """The drill line's number a reminder call says (the REMIND step)."""
    staff_requests: int = 0
    """Times the caller pressed 0 at a menu to reach staff (callflows.flow limits them)."""
    drill: bool = False
    """A call to the drill line (callflows.drill): the practice ballot and worksheet, and
    the practice's ending instead of a receipt; nothing it keys is a report."""
    started_at: str = ""
    """When a drill call began (ISO 8601), kept with the practice report; "" otherwise."""
    language: str = "en"
    """The language the call is in (callflows.phrases.LANGUAGES)."""
    language_chosen: bool = False
    """The caller chose it on this call, or on an earlier one from the same phone: a
    precinct's default language no longer applies."""

    def to_json(self) -> str:
        # vars(), not asdict(): every field is already JSON, and asdict's deep copy was a
        # measurable share of each webhook.
        return json.dumps(vars(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> CallState:
        data: dict[str, Any] = json.loads(text)
        return cls(**data)

    def copy(self) -> CallState:
        """An independent copy (the containers hold only numbers and strings), much cheaper
        than copy.deepcopy on every webhook."""
        return replace(
            self,
            figures={block: list(values) for block, values in self.figures.items()},
            totals=dict(self.totals),
            flagged=dict(self.flagged),
            chance=list(self.chance),
        )


@dataclass(frozen=True)
class Progress:
    """A report in progress for a precinct, saved so a dropped call can resume."""

    step: str
    figures: dict[str, list[int | None]]
    totals: dict[str, int]
    flagged: dict[str, str]

    def to_json(self) -> str:
        return json.dumps(vars(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> Progress:
        return cls(**json.loads(text))

    @classmethod
    def of(cls, state: CallState) -> Progress:
        return cls(
            step=state.step, figures=state.figures, totals=state.totals, flagged=state.flagged
        )
