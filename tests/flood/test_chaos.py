"""`hotline flood --start-stack --topology ha --chaos`, end to end on a tiny night: the HA
topology on loopback, four of the five faults of flood.faults struck during the arrivals
(the two outages shortened to 3 s), and the chairs' reports still exactly right. The fifth,
a worker killed mid-commit, waits for rq to find the job abandoned (its heartbeat lapses
65 s after the kill), too long for the suite: tests/queues/test_worker_faults.py kills a
worker mid-commit, and `make flood-chaos` strikes all five.

Bounded: a small plan, a run bound (`--max-seconds`) and a subprocess timeout; every
process the flood starts is stopped by it (flood.ha_topology, flood.run.started_ha_stack).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from flood.faults import FAULT_KEYS

HOTLINE = str(Path(sys.executable).parent / "hotline")


def test_a_chaos_flood_strikes_every_fault_and_every_chair_ends_with_exactly_their_report(
    tmp_path: Path,
) -> None:
    out = tmp_path / "report"
    command = [
        HOTLINE, "flood", "--scenario", "small", "--start-stack", "--topology", "ha", "--chaos",
        "--chairs", "16", "--prank-calls", "80", "--duration", "40", "--time-scale", "0.02",
        "--chaos-outage", "3", "--chaos-faults", "web,haproxy,redis,postgres",
        "--seed", "3", "--max-seconds", "150", "--out", str(out),
    ]  # fmt: skip
    finished = subprocess.run(
        command, env=os.environ.copy(), capture_output=True, text=True, timeout=480, check=False
    )
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())

    faults = {fault["name"]: fault for fault in report["faults"]}
    assert list(faults) == [FAULT_KEYS[key] for key in ("web", "haproxy", "redis", "postgres")]
    for fault in faults.values():
        # Struck, and the hotline seen to recover (not "not injected: ...").
        assert fault["struck"] > 0 and fault["recovered"] >= fault["struck"], fault
        assert not fault["recovery"].startswith("not injected"), fault
    assert "SIGKILL web" in faults["web node"]["what"]
    assert "promoted port" in faults["Redis primary"]["recovery"]
    assert faults["Redis primary"]["recovery"].split()[-1] not in faults["Redis primary"]["what"]

    correctness = report["correctness"]
    assert correctness["chairs"] == 16
    assert correctness["mismatches"] == [], correctness["mismatches"]
    assert correctness["holds"], correctness
    assert correctness["prank_reports_committed"] == 0
    markdown = (out / "report.md").read_text()
    assert "## Faults (chaos)" in markdown
    assert "Chairs who end without a report (after calling back, if cut off): 0" in markdown
