"""Overload control (issue 16): chairs get through a flood of new calls bigger than the stack.

One web node with four threads behind HAProxy configured by `ivr.balancer` (the node takes
four requests at once; the rest wait in HAProxy's queue, in-call steps and chairs' first
calls first; past the queue's threshold new calls hear busy from HAProxy itself), Redis,
PostgreSQL, an rq worker. A separate process keeps 48 new prank calls in flight at once,
twelve times the node's threads, while a handful of chairs (the softphone over real HTTP,
from their registered phones) key real 2020 worksheets through the same HAProxy. Every
chair must finish with their report committed and no answer other than a 200 with TwiML;
the pranks must have been refused busy, quickly, and staff must see it (/metrics).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator

import pytest
from redis import Redis

from callflows.ballots import load_ballot
from callflows.state import BLOCKS
from flood.balanced_stack import BalancedOptions, BalancedStack, balanced_stack
from flood.overload_run import fit_chairs, place_chair_call, wait_for_commits
from queues import counters
from tests.support.calls import chair

SEED = 16
CHAIRS = 5
FLOOD_SECONDS = 30.0
"""How long the pranks are placed: the chairs must be done well inside it."""
FLOOD_CONCURRENCY = 48
"""New calls in flight at once: twelve times the web node's threads."""
SATURATED_SECONDS = 15.0
"""How long the flood may take to saturate the node (HAProxy refusing calls)."""
CHAIRS_SECONDS = 25.0
COMMIT_SECONDS = 20.0
PROMPT_SECONDS = 0.05
IN_CALL_BOUND_SECONDS = 4.0
"""Twilio's read timeout under the Voice URL's connection overrides (ivr/twilio_setup.py):
no chair's step may come near it. The goal on an idle core is far lower (docs/BENCHMARKS.md);
this machine is shared."""


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BalancedStack]:
    tmp = tmp_path_factory.mktemp("overload")
    with balanced_stack(BalancedOptions(), tmp / "work", tmp / "logs") as started:
        yield started


def _start_flood(running: BalancedStack) -> subprocess.Popen[str]:
    args = [
        sys.executable, "-m", "flood.new_call_flood", "--url", running.stack.base_url,
        "--seconds", str(FLOOD_SECONDS), "--concurrency", str(FLOOD_CONCURRENCY),
    ]  # fmt: skip
    env = {**os.environ, "TWILIO_AUTH_TOKEN": running.stack.auth_token}
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, text=True)


def _wait_until_shedding(running: BalancedStack) -> None:
    deadline = time.monotonic() + SATURATED_SECONDS
    while running.overload().refused_total == 0:
        assert time.monotonic() < deadline, "the flood never saturated the web node"
        time.sleep(0.2)


def _metrics(running: BalancedStack) -> str:
    request = urllib.request.Request(
        running.stack.base_url + "/metrics",
        headers={"Authorization": f"Bearer {running.metrics_token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(response.read().decode())


def test_chairs_complete_while_a_flood_bigger_than_the_node_is_refused_busy(
    running: BalancedStack,
) -> None:
    calls = fit_chairs(running, CHAIRS, SEED)
    ballot = load_ballot(running.stack.ballot)
    flood = _start_flood(running)
    try:
        _wait_until_shedding(running)
        threads = [
            threading.Thread(target=place_chair_call, args=(running, call, answer, PROMPT_SECONDS))
            for call in calls
            for answer in [chair(call.entry.precinct_id, call.entry.pin, call.sheet, ballot)]
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=CHAIRS_SECONDS)
        assert not any(thread.is_alive() for thread in threads), "chairs' calls still running"
        assert flood.poll() is None, "the flood ended before the chairs did"
        # Staff see the shedding while it happens.
        shedding = running.overload()
        metrics = _metrics(running)
    finally:
        out, _ = flood.communicate(timeout=FLOOD_SECONDS + 30)
    pranks = json.loads(out)

    problems = [problem for call in calls for problem in call.problems()]
    assert not problems, "\n".join(problems)

    # Every chair's step (the first /voice included) came back well inside Twilio's time.
    steps = [seconds for call in calls for _, _, seconds in call.transport.seen]
    assert len(steps) >= CHAIRS * 30
    assert max(steps) < IN_CALL_BOUND_SECONDS, sorted(steps)[-5:]

    # The pranks were refused busy, by HAProxy, in a few milliseconds.
    assert pranks["busy"] > 10 * CHAIRS, pranks
    assert pranks["errors"] == 0, pranks
    assert pranks["busy_p50_ms"] < 100, pranks
    assert shedding.refused_total > 0 and shedding.unreachable == 0, shedding
    assert "hotline_overload_refused_calls_total" in metrics
    refused = next(
        line for line in metrics.splitlines() if line.startswith("hotline_overload_refused_calls")
    )
    assert float(refused.split()[-1]) > 0, refused
    in_call = counters.in_call_latency_percentiles(Redis.from_url(running.stack.redis_url))
    assert in_call["samples"] >= len(steps) - 2 * CHAIRS, in_call

    # Every chair's report is committed, exactly as keyed.
    stored = wait_for_commits(running, calls, COMMIT_SECONDS)
    for call in calls:
        want = {block: call.sheet.block(ballot, block) for block in BLOCKS}
        assert stored.get(call.entry.precinct_id) == [("committed", want)], call.entry
