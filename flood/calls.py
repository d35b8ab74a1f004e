"""Placing one persona's calls through the softphone, and what a report keeps of each call.

Both runners use this: the thread-pool runner of the test suite (`runner.py`) and the
Locust lines of `hotline flood` (`locustfile.py`), so they play callers the same way.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from callflows import prompts
from flood.personas import Chair, Prank
from softphone import (
    APPLICATION_ERROR,
    BUSY,
    REJECTED,
    Answer,
    CallRecord,
    Clock,
    GatherPrompt,
    Keys,
    Softphone,
    Transport,
)

HUMAN_REACTION_SECONDS = (0.5, 1.5)
"""A chair's pause before keying at each prompt: finding the figure on the worksheet."""
CALLBACK_SECONDS = (20.0, 60.0)
"""How long a chair whose line dropped takes to call back (on the flood's time scale)."""
CUT_OFF_CALLBACK_SECONDS = (10.0, 30.0)
"""How long, in real seconds, a chair whom the hotline cut off (Twilio's application error)
waits before calling again."""
REDIAL_SECONDS = (1.0, 5.0)
"""How long a prankster or robot takes to dial again."""
REFUSALS = (
    prompts.NUMBER_BLOCKED,
    prompts.NUMBER_BLOCKED_CALL_BACK,
    prompts.PRECINCT_LOCKED,
    prompts.PIN_LOCKED_OUT,
)
"""What a caller hears when the hotline stops them keying a PIN."""
RECEIPT = prompts.receipt("000000")[0]
"""The sentence that tells a chair their report is in ("Your report is received.")."""


@dataclass(frozen=True)
class Line:
    """Where and how calls are placed: the hotline's Voice URL, its token, the think time."""

    transport: Transport
    voice_url: str
    auth_token: str
    time_scale: float = 0.0
    """Sleep this fraction of the virtual call time (0: no waiting at all, 1: real time)."""
    human_think: bool = False
    """Whether chairs pause before keying (the realistic model) or key at once."""
    fallback_url: str = ""
    """The numbers' fallback URL ("": /fallback beside the Voice URL), e.g. on a second
    entry point, as `hotline twilio configure` sets it from PUBLIC_FALLBACK_BASE_URL."""

    @property
    def drill_url(self) -> str:
        """The drill line's Voice URL (ivr.voice.routes: /voice/drill)."""
        return f"{self.voice_url}/drill"

    def url_for(self, caller: Chair | Prank) -> str:
        """The number `caller` dials, as its Voice URL: a drill's is the drill line's."""
        return self.drill_url if isinstance(caller, Chair) and caller.drill else self.voice_url


@dataclass
class CallResult:
    """One call a persona placed, with its whole record (for tests that inspect it)."""

    persona: str
    """"chair", or the kind of prank."""
    precinct_id: str
    phone: str
    record: CallRecord
    started: float
    wall_seconds: float
    attempt: int = 1
    """1 for a persona's first call, 2 for its second (a callback or a redial), ..."""


