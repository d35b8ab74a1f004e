"""The red team's outage test: the database is stopped for 30 seconds while chairs call in.

A PostgreSQL server of the test's own (`tests.support.services.private_postgres`), a live
`hotline serve` and `hotline worker` against it and the test Redis, and 12 chairs placed
with the softphone over HTTP, each keying a real 2020 worksheet, their calls spread so that
the outage catches them at every stage (greeting, precinct, PIN, figures, confirmation,
the worker's commit). The README promises that the webhook path never needs the database
and that a database outage only makes the caller hold while the same step is retried; so:

* every chair's report is committed exactly once, with exactly the worksheet's figures;
* no chair was asked to call back, and none heard an application error.

Bounded: 12 calls, the outage ends after 30 s, and everything is over within 90 s (or the
test fails saying what was still missing).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from redis import Redis
from sqlalchemy import select

from callflows import prompts
from callflows.ballots import load_ballot
from callflows.state import BLOCKS
from flood.plan import chair_phone, consistent, replayable
from flood.worksheets import Worksheet, load_worksheets
from ivr import create_app
from ivr.hotline import Hotline
from ivr.operations import upgrade_database
from models import Precinct, Report
from softphone import (
    APPLICATION_ERROR_MESSAGE,
    COMPLETED,
    CallRecord,
    Clock,
    HttpTransport,
    Softphone,
)
from tests.conftest import AUTH_TOKEN, make_settings
from tests.support.calls import chair
from tests.support.data import import_precincts
from tests.support.live import live_stack
from tests.support.services import PostgresCluster, RedisServer, private_postgres

SEED = 2020
CHAIRS = 12
OUTAGE_STARTS_AT = 4.0
OUTAGE_SECONDS = 30.0
CHAIR_SPACING_SECONDS = 2.5
"""Chair i dials at i x 2.5 s: before the outage, all through it, and as it ends."""
TIME_SCALE = 0.08
"""Share of each call's virtual time (speech, keys, pauses) actually waited: a call lasts
10 to 15 s, so most calls overlap the outage."""
WEB_WORKERS = 3
"""One more gunicorn worker than the two calls placed before the outage can warm: a worker
that meets its first caller while the database is down must answer as well as the others
(gunicorn also restarts a worker after a crash or a timeout, with nothing cached)."""
TOTAL_SECONDS = 90.0
RECEIVED = prompts.receipt("000000")[0]
CALLED_BACK = (prompts.CALL_BACK_UNATTESTED, prompts.CALL_BACK_NO_CHAIR_PHONE)
ATTESTED = "TN-Validation-Passed-A"
"""Chairs' carriers vouch for their numbers: their reports need no call back to confirm."""


@dataclass
class ChairCall:
    sheet: Worksheet
    phone: str
    pin: str
    started: float = 0.0
    ended: float = 0.0
    record: CallRecord | None = None
    error: str = ""
    held_at: list[str] = field(default_factory=list)
    stored: str = ""
    """What is wrong with what the database holds for the precinct ("" if nothing)."""

    def problems(self) -> list[str]:
        if self.error:
            return [self.error, *([self.stored] if self.stored else [])]
        record = self.record
        if record is None:
            return ["the call never ended"]
        found = []
        if record.outcome != COMPLETED:
            found.append(f"outcome {record.outcome}")
        if record.application_errors or APPLICATION_ERROR_MESSAGE in record.spoken:
            found.append(f"heard an application error {record.error_codes}")
        if prompts.TROUBLE_CALL_BACK in record.spoken:
            found.append("was asked to call back")
        if RECEIVED not in record.spoken:
            found.append("never heard that the report was received")
        if any(text in record.spoken for text in CALLED_BACK):
            found.append("was told the hotline will call back to confirm")
        if self.stored:
            found.append(self.stored)
        return found

    def describe(self, zero: float) -> str:
        span = f"{self.started - zero:5.1f}-{self.ended - zero:5.1f} s"
        holds = f"; held at {', '.join(self.held_at)}" if self.held_at else ""
        return f"{self.sheet.precinct_id} ({span}): {'; '.join(self.problems()) or 'ok'}{holds}"


def held_steps(record: CallRecord) -> list[str]:
    """The step of each request the hotline answered by asking the caller to hold."""
    held: list[str] = []
    last_url = ""
    for event in record.transcript:
        if event[0] == "request":
            last_url = str(event[1])
        elif event[0] == "say" and event[1] == prompts.HOLD_ON:
            step = last_url.split("/voice", 1)[-1].split("?", 1)[0].lstrip("/")
            held.append(step or "greeting")
    return held


@pytest.fixture
def cluster() -> Iterator[PostgresCluster]:
    with private_postgres() as started:
        yield started


