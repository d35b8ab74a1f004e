"""What each kind of caller keys: chairs replaying worksheets, and pranks and robots.

A persona is a function from the prompt a caller faces (the step named by the Gather's
action URL, and what was said) to the keys they press. Personas are deterministic given
their random generator, so a flood can be replayed exactly.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from callflows.ballots import Ballot
from callflows.state import BLOCKS, DELEGATES
from callflows.trust import FULL_ATTESTATION
from flood.worksheets import Worksheet
from softphone import HANGUP, Answer, GatherPrompt, Keys

MAX_CALL_BACKS = 3
"""How many times a chair whom the hotline cut off calls again before giving up."""

PRANK_KINDS = (
    "silent",
    "random_keys",
    "pin_guesser",
    "repeat_dialer",
    "spoofed_chair",
    "anonymous",
    "leaked_pin",
    "robot",
)


@dataclass
class Chair:
    """A precinct chair keying a worksheet: with typos they notice and fix (star, then the
    right figure), and perhaps a dropped call after which they call back and resume."""

    precinct_id: str
    pin: str
    sheet: Worksheet
    ballot: Ballot
    phone: str
    rng: random.Random
    typo_rate: float = 0.0
    drop_at: str = ""
    """A step at which the line drops on the first call ("" for none)."""
    stir_verstat: str = FULL_ATTESTATION
    """The carrier's attestation of the chair's calls (Twilio's `StirVerstat`, "" for none):
    level A for most, anything else for a landline, some carriers, or a call from abroad."""
    drill: bool = False
    """Calls the drill line to practise (flood.drills: the practice worksheet) instead of
    reporting on the hotline's number."""
    calls_made: int = 0
    typos: int = 0
    cut_off: int = 0
    """Calls that ended in Twilio's "application error" hang-up before the chair heard a
    receipt: each earns one more call (up to MAX_CALL_BACKS), as a person would make."""
    _fixing: str = ""

    def answer(self, prompt: GatherPrompt) -> Keys:
        step = prompt.step
        if self.drop_at and step == self.drop_at and self.calls_made == 1:
            return HANGUP
        kind, _, rest = step.partition("/")
        if kind == "precinct":
            return f"{self.precinct_id}#"
        if kind == "pin":
            return self.pin
        if kind == "resume":
            return "1"
        if kind == "figure":
            return self._figure(step, rest)
        if kind == "total":
            if self._fixing.startswith(f"figure/{rest}/"):
                return "*#"  # the block's last figure was wrong: go back to it
            return f"{sum(self.sheet.block(self.ballot, rest))}#"
        if kind == "chance":
            return "".join(str(option) for option in self.sheet.game_winners(self.ballot))
        if kind == "fix":
            if self._fixing:
                # A figure of ours is still wrong (the line dropped before we fixed it):
                # key the block again, from the worksheet.
                self._fixing = ""
                return "1"
            # The worksheet is what it is: keep it, flagged for review.
            return "2"
        if kind == "confirm":
            return "1"
        return None

    def _figure(self, step: str, rest: str) -> Keys:
        block, position = rest.split("/")
        value = self.sheet.block(self.ballot, block)[int(position) - 1]
        if self._fixing:
            if step == self._fixing:
                self._fixing = ""
                return f"{value}#"
            if _comes_after(step, self._fixing):
                return "*#"  # heard the wrong figure read back: go back to it
            # Asked for an earlier figure (resumed from the block's start): the wrong one
            # will be keyed again in its turn.
            self._fixing = ""
        if self.rng.random() < self.typo_rate:
            self.typos += 1
            self._fixing = step
            return f"{value + self.rng.randint(1, 9)}#"
        return f"{value}#"

    @property
    def attested(self) -> bool:
        """Whether the carrier vouches for the chair's number (so the report commits)."""
        return self.stir_verstat == FULL_ATTESTATION

    def cut_off_by_hotline(self) -> None:
        """The last call ended in the application-error hang-up, before a receipt."""
        self.cut_off = min(self.cut_off + 1, MAX_CALL_BACKS)

    def next_call(self) -> Answer | None:
        """The answer function for the next call, or None when the chair is done."""
        if self.calls_made >= (2 if self.drop_at else 1) + self.cut_off:
            return None
        self.calls_made += 1
        # `_fixing` is kept: a chair who heard a wrong figure read back just before the line
        # dropped still knows it when they call back and resume.
        return self.answer


def _comes_after(step: str, other: str) -> bool:
    """Whether figure step `step` comes after figure step `other` in the call."""
    _, block, position = step.split("/")
    _, other_block, other_position = other.split("/")
    here, there = BLOCKS.index(block), BLOCKS.index(other_block)
    return (here, int(position)) > (there, int(other_position))


@dataclass
class Prank:
    """A hostile or robotic caller of one kind, placing one or more calls."""

    kind: str
    phone: str
    rng: random.Random
    precinct_ids: list[str]
    calls: int = 1
    target_precinct: str = ""
    target_pin: str = ""
    stir_verstat: str = ""
    calls_made: int = 0

    def next_call(self) -> Answer | None:
        if self.calls_made >= self.calls:
            return None
        self.calls_made += 1
        return self.answer

    def answer(self, prompt: GatherPrompt) -> Keys:
        kind, step = self.kind, prompt.step
        if kind == "silent":
            return None
        if kind == "repeat_dialer":
            return HANGUP
        if kind in ("random_keys", "anonymous", "robot"):
            return self._random_keys()
        if kind in ("pin_guesser", "spoofed_chair"):
            return self._guess(step)
        return self._leaked(step)

    def _random_keys(self) -> Keys:
        if self.rng.random() < 0.2:
            return None
        keys = "".join(self.rng.choice("0123456789*") for _ in range(self.rng.randint(1, 9)))
        return f"{keys}#"

    def _guess(self, step: str) -> Keys:
        if step == "precinct":
            target = self.target_precinct or self.rng.choice(self.precinct_ids)
            return f"{target}#"
        if step == "pin":
            return f"{self.rng.randrange(10**6):06d}"
        return HANGUP

    def _leaked(self, step: str) -> Keys:
        """A real PIN read off a photo, keyed from the prankster's own phone."""
        kind, _, rest = step.partition("/")
        if kind == "precinct":
            return f"{self.target_precinct}#"
        if kind == "pin":
            return self.target_pin
        if kind == "resume":
            return "2"
        if kind == "figure":
            return "9#" if rest.endswith("/1") and not rest.startswith(DELEGATES) else "0#"
        if kind == "total":
            return "0#" if rest == DELEGATES else "9#"
        if kind in ("fix", "chance"):
            return "2" if kind == "fix" else "1"
        if kind == "confirm":
            return "1"
        return None
