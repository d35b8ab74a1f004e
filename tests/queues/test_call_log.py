"""The call log against real Redis and both databases: batches, pending events, order, and
the entries the database refuses (dead letters)."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import pytest
from redis import Redis
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from callflows.events import BlockCompleted, CallEnded, CallStarted
from ivr.hotline import Hotline
from models import Call, ReportDraft
from queues import call_log, counters
from queues.jobs import record_blocks

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


# --- one bad entry never wedges the log ------------------------------------------------

LONG_FROM = "sip:" + "x" * 180 + "@spoofer.example.org"
"""A SIP `From` of 200 characters: longer than the `call` table's column (64)."""


def dead(redis: Redis) -> list[call_log.DeadLetter]:
    return list(reversed(call_log.dead_letters(redis)))  # oldest first, as they were added


def test_a_from_too_long_for_its_column_is_cut_and_marked_and_the_batch_written(
    hotline: Hotline, redis: Redis
) -> None:
    call_log.add(redis, started("CA1"))
    call_log.add(redis, replace(started("CA2"), from_number=LONG_FROM, to_number=LONG_FROM))
    call_log.add(redis, replace(started("CA3"), from_number="+1515\x00555"))
    assert call_log.drain(redis, hotline.sessions, A) == 3

    written = calls(hotline)
    assert sorted(written) == ["CA1", "CA2", "CA3"]
    assert written["CA2"].from_number == LONG_FROM[:63] + "…"
    assert len(written["CA2"].to_number) == 64
    assert written["CA3"].from_number == "+1515555"  # PostgreSQL refuses NUL in text
    assert dead(redis) == []


def test_a_duration_or_precinct_that_cannot_be_one_is_left_unset(
    hotline: Hotline, redis: Redis
) -> None:
    call_log.add(redis, replace(ended("CA1"), duration_seconds=2**40, precinct_id="94819912"))
    call_log.add(redis, replace(ended("CA2"), duration_seconds=-5))
    call_log.add(redis, replace(ended("CA3"), duration_seconds=2**70, status="x" * 40))
    assert call_log.drain(redis, hotline.sessions, A) == 3

    written = calls(hotline)
    assert [written[sid].duration_seconds for sid in ("CA1", "CA2", "CA3")] == [None] * 3
    assert written["CA1"].precinct_id is None  # cut short it could name another precinct
    assert written["CA3"].status == "x" * 31 + "…"
    assert dead(redis) == []


