"""`hotline capacity`: a few seconds of each kind of webhook, replayed by wrk against the
real stack (one web process, Redis, an rq worker, PostgreSQL) on loopback; and its pieces
checked on their own.

Bounded: one second a kind, a few hundred prepared requests each, a subprocess timeout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from flood.baseline import serving_bare_app
from flood.capacity import answer_marker
from flood.web_profile import OTHER, breakdown, categorize
from flood.webhook_kinds import KIND_NAMES
from flood.wrk import PreparedRequest, write_request_files

HOTLINE = str(Path(sys.executable).parent / "hotline")
TWO_CORES = len(os.sched_getaffinity(0)) >= 2


def test_capacity_reports_every_kind_of_webhook_and_the_generators_headroom(
    tmp_path: Path,
) -> None:
    out = tmp_path / "capacity"
    cpus = ["--server-cpus", "0", "--generator-cpus", "1"] if TWO_CORES else []
    command = [
        # Above any kind's rate on a fast day (the bare endpoint has done 2,900 a second).
        HOTLINE, "capacity", "--seconds", "1", "--rate-bound", "5000",
        # No --database-url: the command makes a database of its own and drops it, so its
        # worker's last commits can never reach the suite's shared database (they did).
        "--profile", "--out", str(out), *cpus,
    ]  # fmt: skip
    finished = subprocess.run(
        command, env=os.environ.copy(), capture_output=True, text=True, timeout=420, check=False
    )
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]

    report = json.loads((out / "capacity.json").read_text())
    results = {result["kind"]: result for result in report["results"]}
    assert set(results) == {*KIND_NAMES, "bare"}
    for kind, result in results.items():
        assert result["per_second"] > 0, kind
        assert result["requests"] > 0 and result["errors"] == 0, kind
        # Every answer took the path the kind measures (the marker was in it).
        assert result["matched"] == result["requests"] and result["other"] == 0, kind
        assert not result["exhausted"], kind
        assert 0 < result["generator_cpu"] < 1, kind  # wrk had headroom
        assert 0 < result["server_core_busy"] <= 1, kind
    hotline_kinds = [results[name] for name in KIND_NAMES]
    assert all("web" in result["stack_cpu"] for result in hotline_kinds)
    assert all(sum(result["profile"].values()) > 0.9 for result in hotline_kinds)
    markdown = (out / "capacity.md").read_text()
    assert "| granian | figure |" in markdown and "Where the web process's time goes" in markdown


def test_the_cost_of_a_replica_acknowledgement_is_measured_in_one_run(tmp_path: Path) -> None:
    out = tmp_path / "capacity"
    cpus = ["--server-cpus", "0", "--generator-cpus", "1"] if TWO_CORES else []
    command = [
        HOTLINE, "capacity", "--seconds", "1", "--rate-bound", "2000", "--kinds", "confirm",
        "--replicas", "1", "--min-replicas-ack", "0,1", "--no-bare", "--out", str(out), *cpus,
    ]  # fmt: skip
    finished = subprocess.run(
        command, env=os.environ.copy(), capture_output=True, text=True, timeout=300, check=False
    )
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    results = json.loads((out / "capacity.json").read_text())["results"]
    assert [(r["server"], r["kind"]) for r in results] == [
        ("granian, replica ack 0", "confirm"),
        ("granian, replica ack 1", "confirm"),
    ]
    for result in results:
        # Every confirmation was answered with its receipt: with ack 1, only once the
        # replica had the report (a timeout would have answered hold-and-retry instead).
        assert result["requests"] > 0 and result["errors"] == 0, result["server"]
        assert result["matched"] == result["requests"] and result["other"] == 0
        assert "redis-replica0" in result["stack_cpu"]
    refused = subprocess.run(
        [HOTLINE, "capacity", "--replicas", "1", "--min-replicas-ack", "2", "--out", str(out)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert refused.returncode == 2 and "from 0 to --replicas (1)" in refused.stderr


def test_the_marker_is_the_next_action_or_the_refusing_verb() -> None:
    gather = (
        '<?xml version="1.0" encoding="UTF-8"?><Response><Gather action="/voice/pin?n=2" '
        'method="POST"><Say>PIN?</Say></Gather><Redirect>/voice/pin?n=2&amp;silence=1'
        "</Redirect></Response>"
    )
    assert answer_marker(gather) == 'action="/voice/pin?'
    busy = '<?xml version="1.0" encoding="UTF-8"?><Response><Reject reason="busy" /></Response>'
    assert answer_marker(busy) == "<Reject"
    assert answer_marker('<?xml version="1.0" encoding="UTF-8"?><Response />') == "<Response />"


def test_request_files_deal_requests_to_every_thread(tmp_path: Path) -> None:
    requests = [PreparedRequest(f"/voice/x?n={i}", "sig", f"CallSid=CA{i}") for i in range(5)]
    write_request_files(requests, tmp_path / "requests", 2)
    first = (tmp_path / "requests.0").read_text().splitlines()
    second = (tmp_path / "requests.1").read_text().splitlines()
    assert first == [f"/voice/x?n={i}\tsig\tCallSid=CA{i}" for i in (0, 2, 4)]
    assert len(second) == 2
    with pytest.raises(ValueError, match="tab"):
        write_request_files([PreparedRequest("/a", "s", "x\ty")], tmp_path / "bad", 1)


def test_profile_samples_go_to_the_innermost_frame_outside_the_standard_library() -> None:
    redis_read = [
        "_runner (granian/wsgi.py:57)",
        "step (ivr/voice/calls.py:66)",
        "read_response (redis/connection.py:1433)",
        "recv (socket.py:10)",
    ]
    assert categorize(redis_read) == "Redis client (redis-py, hiredis)"
    assert categorize(["_runner (granian/wsgi.py:57)", "wait (threading.py:3)"]) == "server"
    assert categorize(["main (somewhere/else.py:1)"]) == OTHER
    raw = (
        "_runner (granian/wsgi.py:57);step (ivr/voice/calls.py:66) 3\n"
        "_runner (granian/wsgi.py:57);render_turn (ivr/twiml.py:41) 1\n"
    )
    assert breakdown(raw) == {"hotline: state, screening, counters": 0.75, "rendering TwiML": 0.25}


@pytest.mark.parametrize("server", ["gunicorn", "granian", "uwsgi"])
def test_each_server_of_the_comparison_serves_the_bare_endpoint(
    server: str, tmp_path: Path
) -> None:
    with serving_bare_app(1, 2, tmp_path / "bare.log", server=server) as (voice_url, pid):
        deadline = time.monotonic() + 60
        while True:
            try:
                answer = requests.post(voice_url, data={"CallSid": "CA1"}, timeout=5)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert pid > 0
    assert answer.status_code == 200
    assert answer_marker(answer.text) == 'action="/voice/figure/first/1?'
