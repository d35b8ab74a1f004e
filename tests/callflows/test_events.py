"""The events a call records: what goes out encoded comes back decoded, and nothing else."""

from __future__ import annotations

from typing import Any

import pytest

from callflows.events import (
    BlockCompleted,
    CallEnded,
    CallStarted,
    MalformedEvent,
    ReportSubmitted,
    decode,
    decode_as,
    encode,
)

AT = "2020-02-03T19:00:00+00:00"
REPORT = ReportSubmitted(
    report_id="r1", receipt="482917", call_sid="CA1", caller="+15155550123",
    precinct_id="948199", ballot="iowa2020", groups=["Biden", "Sanders"],
    figures={"first": [3, 4], "final": [3, 4], "delegates": [1, 1]},
    totals={"first": 7}, flagged={"final": "total_mismatch"}, received_at=AT, chance=[],
)  # fmt: skip
EVENTS = [
    REPORT,
    BlockCompleted(
        precinct_id="948199",
        call_sid="CA1",
        caller="+15155550123",
        block="first",
        figures=[3, 4],
        total=None,
        flagged="",
        at=AT,
    ),
    CallStarted(call_sid="CA1", at=AT, from_number="anonymous", screening="held"),
    CallEnded(call_sid="CA1", at=AT, duration_seconds=240, precinct_id=None),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda event: event.kind)
def test_every_event_decodes_to_itself(event: Any) -> None:
    assert decode(event.kind, encode(event)) == event


def test_optional_fields_may_be_left_out() -> None:
    assert decode("ended", {"call_sid": "CA1", "at": AT}) == CallEnded(call_sid="CA1", at=AT)


@pytest.mark.parametrize(
    "change",
    [
        {"receipt": None},
        {"figures": {"first": ["3"]}},
        {"figures": {"first": [True]}},  # a bool is no figure
        {"totals": {"first": 7.5}},
        {"chance": "Biden"},
        {"received_at": "yesterday"},
    ],
)
def test_a_mistyped_field_is_refused(change: dict[str, Any]) -> None:
    with pytest.raises(MalformedEvent):
        decode_as(ReportSubmitted, {**encode(REPORT), **change})


def test_a_missing_field_or_an_unknown_kind_is_refused() -> None:
    payload = encode(REPORT)
    del payload["precinct_id"]
    with pytest.raises(MalformedEvent, match="precinct_id is missing"):
        decode("report", payload)
    with pytest.raises(MalformedEvent):
        decode("exploded", {"call_sid": "CA1", "at": AT})
    with pytest.raises(MalformedEvent):
        decode("started", ["CA1", AT])
