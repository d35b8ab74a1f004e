"""The overload benchmark (`hotline flood --scenario overload`), run small: its capacity
measurement, its open-loop flood at three times that rate and its chairs produce a report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flood.overload_run import OverloadOptions, render_markdown, run_overload, write_report

SMALL = OverloadOptions(
    seconds=4.0,
    chairs=2,
    think_seconds=0.05,
    chairs_after_seconds=1.0,
    threads=4,
    capacity_seconds=2.0,
    controls=(True,),
)


def test_a_small_overload_run_measures_capacity_floods_at_three_times_it_and_reports(
    tmp_path: Path,
) -> None:
    (run,) = run_overload(SMALL, tmp_path / "work", tmp_path / "logs")

    assert run.overload_control and run.capacity_per_second > 0
    assert run.rate == pytest.approx(3 * run.capacity_per_second, abs=0.2)
    # The generator kept up (it would otherwise be measuring itself) and sent every call.
    assert 0 < run.pranks["cpu_share"] < 1 and run.pranks["not_sent"] == 0, run.pranks
    assert run.pranks["sent"] >= 0.9 * run.rate * SMALL.seconds, run.pranks
    assert run.pranks["busy"] > 0 and run.balancer_refused > 0, run.pranks
    assert run.pranks["errors"] == 0, run.pranks
    assert not run.problems, run.problems
    assert run.chairs_completed == run.chairs_committed_exactly == 2
    assert run.chairs_refused == run.chair_error_answers == run.chair_application_errors == 0
    assert 0 < run.in_call_p99_ms < 4000 and run.app_in_call_p99_ms > 0

    write_report([run], SMALL, tmp_path / "report")
    saved = json.loads((tmp_path / "report" / "overload.json").read_text())
    assert saved["runs"][0]["chairs_completed"] == 2
    table = render_markdown([run], SMALL)
    assert "| chairs with a receipt | 2 of 2 |" in table
    assert (tmp_path / "report" / "overload.md").read_text() == table
