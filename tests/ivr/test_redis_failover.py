"""Redis with Sentinel: chairs' calls go on through a failover, and a receipt is said only
once a replica has the report (REDIS_MIN_REPLICAS_ACK)."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from redis import Redis

from callflows import prompts
from flood.redis_topology import SentinelTopology
from flood.worksheets import load_worksheets
from ivr import create_app
from ivr.callstore import ReplicasBehind, Writes
from ivr.hotline import Hotline, worker_redis
from ivr.settings import Settings, SettingsError
from models import Report
from queues import call_log
from queues.worker import run_worker
from softphone import COMPLETED, Answer, CallRecord, Clock, GatherPrompt, Keys
from tests.conftest import make_settings
from tests.support.calls import chair, place_call
from tests.support.data import import_precincts, precinct_rows

RECEIPT = "Your receipt number is"
PRECINCTS = ("948199", "948200")
"""Adair precincts whose 2020 worksheets pass the delegate math as keyed (the chairs here
answer no question about it)."""


@dataclass
class HoldClock(Clock):
    """Speech and keys take no time, so a call runs at the speed of its webhooks; a pause
    (the hold-and-retry's) lasts its real length, as for a caller on hold, and first runs
    `on_hold` (a test's chance to change the world while the caller holds)."""

    words_per_second: float = 1e9
    seconds_per_key: float = 0.0
    on_hold: Callable[[], None] | None = None

    def advance(self, seconds: float) -> None:
        self.now += seconds
        if seconds >= 1:
            if self.on_hold is not None:
                self.on_hold()
            time.sleep(seconds)


@pytest.fixture
def topology(tmp_path: Path) -> Iterator[SentinelTopology]:
    redis = SentinelTopology(tmp_path / "redis")
    try:
        redis.start()
        yield redis
    finally:
        redis.stop()


@pytest.fixture
def sentinel_app(
    topology: SentinelTopology, sqlite_template: Path, tmp_path: Path
) -> Iterator[Flask]:
    database = tmp_path / "hotline.db"
    shutil.copy(sqlite_template, database)
    settings = replace(
        make_settings(f"sqlite:///{database}", topology.primary.url, tmp_path),
        redis_sentinels=topology.sentinels,
        redis_min_replicas_ack=1,
        redis_wait_timeout_ms=500,
    )
    app = create_app(settings)
    yield app
    hotline: Hotline = app.extensions["hotline"]
    hotline.engine.dispose()
    hotline.redis.close()


def _drain(hotline: Hotline) -> None:
    """Commit what the calls queued, as a worker started with the same settings does."""
    connection = worker_redis(hotline.settings)
    try:
        run_worker(connection, hotline.sessions, burst=True)
    finally:
        connection.close()


def _reports_by_caller(hotline: Hotline) -> dict[str, list[Report]]:
    found: dict[str, list[Report]] = {}
    with hotline.sessions() as session:
        for report in session.query(Report).all():
            found.setdefault(report.caller, []).append(report)
    return found


def _heard_receipt(record: CallRecord) -> str:
    """The receipt the chair heard, digits only ("" if none)."""
    for text in record.heard:
        if text.startswith(RECEIPT):
            return "".join(ch for ch in text if ch.isdigit())
    return ""


def test_calls_go_on_through_a_failover_and_every_receipt_is_committed_once(
    topology: SentinelTopology, sentinel_app: Flask, tmp_path: Path
) -> None:
    hotline: Hotline = sentinel_app.extensions["hotline"]
    rows = [row for row in precinct_rows(("Adair",)) if row["precinct_id"] in PRECINCTS]
    phones = {row["precinct_id"]: f"+1515555{7000 + n:04d}" for n, row in enumerate(rows)}
    pins = import_precincts(sentinel_app.test_cli_runner(), tmp_path, chair_phones=phones)
    sheets = load_worksheets()
    midway = threading.Event()
    records: dict[str, CallRecord] = {}

    def pacing(answer: Answer, kill_at: int | None) -> Answer:
        prompts_seen = 0

        def paced(prompt: GatherPrompt) -> Keys:
            nonlocal prompts_seen
            prompts_seen += 1
            if prompts_seen == kill_at:
                midway.set()
            time.sleep(0.05)  # a chair's keying spread over the failover
            return answer(prompt)

        return paced

    def call(n: int, row: dict[str, str]) -> None:
        precinct_id = row["precinct_id"]
        sheet = sheets[(row["county"], row["precinct"])]
        answer = pacing(
            chair(precinct_id, pins[precinct_id], sheet, hotline.ballot), 6 if n == 0 else None
        )
        records[precinct_id] = place_call(
            sentinel_app.test_client(),
            answer,
            from_number=phones[precinct_id],
            clock=HoldClock(),
        )

    threads = [
        threading.Thread(target=call, args=(n, row), daemon=True) for n, row in enumerate(rows)
    ]
    for thread in threads:
        thread.start()
    assert midway.wait(timeout=30)
    old_primary = topology.primary.port
    topology.kill(topology.primary)
    new_primary = topology.wait_for_failover(old_primary)
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)

    assert len(records) == len(PRECINCTS)
    assert any(prompts.HOLD_ON in record.heard for record in records.values())
    _drain(hotline)
    reports = _reports_by_caller(hotline)
    for precinct_id, record in records.items():
        assert record.outcome == COMPLETED
        receipt = _heard_receipt(record)
        assert receipt, record.spoken
        (report,) = reports[phones[precinct_id]]
        assert report.status == "committed"
        assert report.receipt == receipt
    # The call log's consumer group came over with the stream: the writer reads on.
    promoted = Redis(port=new_primary)
    try:
        groups = promoted.xinfo_groups(call_log.STREAM)
        assert [group["name"] for group in groups] == [call_log.GROUP.encode()]
        assert groups[0]["pending"] == 0
    finally:
        promoted.close()


def test_with_no_replica_the_chair_holds_until_one_acknowledges_the_report(
    topology: SentinelTopology, sentinel_app: Flask, tmp_path: Path
) -> None:
    hotline: Hotline = sentinel_app.extensions["hotline"]
    row = next(row for row in precinct_rows(("Adair",)) if row["precinct_id"])
    precinct_id, phone = row["precinct_id"], "+15155557100"
    pins = import_precincts(
        sentinel_app.test_cli_runner(), tmp_path, chair_phones={precinct_id: phone}
    )
    sheet = load_worksheets()[(row["county"], row["precinct"])]
    for replica in topology.replicas:
        replica.stop()
    holds = 0

    def replica_back() -> None:
        # The chair holds after confirming: bring a replica back while they wait.
        nonlocal holds
        holds += 1
        if holds == 2:
            topology.replicas[0].start()
            topology.wait_until_replicated(1)
            # And the primary forgets its scripts, as a promoted replica has none: the
            # retried step's EVALSHA meets NOSCRIPT and must send the script again.
            primary = Redis(port=topology.primary.port)
            primary.script_flush()
            primary.close()

    record = place_call(
        sentinel_app.test_client(),
        chair(precinct_id, pins[precinct_id], sheet, hotline.ballot),
        from_number=phone,
        clock=HoldClock(on_hold=replica_back),
    )

    assert record.outcome == COMPLETED
    assert holds == 2
    receipt = _heard_receipt(record)
    assert receipt
    first_hold = record.heard.index(prompts.HOLD_ON)
    said = next(n for n, text in enumerate(record.heard) if text.startswith(RECEIPT))
    # Held twice with no replica (no receipt said), then the receipt once one acknowledged.
    assert record.heard[first_hold : first_hold + 2] == [prompts.HOLD_ON, prompts.HOLD_ON]
    assert RECEIPT not in " ".join(record.heard[:first_hold])
    assert said > first_hold
    _drain(hotline)
    (report,) = _reports_by_caller(hotline)[phone]
    assert report.status == "committed"
    assert report.receipt == receipt


def test_sentinel_and_replica_settings_are_read_from_the_environment() -> None:
    env = {
        "HOTLINE_PROFILE": "test",
        "REDIS_SENTINELS": "10.0.0.5:26379, 10.0.0.6:26380,[::1]:26381",
        "REDIS_SENTINEL_MASTER": "caucus",
        "REDIS_MIN_REPLICAS_ACK": "1",
        "REDIS_WAIT_TIMEOUT_MS": "800",
    }
    settings = Settings.from_env(env)
    assert settings.redis_sentinels == (
        ("10.0.0.5", 26379),
        ("10.0.0.6", 26380),
        ("::1", 26381),
    )
    assert settings.redis_sentinel_master == "caucus"
    assert (settings.redis_min_replicas_ack, settings.redis_wait_timeout_ms) == (1, 800)
    plain = Settings.from_env({"HOTLINE_PROFILE": "test", "REDIS_MIN_REPLICAS_ACK": "0"})
    assert plain.redis_sentinels == ()
    assert (plain.redis_min_replicas_ack, plain.redis_wait_timeout_ms) == (0, 1500)
    for name, value in [
        ("REDIS_SENTINELS", "10.0.0.5"),
        ("REDIS_SENTINELS", "10.0.0.5:0"),
        ("REDIS_MIN_REPLICAS_ACK", "-1"),
        ("REDIS_WAIT_TIMEOUT_MS", "60000"),
    ]:
        with pytest.raises(SettingsError, match=name):
            Settings.from_env({"HOTLINE_PROFILE": "test", name: value})


@pytest.mark.parametrize("with_own_script", [False, True])
def test_too_few_acknowledgements_raise_after_the_writes_on_one_connection(
    redis: Redis, with_own_script: bool
) -> None:
    """A Redis without replicas: the writes land (one script, or MULTI/EXEC when a script
    of their own is queued), the WAIT on their connection finds none, and the connection
    pinned for both goes back to the pool once."""
    redis.set("lock", "mine")
    writes = Writes.on(redis)
    writes.pipe.set("state", "confirmed")
    if with_own_script:
        writes.pipe.eval("return redis.call('SET', KEYS[1], 'too')", 1, "refund")
    writes.pipe.release_lock("lock", "mine")
    writes.pipe.wait_for_replicas(1, 50)
    with pytest.raises(ReplicasBehind, match="0 of 1 replicas"):
        writes.send()
    assert redis.get("state") == b"confirmed" and redis.get("lock") is None
    assert (redis.get("refund") == b"too") is with_own_script
    pool: Any = redis.connection_pool
    assert pool._in_use_connections == set()
    assert len(pool._available_connections) == len(set(pool._available_connections))
    # The wait applies to one transaction only: the next goes out without it.
    writes = Writes.on(redis)
    writes.pipe.set("state", "next")
    writes.send()
    assert redis.get("state") == b"next"
