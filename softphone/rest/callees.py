"""Who answers a call the REST stand-in places: the personas a test registers per number.

A persona says only what the far end does (answer and press keys, play a greeting, be busy,
ring out, fail); how Twilio reports each of those is `placement`'s business.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

from softphone.caller import Answer

VOICEMAIL_WAIT_SECONDS = 15.0
"""How long (real time) a voicemail waits at a <Gather> for a REST update before it lets the
Gather time out: long enough for a hotline's AMD callback to redirect it, short enough that
a test that forgot to never hangs for long."""


@dataclass(frozen=True)
class AnsweringChair:
    """A person who answers and keys what `answer` says at each <Gather> (AMD: human)."""

    answer: Answer


@dataclass(frozen=True)
class Voicemail:
    """An answering machine: plays a greeting, beeps, records; presses nothing.

    AMD reports machine_end_beep (DetectMessageEnd) or machine_start (Enable)."""

    greeting_seconds: float = 5.0


@dataclass(frozen=True)
class Busy:
    """The line is busy: the call ends "busy" without being answered."""


@dataclass(frozen=True)
class NoAnswer:
    """It rings until Twilio gives up: "no-answer". Every unregistered number does this."""


@dataclass(frozen=True)
class Fails:
    """The carrier cannot connect the call: "failed"."""


Persona = AnsweringChair | Voicemail | Busy | NoAnswer | Fails


class Series:
    """One persona per successive call to the number, in order; NoAnswer once they run out
    (a test that places more calls than it scripted hears nobody, rather than a repeat)."""

    def __init__(self, personas: Sequence[Persona]) -> None:
        self.personas = tuple(personas)
        self._next = 0
        self._lock = threading.Lock()

    def take(self) -> Persona:
        with self._lock:
            index, self._next = self._next, self._next + 1
        return self.personas[index] if index < len(self.personas) else NoAnswer()


Callee = Persona | Series


def persona_for(callee: Callee | None) -> Persona:
    """The persona that answers the next call to a number registered as `callee`."""
    if callee is None:
        return NoAnswer()
    if isinstance(callee, Series):
        return callee.take()
    return callee
