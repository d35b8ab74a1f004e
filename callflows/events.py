"""The events a call records: what the flow (or the webhook around it) emits, and the
decoder the worker reads them back with.

Eight kinds, each a frozen dataclass that travels as JSON: a report submitted (an rq job
that must commit exactly once), a held report verified by a callback (an rq job too), a
callback asked for by a chair's blocked phone (an rq job too), a block completed (kept so
a dropped call can resume), a practice report on the drill line (an rq job of its own), a
call started, a call ended and a caller asking for staff (the call log). `encode` and
`decode` are the only way in and out, so the web tier and the worker cannot disagree on a
field: `decode` checks each field's type and raises `MalformedEvent` for anything else.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, fields
from datetime import datetime
from typing import Any, ClassVar, TypeVar, get_type_hints


class MalformedEvent(ValueError):
    """A payload that is not an event of the kind it claims (a field missing or mistyped)."""


@dataclass(frozen=True)
class ReportSubmitted:
    """A chair confirmed a report: the queue must commit it exactly once."""

    kind: ClassVar[str] = "report"

    report_id: str
    receipt: str
    call_sid: str
    caller: str
    precinct_id: str
    ballot: str
    groups: list[str]
    figures: dict[str, list[int]]
    totals: dict[str, int]
    flagged: dict[str, str]
    received_at: str
    chance: list[str]
    """The groups the chair said won the game of chance, if one decided the delegates."""
    stir_verstat: str = ""
    """The carrier's attestation of the caller ID on the call (callflows.trust)."""
    reached_by_hotline: bool = False
    """The hotline placed the call to the chair's registered phone (callflows.trust)."""
    rehearsal: bool = False
    """Confirmed while the hotline was not live (the web tier stamps it as it queues the
    report): such a report is a rehearsal's, and never counts once the hotline is live."""
    source: str = "phone"
    """"phone" for a chair's call; "operator" for a worksheet two operators keyed (issue
    18), whose `caller` is the number that sent its photo ("" for a paper one)."""


@dataclass(frozen=True)
class ReportVerified:
    """On a callback to the chair's registered phone, the chair said whether they made a
    held report: the worker commits it (`confirmed`) or quarantines it and alerts staff."""

    kind: ClassVar[str] = "verified"
    report_id: str
    call_sid: str
    confirmed: bool
    at: str


@dataclass(frozen=True)
class BlockCompleted:
    """A block's figures are in: kept in the database so a dropped call can resume."""

    kind: ClassVar[str] = "block"

    precinct_id: str
    call_sid: str
    caller: str
    block: str
    figures: list[int]
    total: int | None
    flagged: str
    at: str


@dataclass(frozen=True)
class CallStarted:
    """A new call was screened (and let in, or held)."""

    kind: ClassVar[str] = "started"

    call_sid: str
    at: str
    from_number: str = ""
    to_number: str = ""
    stir_verstat: str = ""
    caller_class: str = ""
    screening: str = ""


@dataclass(frozen=True)
class CallEnded:
    """Twilio's status callback: the call is over."""

    kind: ClassVar[str] = "ended"

    call_sid: str
    at: str
    status: str = "completed"
    duration_seconds: int | None = None
    precinct_id: str | None = None
    language: str = ""
    """The language the call was in at its end ("" when it never reached the flow)."""


@dataclass(frozen=True)
class StaffRequested:
    """A caller pressed 0 at a menu to reach a member of staff (the call log keeps it on the
    call's row; staff see the count). `on_duty`: someone was on duty, so the call was put
    through; else the caller heard when to call back. `step` is the menu they were at."""

    kind: ClassVar[str] = "staff"

    call_sid: str
    precinct_id: str | None
    step: str
    at: str
    on_duty: bool = True


@dataclass(frozen=True)
class CallbackRequested:
    """The chair's registered phone was refused a PIN on a call the carrier did not attest
    (its wrong PINs used up, by spoofers of the number perhaps): the worker has the hotline
    call that phone back, where nobody but the chair can answer (queues.outbound)."""

    kind: ClassVar[str] = "callback"

    call_sid: str
    precinct_id: str
    chair_phone: str
    at: str


