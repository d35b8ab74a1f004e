"""The call log against real Redis and both databases: batches, pending events, order."""

from __future__ import annotations

from typing import Any

import pytest
from redis import Redis

from callflows.events import BlockCompleted, CallEnded, CallStarted
from ivr.hotline import Hotline
from models import Call, ReportDraft
from queues import call_log

A, B = "worker-a", "worker-b"


def started(sid: str, at: str = "2020-02-03T19:00:00+00:00") -> CallStarted:
    return CallStarted(call_sid=sid, from_number="+15155550123", caller_class="unknown",
                       screening="admitted", at=at)  # fmt: skip


def ended(sid: str, at: str = "2020-02-03T19:04:00+00:00") -> CallEnded:
    return CallEnded(call_sid=sid, status="completed", duration_seconds=240,
                     precinct_id="948199", at=at)  # fmt: skip


def block(sid: str, name: str, figures: list[int], at: str) -> BlockCompleted:
    return BlockCompleted(call_sid=sid, precinct_id="948199", caller="+15155550123", block=name,
                          figures=figures, total=sum(figures), flagged="", at=at)  # fmt: skip


def calls(hotline: Hotline) -> dict[str, Call]:
    with hotline.sessions() as session:
        return {call.call_sid: call for call in session.query(Call).all()}


def test_a_batch_writes_each_call_once_whatever_the_order_of_its_events(
    hotline: Hotline, redis: Redis
) -> None:
    call_log.add(redis, ended("CA1"))  # the end may be read first
    call_log.add(redis, started("CA1"))
    call_log.add(redis, started("CA2"))
    call_log.add(redis, started("CA2"))  # a repeat changes nothing
    assert call_log.backlog(redis) == (4, 0)

    assert call_log.drain(redis, hotline.sessions, A) == 4

    written = calls(hotline)
    assert sorted(written) == ["CA1", "CA2"]
    assert written["CA1"].status == "completed" and written["CA1"].duration_seconds == 240
    assert written["CA1"].from_number == "+15155550123"
    assert written["CA1"].precinct_id == "948199"
    assert written["CA2"].screening == "admitted" and written["CA2"].ended_at is None
    assert call_log.backlog(redis) == (0, 0)
    assert redis.xlen(call_log.STREAM) == 0  # committed entries do not pile up


def test_events_a_dead_worker_read_are_claimed_and_written_by_another(
    hotline: Hotline, redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    call_log.add(redis, started("CA1"))
    call_log.ensure_group(redis)
    batch = call_log.read_new(redis, A, block_ms=None)  # worker A reads, then dies
    assert [entry.event.call_sid for entry in batch.entries] == ["CA1"]
    assert call_log.backlog(redis) == (0, 1)
    assert call_log.drain(redis, hotline.sessions, B) == 0  # not stale yet: left to A

    monkeypatch.setattr(call_log, "CLAIM_IDLE_MS", 0)
    assert call_log.drain(redis, hotline.sessions, B) == 1
    assert list(calls(hotline)) == ["CA1"]
    assert call_log.backlog(redis) == (0, 0)


def test_a_failed_batch_stays_pending_and_is_written_when_read_again(
    hotline: Hotline, redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    call_log.add(redis, started("CA1"))
    call_log.ensure_group(redis)

    def database_down(*_: Any) -> None:
        raise ConnectionError("database unavailable")

    with monkeypatch.context() as patch:
        patch.setattr(call_log, "write_batch", database_down)
        with pytest.raises(ConnectionError):
            call_log.drain_once(redis, hotline.sessions, A)
    assert call_log.backlog(redis) == (0, 1)

    assert call_log.drain_once(redis, hotline.sessions, A) == 1  # its own pending, first
    assert list(calls(hotline)) == ["CA1"]


def test_an_older_block_event_never_overwrites_a_newer_one(
    hotline: Hotline, redis: Redis, adair: dict[str, str]
) -> None:
    # The chair re-keyed "first" after a failed check; a second worker committed that first.
    call_log.add(redis, block("CA1", "first", [5, 6], "2020-02-03T19:02:00+00:00"))
    call_log.add(redis, block("CA1", "final", [5, 6], "2020-02-03T19:03:00+00:00"))
    call_log.add(redis, block("CA1", "first", [4, 6], "2020-02-03T19:01:00+00:00"))
    # An earlier call's block, read last, does not start the report over either.
    call_log.add(redis, block("CA0", "first", [1, 1], "2020-02-03T18:50:00+00:00"))
    call_log.drain(redis, hotline.sessions, A)

    with hotline.sessions() as session:
        (draft,) = session.query(ReportDraft).all()
    assert draft.call_sid == "CA1"
    assert draft.blocks["first"]["figures"] == [5, 6]
    assert sorted(draft.blocks) == ["final", "first"]


def test_an_entry_that_is_not_a_call_event_is_dropped_and_the_rest_written(
    hotline: Hotline, redis: Redis
) -> None:
    redis.xadd(call_log.STREAM, {"kind": "started", "payload": "not json"})
    redis.xadd(call_log.STREAM, {"kind": "exploded", "payload": '{"call_sid": "CA9"}'})
    redis.xadd(call_log.STREAM, {"kind": "block", "payload": '{"call_sid": "CA8", "at": "x"}'})
    call_log.add(redis, started("CA1"))
    assert call_log.drain(redis, hotline.sessions, A) == 4
    assert list(calls(hotline)) == ["CA1"]
    assert call_log.backlog(redis) == (0, 0)