def test_chairs_report_exactly_once_while_the_database_is_stopped_for_30_seconds(
    cluster: PostgresCluster, redis: Redis, redis_server: RedisServer, tmp_path: Path
) -> None:
    ballot = load_ballot("iowa2020-other")
    candidates = [
        s for s in load_worksheets().values() if replayable(s, ballot) and consistent(s, ballot)
    ]
    sheets = random.Random(SEED).sample(candidates, CHAIRS)
    phones = {sheet.precinct_id: chair_phone(i) for i, sheet in enumerate(sheets)}
    database_url = cluster.create_database("hotline_outage")
    app = create_app(make_settings(database_url, redis_server.url, tmp_path))
    hotline: Hotline = app.extensions["hotline"]
    upgrade_database(hotline)
    counties = tuple(sorted({sheet.county for sheet in sheets}))
    pins = import_precincts(app.test_cli_runner(), tmp_path, counties, chair_phones=phones)
    calls = [ChairCall(s, phones[s.precinct_id], pins[s.precinct_id]) for s in sheets]
    outage: dict[str, float] = {}

    env = {"HOTLINE_BALLOT": ballot.name}
    logs = tmp_path / "logs"
    with live_stack(
        database_url,
        redis_server.url,
        rq_workers=1,
        web_workers=WEB_WORKERS,
        threads=4,
        env=env,
        logs=logs,
    ) as base_url:
        zero = time.monotonic()
        deadline = zero + TOTAL_SECONDS

        def stop_the_database() -> None:
            time.sleep(OUTAGE_STARTS_AT)
            pid = cluster.pid
            cluster.stop()
            outage["stopped"] = time.monotonic() - zero
            outage["pid"] = float(pid or 0)
            time.sleep(max(0.0, zero + OUTAGE_STARTS_AT + OUTAGE_SECONDS - time.monotonic()))
            cluster.start()
            outage["started"] = time.monotonic() - zero

        def place(index: int, call: ChairCall) -> None:
            time.sleep(index * CHAIR_SPACING_SECONDS)
            call.started = time.monotonic()
            sheet = call.sheet
            phone = Softphone(
                HttpTransport(),
                f"{base_url}/voice",
                AUTH_TOKEN,
                from_number=call.phone,
                status_callback_url=f"{base_url}/voice/status",
                fallback_url=f"{base_url}/voice/fallback",
                extra_params={"StirVerstat": ATTESTED},
                clock=Clock(time_scale=TIME_SCALE),
            )
            try:
                call.record = phone.call(chair(sheet.precinct_id, call.pin, sheet, ballot))
                call.held_at = held_steps(call.record)
            except Exception as error:  # the chair met a step the worksheet has no answer for
                call.error = f"{type(error).__name__}: {error}"
            call.ended = time.monotonic()

        threads = [threading.Thread(target=stop_the_database, daemon=True)]
        threads += [
            threading.Thread(target=place, args=(i, call), daemon=True)
            for i, call in enumerate(calls)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        assert "started" in outage, f"the database was not restarted in time: {outage}"

        # The worker retries a commit that met the outage; wait (bounded) for all of them.
        committed = committed_reports(hotline)
        while len(committed) < CHAIRS and time.monotonic() < deadline:
            time.sleep(1.0)
            committed = committed_reports(hotline)
        time.sleep(2.0)  # a second commit of the same report would show up by now
        stored = all_reports(hotline)
    hotline.engine.dispose()

    expected = {c.sheet.precinct_id: c.sheet for c in calls}
    stored_by: dict[str, list[tuple[str, dict[str, list[int]]]]] = {}
    for precinct_id, status, figures in stored:
        stored_by.setdefault(precinct_id, []).append((status, figures))
    for call in calls:
        mine = stored_by.get(call.sheet.precinct_id, [])
        want = {block: call.sheet.block(ballot, block) for block in BLOCKS}
        if [status for status, _ in mine] != ["committed"]:
            call.stored = f"stored {[status for status, _ in mine] or 'nothing'}"
        elif mine[0][1] != want:
            call.stored = f"committed other figures {mine[0][1]}"
    timeline = "\n".join(f"  {call.describe(zero)}" for call in calls)
    header = (
        f"database stopped at {outage.get('stopped', 0):.1f} s (postmaster PID "
        f"{int(outage.get('pid', 0))}), started again at {outage.get('started', 0):.1f} s; "
        f"logs in {logs}"
    )
    wrong = [call for call in calls if call.problems()]
    assert not wrong, f"{len(wrong)} of {CHAIRS} chairs did not get through:\n{header}\n{timeline}"
    assert set(stored_by) == set(expected), f"reports for other precincts: {stored_by}"


def committed_reports(hotline: Hotline) -> list[str]:
    try:
        with hotline.sessions() as session:
            return list(session.scalars(select(Report.id).where(Report.status == "committed")))
    except Exception:  # the database may still be coming back
        return []


def all_reports(hotline: Hotline) -> list[tuple[str, str, dict[str, list[int]]]]:
    with hotline.sessions() as session:
        rows = session.execute(
            select(Precinct.precinct_id, Report.status, Report.figures).join(
                Precinct, Report.precinct_pk == Precinct.id
            )
        )
        return [(pid, str(status), figures) for pid, status, figures in rows]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_web_process_gives_up_on_a_statement_after_five_seconds(database_url: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    from ivr.hotline import web_database_options
    from models import make_engine

    engine = make_engine(database_url, **web_database_options(database_url))
    started = time.monotonic()
    with pytest.raises(OperationalError, match="statement timeout"), engine.connect() as db:
        db.execute(text("SELECT pg_sleep(8)"))
    assert time.monotonic() - started < 7
    engine.dispose()