@dataclass(frozen=True)
class DrillSubmitted:
    """A chair finished a practice report on the drill line (callflows.drill): kept per
    precinct by its own job, in its own table, never as a report."""

    kind: ClassVar[str] = "drill"

    call_sid: str
    precinct_id: str
    caller: str
    figures: dict[str, list[int]]
    chance: list[str]
    """The groups the chair said won the practice game of chance."""
    matched: bool
    mismatched: list[str]
    """The figures that differ from the worksheet, "block:Group" (callflows.drill)."""
    started_at: str
    at: str
    stir_verstat: str = ""


Event = (
    ReportSubmitted
    | ReportVerified
    | BlockCompleted
    | CallStarted
    | CallEnded
    | StaffRequested
    | DrillSubmitted
    | CallbackRequested
)
"""Every event a call records."""
FlowEvent = (
    ReportSubmitted
    | ReportVerified
    | BlockCompleted
    | StaffRequested
    | DrillSubmitted
    | CallbackRequested
)
"""The events the pure call flow emits (the webhook adds the call's start and end)."""

E = TypeVar(
    "E",
    ReportSubmitted,
    ReportVerified,
    BlockCompleted,
    CallStarted,
    CallEnded,
    StaffRequested,
    DrillSubmitted,
    CallbackRequested,
)


def encode(event: Event) -> dict[str, Any]:
    """The event's fields as JSON-ready data (its kind is `event.kind`)."""
    # A shallow copy: every field is already JSON, and asdict's deep copy costs a webhook
    # some 30 microseconds per event.
    return dict(vars(event))


def decode(kind: str, payload: Any) -> Event:
    """The event of `kind` that `payload` holds; MalformedEvent if it holds none."""
    if kind == ReportSubmitted.kind:
        return decode_as(ReportSubmitted, payload)
    if kind == ReportVerified.kind:
        return decode_as(ReportVerified, payload)
    if kind == BlockCompleted.kind:
        return decode_as(BlockCompleted, payload)
    if kind == CallStarted.kind:
        return decode_as(CallStarted, payload)
    if kind == CallEnded.kind:
        return decode_as(CallEnded, payload)
    if kind == StaffRequested.kind:
        return decode_as(StaffRequested, payload)
    if kind == DrillSubmitted.kind:
        return decode_as(DrillSubmitted, payload)
    if kind == CallbackRequested.kind:
        return decode_as(CallbackRequested, payload)
    raise MalformedEvent(f"no event kind {kind!r}")


def decode_as(cls: type[E], payload: Any) -> E:
    """`payload` as an event of class `cls`, every field's type checked."""
    if not isinstance(payload, dict):
        raise MalformedEvent(f"{cls.kind}: not an object")
    hints = get_type_hints(cls)
    values: dict[str, Any] = {}
    for spec in fields(cls):
        if spec.name not in payload:
            if spec.default is not MISSING:  # a field with a default may be left out
                continue
            raise MalformedEvent(f"{cls.kind}: {spec.name} is missing")
        value = payload[spec.name]
        if not _is(value, hints[spec.name]):
            raise MalformedEvent(f"{cls.kind}: {spec.name} is not {hints[spec.name]}")
        values[spec.name] = value
    event = cls(**values)
    for name in ("at", "received_at", "started_at"):
        if hasattr(event, name):
            _check_time(cls.kind, name, getattr(event, name))
    return event


def _check_time(kind: str, name: str, value: str) -> None:
    try:
        datetime.fromisoformat(value)
    except ValueError as error:
        raise MalformedEvent(f"{kind}: {name} is not an ISO 8601 time") from error


def _is(value: Any, hint: Any) -> bool:
    """Whether a JSON value fits one of the simple types events use."""
    text = str(hint)
    if hint is str:
        return isinstance(value, str)
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if text in ("int | None", "typing.Optional[int]"):
        return value is None or _is(value, int)
    if text in ("str | None", "typing.Optional[str]"):
        return value is None or isinstance(value, str)
    if text == "list[str]":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if text == "list[int]":
        return isinstance(value, list) and all(_is(v, int) for v in value)
    if text == "dict[str, int]":
        return isinstance(value, dict) and all(_is(v, int) for v in value.values())
    if text == "dict[str, str]":
        return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
    if text == "dict[str, list[int]]":
        return isinstance(value, dict) and all(_is(v, list[int]) for v in value.values())
    raise TypeError(f"no check for {text}")