@dataclass(frozen=True)
class CallSummary:
    """What a load report keeps of one call (a whole CallRecord is too big for 50,000 calls)."""

    persona: str
    precinct_id: str
    phone: str
    attempt: int
    started: float
    """Wall-clock time (epoch seconds) the call was placed."""
    wall_seconds: float
    virtual_seconds: float
    """The call's length on the softphone's clock: speech, keying and timeouts."""
    screening: str
    """As the caller saw it: admitted, held (then let in or not), busy or rejected."""
    outcome: str
    requests: int
    error_answers: int
    """Requests answered with anything but 200 (or not answered)."""
    application_errors: int
    refused_pin: bool
    """The caller heard that their number or the precinct may not key a PIN."""
    receipt: bool
    """The caller heard "Your report is received."."""
    last_heard: str = ""
    """The last sentence the caller heard (bounded), to tell how a call without a receipt
    ended."""
    held_on: bool = False
    """The caller heard "One moment, please.": the hotline's hold-and-retry, after a
    request it could not answer at once (a failover, the fallback URL)."""
    retries: int = 0
    """Requests repeated under the URLs' connection overrides (softphone.overrides)."""

    @staticmethod
    def of(result: CallResult) -> CallSummary:
        record = result.record
        spoken = record.spoken
        if record.outcome in (BUSY, REJECTED):
            screening = record.outcome
        elif any(event[0] == "enqueue" for event in record.transcript):
            screening = "held"
        else:
            screening = "admitted"
        return CallSummary(
            persona=result.persona,
            precinct_id=result.precinct_id,
            phone=result.phone,
            attempt=result.attempt,
            started=result.started,
            wall_seconds=round(result.wall_seconds, 4),
            virtual_seconds=round(record.duration_seconds, 2),
            screening=screening,
            outcome=record.outcome,
            requests=record.requests,
            error_answers=sum(1 for status in record.statuses if status != 200),
            application_errors=record.application_errors,
            refused_pin=any(refusal in spoken for refusal in REFUSALS),
            receipt=RECEIPT in spoken,
            held_on=prompts.HOLD_ON in spoken,
            last_heard=record.heard[-1][:160] if record.heard else "",
            retries=record.retries,
        )


CHAIR = "chair"
DRILL = "drill"
"""The persona of a chair's practice call on the drill line."""


def persona_of(caller: Chair | Prank) -> str:
    if isinstance(caller, Chair):
        return DRILL if caller.drill else CHAIR
    return caller.kind


def place_calls(
    caller: Chair | Prank,
    line: Line,
    *,
    deadline: float,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[CallResult]:
    """Place the persona's calls one after another until it is done or `deadline` (monotonic)."""
    rng = caller.rng
    attempt = 0
    was_cut_off = False
    while time.monotonic() < deadline and (answer := caller.next_call()) is not None:
        attempt += 1
        if was_cut_off:
            # Real seconds, whatever the time scale: the fault that cut the chair off lasts
            # real seconds too, and calling back into it at once would only be cut off again.
            sleep(rng.uniform(*CUT_OFF_CALLBACK_SECONDS))
        elif attempt > 1:
            pause = CALLBACK_SECONDS if isinstance(caller, Chair) else REDIAL_SECONDS
            sleep(rng.uniform(*pause) * line.time_scale)
        clock = Clock(time_scale=line.time_scale)
        if line.human_think and isinstance(caller, Chair):
            answer = _thinking(answer, clock, rng)
        phone = Softphone(
            line.transport,
            line.url_for(caller),
            line.auth_token,
            from_number=caller.phone,
            status_callback_url=f"{line.voice_url}/status",
            fallback_url=line.fallback_url or f"{line.voice_url}/fallback",
            extra_params=_attestation(caller),
            clock=clock,
        )
        started_wall, started = time.time(), time.monotonic()
        record = phone.call(answer)
        was_cut_off = isinstance(caller, Chair) and cut_off(record)
        if isinstance(caller, Chair) and was_cut_off:
            caller.cut_off_by_hotline()  # so next_call has them call again, and resume
        yield CallResult(
            persona=persona_of(caller),
            precinct_id=caller.precinct_id if isinstance(caller, Chair) else caller.target_precinct,
            phone=caller.phone,
            record=record,
            started=started_wall,
            wall_seconds=time.monotonic() - started,
            attempt=attempt,
        )


def cut_off(record: CallRecord) -> bool:
    """Whether the call ended before the receipt in Twilio's application-error hang-up, or
    with the hotline asking the caller to call back (its hold-and-retry rounds used up)."""
    if RECEIPT in record.spoken:
        return False
    return record.outcome == APPLICATION_ERROR or prompts.TROUBLE_CALL_BACK in record.spoken


def _thinking(answer: Answer, clock: Clock, rng: random.Random) -> Answer:
    def think_then_answer(prompt: GatherPrompt) -> Keys:
        clock.advance(rng.uniform(*HUMAN_REACTION_SECONDS))
        return answer(prompt)

    return think_then_answer


def _attestation(caller: Chair | Prank) -> dict[str, str] | None:
    return {"StirVerstat": caller.stir_verstat} if caller.stir_verstat else None