def test_an_entry_the_database_refuses_is_dead_lettered_and_the_log_goes_on(
    hotline: Hotline, redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without the guard on values (as before it), PostgreSQL refuses a From longer than its
    # column, which used to fail every batch after it for good.
    monkeypatch.setattr(call_log, "_fit", lambda value, column: value)
    call_log.add(redis, started("CA1"))
    call_log.add(redis, replace(started("CA2"), from_number=LONG_FROM))
    call_log.add(redis, ended("CA3"))
    assert call_log.drain(redis, hotline.sessions, A) == 3
    call_log.add(redis, started("CA4"))  # the next batch is not wedged
    assert call_log.drain(redis, hotline.sessions, A) == 1

    written = calls(hotline)
    assert call_log.backlog(redis) == (0, 0) and redis.xlen(call_log.STREAM) == 0
    if hotline.engine.dialect.name == "postgresql":
        assert sorted(written) == ["CA1", "CA3", "CA4"]
        (letter,) = dead(redis)
        assert (letter.kind, letter.error) == ("started", "StringDataRightTruncation")
        assert "value too long" in letter.message and "\n" not in letter.message
        assert letter.fields["call_sid"] == "CA2" and letter.fields["from_number"] == LONG_FROM
        assert letter.at is not None
        assert counters.totals(redis)["call_log_dead_letters"] == 1
    else:  # SQLite takes any length
        assert sorted(written) == ["CA1", "CA2", "CA3", "CA4"]
        assert dead(redis) == []


def test_a_batch_that_fails_is_split_until_the_one_bad_entry_is_found(
    hotline: Hotline, redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    apply, write = call_log._apply_to_call, call_log.write_batch
    attempts: list[list[str]] = []
    commits: list[list[str]] = []

    def refuse_ca5(call: Call, event: CallStarted | CallEnded) -> None:
        if event.call_sid == "CA5":
            raise ValueError("no such thing as CA5\nsecond line")
        apply(call, event)

    def counted(sessions: Any, events: list[call_log.LoggedEvent]) -> None:
        attempts.append([event.call_sid for event in events])
        write(sessions, events)
        commits.append(attempts[-1])

    monkeypatch.setattr(call_log, "_apply_to_call", refuse_ca5)
    monkeypatch.setattr(call_log, "write_batch", counted)
    for n in range(1, 9):
        call_log.add(redis, started(f"CA{n}"))
    assert call_log.drain(redis, hotline.sessions, A) == 8

    assert sorted(calls(hotline)) == ["CA1", "CA2", "CA3", "CA4", "CA6", "CA7", "CA8"]
    # Halves in stream order: the 8 fail; 1-4 commit; 5-8 fail; 5-6 fail; 5 fails alone;
    # 6 commits; 7-8 commit. Three commits, seven tries: 1 + 2 log2(8).
    assert len(attempts) == 7
    assert commits == [["CA1", "CA2", "CA3", "CA4"], ["CA6"], ["CA7", "CA8"]]
    (letter,) = dead(redis)
    assert (letter.kind, letter.error, letter.message) == (
        "started",
        "ValueError",
        "no such thing as CA5",
    )
    assert letter.fields["call_sid"] == "CA5"
    assert call_log.backlog(redis) == (0, 0) and redis.xlen(call_log.STREAM) == 0


@pytest.mark.parametrize("error", [IntegrityError("INSERT", {}, Exception("dup")),
                                   StaleDataError("row changed")])  # fmt: skip
def test_a_concurrent_write_still_leaves_the_batch_to_be_read_again(
    hotline: Hotline, redis: Redis, monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    call_log.add(redis, started("CA1"))
    call_log.add(redis, started("CA2"))
    call_log.ensure_group(redis)

    def conflict(*_: Any) -> None:
        raise error

    with monkeypatch.context() as patch:
        patch.setattr(call_log, "write_batch", conflict)
        with pytest.raises(type(error)):
            call_log.drain_once(redis, hotline.sessions, A)
    assert call_log.backlog(redis) == (0, 2)
    assert dead(redis) == []

    assert call_log.drain_once(redis, hotline.sessions, A) == 2
    assert sorted(calls(hotline)) == ["CA1", "CA2"]


def test_an_outage_is_no_entrys_fault_and_dead_letters_nothing(
    hotline: Hotline, redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    call_log.add(redis, started("CA1"))
    call_log.add(redis, started("CA2"))
    call_log.ensure_group(redis)

    def database_gone(call: Call, event: CallStarted | CallEnded) -> None:
        raise OperationalError("UPDATE", {}, Exception("server closed the connection"))

    with monkeypatch.context() as patch:
        patch.setattr(call_log, "_apply_to_call", database_gone)
        with pytest.raises(OperationalError):
            call_log.drain_once(redis, hotline.sessions, A)
    assert call_log.backlog(redis) == (0, 2) and dead(redis) == []
    assert call_log.drain_once(redis, hotline.sessions, A) == 2


class UniqueViolation(Exception):
    """Stands in for the driver's error inside SQLAlchemy's IntegrityError."""


def test_a_conflict_that_comes_back_every_time_is_isolated_by_the_writer(
    hotline: Hotline, redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    write = call_log.write_batch

    def ca2_always_conflicts(sessions: Any, events: list[call_log.LoggedEvent]) -> None:
        if any(event.call_sid == "CA2" for event in events):
            raise IntegrityError("INSERT", {}, UniqueViolation("duplicate key"))
        write(sessions, events)

    monkeypatch.setattr(call_log, "write_batch", ca2_always_conflicts)
    monkeypatch.setattr(call_log, "BATCH_INTERVAL_SECONDS", 0.05)
    for sid in ("CA1", "CA2", "CA3"):
        call_log.add(redis, started(sid))
    writer = call_log.CallLogWriter(redis, hotline.sessions)
    writer.start()
    try:
        deadline = time.monotonic() + 10
        while not dead(redis) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        writer.stop()
        writer.join(timeout=5)
    (letter,) = dead(redis)
    assert (letter.fields["call_sid"], letter.error) == ("CA2", "UniqueViolation")
    assert letter.message == "duplicate key"
    assert sorted(calls(hotline)) == ["CA1", "CA3"]
    assert call_log.backlog(redis) == (0, 0)


def test_events_whose_keys_cannot_be_stored_are_dead_lettered_on_either_database(
    hotline: Hotline, redis: Redis, adair: dict[str, str]
) -> None:
    call_log.add(redis, started("CA" + "9" * 100))  # a call SID is a key: never cut
    long_caller = replace(block("CA1", "first", [5, 6], "2020-02-03T19:01:00+00:00"),
                          caller="+1" + "5" * 80)  # fmt: skip
    call_log.add(redis, long_caller)
    call_log.add(redis, block("CA1", "final", [5, 6], "2020-02-03T19:02:00+00:00"))
    call_log.add(redis, started("CA1"))
    assert call_log.drain(redis, hotline.sessions, A) == 4

    assert list(calls(hotline)) == ["CA1"]
    with hotline.sessions() as session:
        (draft,) = session.query(ReportDraft).all()
    assert sorted(draft.blocks) == ["final"]
    letters = dead(redis)
    assert [(letter.kind, letter.error) for letter in letters] == [
        ("started", "UnstorableEvent"),
        ("block", "UnstorableEvent"),
    ]
    assert letters[0].message == "call_sid longer than 64 characters"
    assert letters[1].message == "caller longer than 64 characters"


def test_record_blocks_itself_leaves_out_a_block_that_does_not_fit(
    hotline: Hotline, adair: dict[str, str]
) -> None:
    bad = replace(block("CA1", "first", [5, 6], "2020-02-03T19:01:00+00:00"), caller="+1\x00")
    good = block("CA2", "first", [5, 6], "2020-02-03T19:01:00+00:00")
    with hotline.sessions.begin() as session:
        record_blocks(session, [bad, good])
    with hotline.sessions() as session:
        (draft,) = session.query(ReportDraft).all()
    assert draft.call_sid == "CA2"


def test_entries_that_are_no_call_event_are_dead_lettered_and_never_stop_the_reader(
    hotline: Hotline, redis: Redis
) -> None:
    redis.xadd(call_log.STREAM, {"kind": b"\xff\xfe", "payload": b"\xff"})  # not UTF-8
    redis.xadd(call_log.STREAM, {"kind": "started", "payload": "[" * 100_000})  # too deep
    redis.xadd(call_log.STREAM, {"kind": "ended", "payload": "x" * 10_000})
    call_log.add(redis, started("CA1"))
    assert call_log.drain(redis, hotline.sessions, A) == 4

    assert list(calls(hotline)) == ["CA1"]
    letters = dead(redis)
    assert [letter.error for letter in letters] == ["MalformedEvent"] * 3
    assert [letter.kind for letter in letters] == ["\ufffd\ufffd", "started", "ended"]
    assert len(letters[2].payload) == call_log.DEAD_LETTER_PAYLOAD_CHARS
    assert letters[2].fields == {}


def test_the_dead_letters_are_bounded_to_the_most_recent(
    hotline: Hotline, redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(call_log, "DEAD_LETTERS_KEPT", 3)
    for n in range(5):
        redis.xadd(call_log.STREAM, {"kind": "exploded", "payload": str(n)})
    assert call_log.drain(redis, hotline.sessions, A) == 5
    assert call_log.dead_letter_count(redis) == 3
    assert [letter.payload for letter in call_log.dead_letters(redis)] == ["4", "3", "2"]
    assert [letter.payload for letter in call_log.dead_letters(redis, limit=1)] == ["4"]
    assert counters.totals(redis)["call_log_dead_letters"] == 5  # the running total stays
