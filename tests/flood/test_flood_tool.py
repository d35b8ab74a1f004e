"""`hotline flood`: a small caucus night (30 chairs, 300 prank and robot calls, compressed)
through the real command (Locust in library mode) against gunicorn, rq workers, Redis and
PostgreSQL on loopback; and the pieces of its report checked on their own.

Bounded: a fixed plan, a run bound (`--max-seconds`) and a subprocess timeout.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from redis import Redis

from callflows.ballots import load_ballot
from callflows.state import BLOCKS
from flood.arrivals import arrival_times
from flood.calls import CallSummary
from flood.correctness import (
    COMMITTED_EXACTLY,
    FLAGGED_AS_EXPECTED,
    MISMATCH,
    StoredReport,
    check,
    load_precinct_table,
    worksheet_findings,
)
from flood.personas import PRANK_KINDS, Chair
from flood.plan import calls_per_prank, pranks_for_calls
from flood.worksheets import Worksheet, load_worksheets
from ivr.hotline import Hotline
from softphone import HANGUP, GatherPrompt
from tests.support.services import RedisServer

HOTLINE = str(Path(sys.executable).parent / "hotline")
BALLOT = load_ballot("iowa2020-other")
CHARTS = (
    "calls_per_second.png",
    "webhook_latency.png",
    "chair_durations.png",
    "screening.png",
    "ivr_and_hold.png",
    "rq_queues.png",
)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_small_caucus_night_holds_and_is_reported(
    hotline: Hotline, redis: Redis, redis_server: RedisServer, database_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "report"
    command = [
        HOTLINE, "flood", "--scenario", "small", "--start-stack",
        "--database-url", database_url, "--redis-url", redis_server.url,
        # A small IVR, so that unknown callers are held and let in from the hold queue.
        "--ivr-capacity", "8", "--lines", "400",
        "--baseline-seconds", "2", "--max-seconds", "120", "--out", str(out),
    ]  # fmt: skip
    finished = subprocess.run(
        command, env=os.environ.copy(), capture_output=True, text=True, timeout=240, check=False
    )
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]

    for name in ("report.md", "report.json", "results.json", *CHARTS):
        assert (out / name).stat().st_size > 0, name
    report = json.loads((out / "report.json").read_text())

    correctness = report["correctness"]
    assert correctness["holds"]
    assert correctness["chairs"] == 30 == correctness["chairs_correct"]
    assert correctness["mismatches"] == []
    assert correctness["prank_reports_committed"] == 0
    assert correctness["prank_reports"].get("quarantined", 0) > 0, "leaked PINs were keyed"
    assert correctness["chairs_wrongly_blocked"] == []
    assert correctness["chairs_held"] == [] and correctness["chairs_without_receipt"] == []
    assert correctness["flagged_as_expected"] == correctness["expected_flagged"]

    calls = report["calls"]
    assert set(calls["screening_by_persona"]) == {"chair", *PRANK_KINDS}
    assert calls["prank_calls"] == report["plan"]["prank_calls"] >= 300
    assert calls["error_answers"] == 0 and calls["application_errors"] == 0
    held = sum(c.get("held", 0) for c in calls["screening_by_persona"].values())
    assert held > 0, "the hold queue was used"
    assert calls["screening_by_persona"]["repeat_dialer"].get("busy", 0) > 0

    steps = {entry["name"] for entry in report["locust"]["by_step"]}
    assert {"voice", "precinct", "pin", "figure", "total", "confirm", "status", "hold"} <= steps
    assert report["locust"]["total"]["failures"] == 0
    assert report["locust"]["total"]["requests"] == calls["requests"]
    assert report["hotline"]["samples"] and report["hotline"]["peaks"]["hold_depth"] > 0
    assert {"hotline", "bare"} == set(report["throughput"])
    assert all(t["requests"] > 0 for t in report["throughput"].values())
    assert {"webhook_p99_ms", "chairs_correct", "throughput_ratio"} <= set(report["targets"])

    exported = json.loads((out / "results.json").read_text())
    assert {row["status"] for row in exported} >= {"committed"}
    assert "## Correctness" in (out / "report.md").read_text()


def test_arrival_profiles_spread_calls_over_the_run() -> None:
    for profile in ("steady", "spike", "viral"):
        times = arrival_times(profile, 5000, 600.0, random.Random(1))
        assert len(times) == 5000 and times == sorted(times)
        assert times[0] >= 0 and times[-1] <= 600
    spike = arrival_times("spike", 5000, 600.0, random.Random(1))
    in_spike = sum(1 for t in spike if 240 <= t < 300)
    assert 0.45 < in_spike / 5000 < 0.55
    viral = arrival_times("viral", 5000, 600.0, random.Random(1))
    assert sum(1 for t in viral if t < 120) < sum(1 for t in viral if 360 <= t < 480) / 5


def test_prank_personas_are_sized_by_calls() -> None:
    personas = pranks_for_calls(20_000)
    placed = sum(calls_per_prank(PRANK_KINDS[i % len(PRANK_KINDS)]) for i in range(personas))
    assert 20_000 <= placed < 20_000 + 10


def _sheets() -> tuple[Worksheet, Worksheet]:
    table = load_precinct_table()
    sheets = [s for s in load_worksheets().values() if s.precinct_id]
    clean = next(s for s in sheets if not worksheet_findings(s, BALLOT, table))
    broken = next(s for s in sheets if worksheet_findings(s, BALLOT, table))
    return clean, broken


def _chair(sheet: Worksheet, phone: str) -> Chair:
    return Chair(sheet.precinct_id, "123456", sheet, BALLOT, phone, random.Random(0))


def _report(chair: Chair, status: str, caller: str = "", change: int = 0) -> StoredReport:
    figures = {key: chair.sheet.block(BALLOT, key) for key in BLOCKS}
    figures["first"] = [figures["first"][0] + change, *figures["first"][1:]]
    return StoredReport(chair.precinct_id, caller or chair.phone, status, figures)


def _call(chair: Chair, screening: str = "admitted", refused: bool = False) -> CallSummary:
    return CallSummary(
        "chair", chair.precinct_id, chair.phone, 1, 0.0, 1.0, 200.0, screening,
        "completed", 40, 0, 0, refused, receipt=screening == "admitted",
    )  # fmt: skip


def test_correctness_classifies_each_chair_against_the_audit() -> None:
    clean, broken = _sheets()
    table = load_precinct_table()
    committed = _chair(clean, "+15152000001")
    flagged = _chair(broken, "+15152000002")
    result = check(
        [committed, flagged],
        [_report(committed, "committed"), _report(flagged, "flagged"),
         _report(committed, "quarantined", caller="+13193000001")],
        [_call(committed), _call(flagged)],
        table,
    )  # fmt: skip
    assert result.verdicts == {COMMITTED_EXACTLY: 1, FLAGGED_AS_EXPECTED: 1}
    assert result.holds and result.prank_reports == {"quarantined": 1}


def test_correctness_lists_what_did_not_hold() -> None:
    clean, broken = _sheets()
    table = load_precinct_table()
    typo = _chair(clean, "+15152000001")
    wrongly_committed = _chair(broken, "+15152000002")
    result = check(
        [typo, wrongly_committed],
        [_report(typo, "committed", change=1), _report(wrongly_committed, "committed"),
         _report(typo, "committed", caller="+13193000001")],
        [_call(typo, refused=True), _call(wrongly_committed, screening="busy")],
        table,
    )  # fmt: skip
    assert result.verdicts == {MISMATCH: 2}
    details = {m.precinct_id: m.detail for m in result.mismatches}
    assert "other figures" in details[typo.precinct_id]
    assert "statuses {'committed': 1}" in details[wrongly_committed.precinct_id]
    assert result.prank_reports_committed == 1
    assert result.chairs_wrongly_blocked == sorted(
        [typo.precinct_id, wrongly_committed.precinct_id]
    )
    assert not result.holds


def _prompt(step: str) -> GatherPrompt:
    return GatherPrompt(step, f"http://hotline.test/voice/{step}", (), None, "#", 5, False)


def test_a_chair_remembers_a_typo_over_a_dropped_call() -> None:
    clean, _ = _sheets()
    chair = _chair(clean, "+15152000001")
    chair.drop_at = "figure/final/3"
    final = clean.block(BALLOT, "final")
    assert chair.next_call() is not None
    chair._fixing = "figure/final/2"  # keyed a wrong figure for group 2 and heard it read back
    assert chair.answer(_prompt("figure/final/3")) is HANGUP
    assert chair.next_call() is not None
    assert chair.answer(_prompt("resume")) == "1"
    assert chair.answer(_prompt("figure/final/3")) == "*#"
    assert chair.answer(_prompt("figure/final/2")) == f"{final[1]}#"
    assert chair.answer(_prompt("figure/final/3")) == f"{final[2]}#"
    assert chair.next_call() is None


def test_a_chair_with_a_wrong_figure_rekeys_the_block_instead_of_flagging_it() -> None:
    clean, _ = _sheets()
    chair = _chair(clean, "+15152000001")
    chair._fixing = "figure/delegates/13"
    assert chair.answer(_prompt("total/delegates")) == "*#"
    assert chair.answer(_prompt("fix/delegates")) == "1"
    assert chair.answer(_prompt("fix/delegates")) == "2", "a worksheet's own error stays flagged"
    chair._fixing = "figure/first/5"
    first = clean.block(BALLOT, "first")
    assert chair.answer(_prompt("figure/first/1")) == f"{first[0]}#", "resumed at the start"
    assert chair._fixing == ""
