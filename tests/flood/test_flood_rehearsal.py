"""`hotline flood --scenario rehearsal`: a small staff rehearsal through the real command
(chairs of the real precincts drill first, then report their 2020 worksheets among pranks)
against gunicorn, rq workers, Redis and PostgreSQL on loopback, then the readiness board
and the switch to live; a live hotline refused before anything is sent; the drill personas
on the drill line itself.

Bounded: a fixed plan, a run bound (`--max-seconds`) and a subprocess timeout.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import cast

import pytest
from flask.testing import FlaskClient, FlaskCliRunner
from redis import Redis
from sqlalchemy import func, select

from callflows import prompts
from callflows.ballots import load_ballot
from callflows.drill import chance_keys
from flood.calls import DRILL, Line, persona_of
from flood.drills import MISREAD, drilling_chairs, keyed_right
from flood.personas import Chair
from flood.rehearsal import NotInRehearsal, require_rehearsal
from flood.scenarios import SCENARIOS, PinEntry, build_plan
from flood.worksheets import load_worksheets
from ivr.hotline import Hotline
from ivr.results import export_rows
from ivr.staff.readiness import board
from models import AuditEvent, DrillCall, Mode, Report, ZeroReport
from queues import election_mode
from queues.worker import run_worker
from softphone import COMPLETED, GatherPrompt, Transport
from tests.support.calls import place_call
from tests.support.data import import_precincts
from tests.support.services import RedisServer

HOTLINE = str(Path(sys.executable).parent / "hotline")
BALLOT = load_ballot("iowa2020-other")
PRECINCT = "948199"  # Adair 1NW
PHONE = "+15155550123"


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_small_rehearsal_drills_reports_and_goes_live_with_empty_results(
    hotline: Hotline, redis: Redis, redis_server: RedisServer, database_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "report"
    command = [
        HOTLINE, "flood", "--scenario", "rehearsal", "--start-stack",
        "--database-url", database_url, "--redis-url", redis_server.url,
        "--chairs", "6", "--prank-calls", "40", "--duration", "15",
        "--lines", "100", "--max-seconds", "60", "--out", str(out),
    ]  # fmt: skip
    finished = subprocess.run(
        command, env=os.environ.copy(), capture_output=True, text=True, timeout=180, check=False
    )
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())

    assert report["correctness"]["holds"] and report["correctness"]["chairs"] == 6
    assert report["plan"]["drills"] == 3
    assert report["calls"]["screening_by_persona"]["drill"] == {"admitted": 3}
    assert report["calls"]["drill_calls"] == 3

    rehearsal = report["rehearsal"]
    assert rehearsal["holds"] and rehearsal["mode_before"] == "rehearsal"
    # Three of the six chairs drilled: one misread a figure, two keyed it right.
    assert (rehearsal["drills_planned"], rehearsal["drills_planned_right"]) == (3, 2)
    assert rehearsal["drills_stored"] == rehearsal["drills_as_planned"] == 3
    assert rehearsal["drills_astray"] == []
    assert rehearsal["readiness"]["drilled"] == 3 and rehearsal["readiness"]["drill_matched"] == 2
    assert rehearsal["readiness"]["ready"] == 2
    assert rehearsal["readiness"]["precincts"] == rehearsal["readiness"]["pin_issued"] > 1700
    # Every report the run stored (the chairs' and the leaked PINs' quarantined ones) archived.
    stored = rehearsal["stored_before_switch"]["report"]
    assert stored >= 6 and rehearsal["archive_counts"]["report"] == stored
    assert rehearsal["archive_counts"]["call"] == rehearsal["stored_before_switch"]["call"] > 0
    assert rehearsal["switched"] and rehearsal["drained"] and rehearsal["mode_after"] == "live"
    assert rehearsal["zero_report_rows"] == 0 and rehearsal["zero_report"]["results_empty"]
    assert rehearsal["results_rows_after"] == 0
    rehearsal_targets = {k: t for k, t in report["targets"].items() if k.startswith("rehearsal")}
    assert len(rehearsal_targets) == 8 and all(t["met"] for t in rehearsal_targets.values())
    assert "## Rehearsal" in (out / "report.md").read_text()
    # The probe would run (a started stack) but its calls would be the night's: skipped.
    assert report["throughput"] == {}
    assert any("No throughput probe" in note for note in report["notes"])

    # The hotline itself: live, results empty, the zero report kept, the drills kept.
    with hotline.sessions() as session:
        assert election_mode.stored(session) is Mode.LIVE
        assert session.scalar(select(func.count()).select_from(Report)) == 0
        assert list(export_rows(session)) == []
        (zero,) = session.scalars(select(ZeroReport)).all()
        assert zero.by == "flood" and zero.counts["report"] == 0
        assert session.scalar(select(func.count()).select_from(DrillCall)) == 3
        switched = session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "election.mode", AuditEvent.actor == "flood"
            )
        ).all()
        assert [(e.actor, e.detail["to"]) for e in switched] == [
            ("flood", "opening"),
            ("flood", "live"),
        ]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_rehearsal_against_a_live_hotline_is_refused_before_any_call(
    hotline: Hotline, redis: Redis, redis_server: RedisServer, database_url: str, tmp_path: Path
) -> None:
    election_mode.change(hotline.redis, hotline.sessions, Mode.LIVE, "test")
    pins = tmp_path / "pins.csv"
    pins.write_text("precinct_id,county,precinct,chair_phone,pin\n")
    command = [
        HOTLINE, "flood", "--scenario", "rehearsal", "--url", "http://127.0.0.1:9",
        "--pins", str(pins), "--database-url", database_url, "--redis-url", redis_server.url,
        "--out", str(tmp_path / "report"),
    ]  # fmt: skip
    env = {**os.environ, "TWILIO_AUTH_TOKEN": "not-used"}
    finished = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert finished.returncode != 0
    assert "Refused: the hotline is live, not in rehearsal" in finished.stderr
    assert not (tmp_path / "report").exists()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_mode_check_reads_the_database_or_the_redis_mirror(
    hotline: Hotline, redis: Redis, redis_server: RedisServer, database_url: str
) -> None:
    assert require_rehearsal(database_url, None) is Mode.REHEARSAL  # a new database
    assert require_rehearsal(database_url, redis_server.url) is Mode.REHEARSAL
    with pytest.raises(NotInRehearsal, match="mode"):
        require_rehearsal(None, None)
    redis.flushdb()
    with pytest.raises(NotInRehearsal, match="in rehearsal mode"):
        require_rehearsal(None, redis_server.url)  # nothing mirrored: nobody says
    election_mode.change(hotline.redis, hotline.sessions, Mode.OPENING, "test")
    with pytest.raises(NotInRehearsal, match="the hotline is opening"):
        require_rehearsal(None, redis_server.url)
    with pytest.raises(NotInRehearsal, match="the hotline is opening"):
        require_rehearsal(database_url, None)


def _night_chair(precinct_id: str, pin: str, phone: str, index: int = 0) -> Chair:
    sheet = next(iter(load_worksheets().values()))
    return Chair(precinct_id, pin, sheet, BALLOT, phone, random.Random(index))


def test_a_share_of_the_chairs_drill_the_practice_worksheet_and_a_few_misread_it() -> None:
    chairs = [_night_chair(f"{9000 + i}", "123456", f"+1515555{i:04d}", i) for i in range(40)]
    chairs[3].stir_verstat = ""  # a landline: its drill is not attested either
    drills = drilling_chairs(chairs, 0.5, seed=7)

    assert len(drills) == 20
    again = drilling_chairs(chairs, 0.5, seed=7)
    assert [(d.precinct_id, d.sheet) for d in drills] == [(d.precinct_id, d.sheet) for d in again]
    by_id = {chair.precinct_id: chair for chair in chairs}
    for drill in drills:
        night = by_id[drill.precinct_id]
        assert (drill.pin, drill.phone, drill.stir_verstat) == (
            night.pin,
            night.phone,
            night.stir_verstat,
        )
        assert drill.drill and persona_of(drill) == DRILL and drill.ballot.name == "practice"
    assert [keyed_right(d) for d in drills].count(False) == 2  # a tenth misread a figure
    misread = next(d for d in drills if not keyed_right(d))
    block, group, keyed = MISREAD
    assert misread.sheet.block(misread.ballot, block)[group] == keyed
    assert drilling_chairs(chairs[:1], 0.5, seed=7) == []  # half of one chair: nobody
    two = drilling_chairs(chairs[:4], 0.5, seed=7)
    assert [keyed_right(d) for d in two].count(False) == 1, "with two, one misreads"

    line = Line(cast(Transport, None), "http://hotline.test/voice", "token")
    assert line.url_for(drills[0]) == "http://hotline.test/voice/drill"
    assert line.url_for(chairs[0]) == "http://hotline.test/voice"
    chance = GatherPrompt("chance", "http://hotline.test/voice/chance", (), None, "", 5, False)
    assert drills[0].answer(chance) == chance_keys()


def test_the_rehearsal_plan_drills_first_and_leaves_other_scenarios_unchanged() -> None:
    sheets = load_worksheets()
    entries = [
        PinEntry(s.precinct_id, s.county, s.precinct, f"+1515556{i:04d}", "123456")
        for i, s in enumerate(sheets.values())
        if s.precinct_id
    ]
    spec = SCENARIOS["rehearsal"]
    plan = build_plan(spec, entries, sheets, BALLOT)
    assert len(plan.chairs) == 300 and len(plan.drills) == 150
    last_drill = max(a.at for a in plan.arrivals if persona_of_arrival(a.caller) == DRILL)
    first_night = min(a.at for a in plan.arrivals if persona_of_arrival(a.caller) != DRILL)
    assert last_drill < first_night
    assert {d.precinct_id for d in plan.drills} <= {c.precinct_id for c in plan.chairs}

    small = SCENARIOS["small"]
    assert small.drill_share == 0 and not small.rehearsal
    without = build_plan(small, entries, sheets, BALLOT)
    # No drill phase: the night is the whole run, from its first second.
    assert without.drills == []
    assert min(a.at for a in without.arrivals) < small.duration * 0.05
    assert max(a.at for a in without.arrivals) > small.duration * 0.9
    tiny = replace(spec, chairs=1)
    assert build_plan(tiny, entries, sheets, BALLOT).drills == []  # half of one chair


def persona_of_arrival(caller: object) -> str:
    return DRILL if isinstance(caller, Chair) and caller.drill else "other"


def test_drill_personas_practise_on_the_drill_line_and_the_board_counts_them(
    client: FlaskClient, runner: FlaskCliRunner, hotline: Hotline, tmp_path: Path
) -> None:
    pins = import_precincts(runner, tmp_path, chair_phones={PRECINCT: PHONE})
    night = _night_chair(PRECINCT, pins[PRECINCT], PHONE)
    (right,) = drilling_chairs([night], 1.0, seed=1)
    right.typo_rate = 0.3  # slips, fixed as on the night

    answer = right.next_call()
    assert answer is not None
    record = place_call(client, answer, voice_path="/voice/drill", from_number=PHONE)

    assert record.outcome == COMPLETED and record.application_errors == 0
    assert right.typos > 0 and prompts.DRILL_MATCHED in record.heard
    run_worker(hotline.redis, hotline.sessions, burst=True)
    with hotline.sessions() as session:
        statewide = board(session).statewide
    assert (statewide.drilled, statewide.drill_matched) == (1, 1)

    other = _night_chair(PRECINCT, pins[PRECINCT], PHONE)
    misread = next(d for d in drilling_chairs([other, night], 1.0, seed=1) if not keyed_right(d))
    answer = misread.next_call()
    assert answer is not None
    record = place_call(client, answer, voice_path="/voice/drill", from_number=PHONE)
    assert "Birch, first alignment: you keyed 6, the worksheet has 5." in record.spoken
    run_worker(hotline.redis, hotline.sessions, burst=True)
    with hotline.sessions() as session:
        (status,) = [
            row.drill for row in board(session).rows if row.precinct.precinct_id == PRECINCT
        ]
        assert session.scalar(select(func.count()).select_from(Report)) == 0
    assert status is not None and status.calls == 2
    assert status.ever_matched and not status.last_matched
