"""Three web nodes behind two HAProxy entry points (flood.ha_topology): SIGKILL a web node,
or the first entry point, in the middle of chairs' calls, and every chair still completes,
with their report committed exactly once and no call-back.

The whole topology runs as processes on loopback: Redis primary + two replicas + three
Sentinels (REDIS_MIN_REPLICAS_ACK=1), PostgreSQL, `hotline flood --prepare`, three
`hotline serve` nodes, two HAProxy entry points (the Voice URL on the first, the fallback URL
on the second) and two rq workers. Chairs are the softphone over real HTTP, keying real 2020
worksheets. Nothing a node keeps in its memory may matter: the chairs' requests land on
every node in turn (round robin). The node dies while every chair is between two prompts;
the requests HAProxy sends it before its health check fails are refused and redispatched to
another node (a request caught inside the dying node would be resent too, `retry-on
empty-response`, safe because webhooks are idempotent; this test does not time one so).
With the first entry point dead, the Twilio stand-in fetches the fallback URL on the second,
as Twilio does, and the call goes on there.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from callflows import prompts
from callflows.ballots import Ballot, load_ballot
from callflows.state import BLOCKS
from flood.ha_topology import HaOptions, HaStack, ha_stack
from flood.plan import consistent, replayable
from flood.scenarios import PinEntry, read_pins
from flood.worksheets import Worksheet, load_worksheets
from models import Precinct, Report, make_engine
from softphone import (
    APPLICATION_ERROR_MESSAGE,
    COMPLETED,
    Answer,
    CallRecord,
    Clock,
    GatherPrompt,
    HttpTransport,
    Keys,
    Softphone,
)
from tests.support.calls import chair

SEED = 15
CHAIRS = 6
"""Chairs per test (each test has its own precincts: a precinct reports once)."""
KILLED = "web1"
KILL_AFTER_PROMPTS = 4
"""Each chair has answered this many prompts (the precinct, the PIN, figures) when the node
dies: every chair is mid-call."""
PROMPT_SECONDS = 0.15
"""A chair's pause before each answer: calls of about 30 prompts last a few seconds each, so
they run on well past the kill."""
TOTAL_SECONDS = 40.0
"""Each test's budget once the topology is up (it takes about 10 s to start, once)."""
OUT_OF_POOL_SECONDS = 2.0
RECEIVED = prompts.receipt("000000")[0]
ATTESTED = "TN-Validation-Passed-A"


@dataclass
class ChairCall:
    entry: PinEntry
    sheet: Worksheet
    records: list[CallRecord] = field(default_factory=list)
    answered: int = 0
    answered_after_fault: int = 0
    error: str = ""

    def completed(self) -> bool:
        return bool(self.records) and _completed(self.records[-1])


def _completed(record: CallRecord) -> bool:
    return record.outcome == COMPLETED and RECEIVED in record.spoken


def _choose_chairs(running: HaStack, test: int) -> list[ChairCall]:
    ballot = load_ballot(running.ballot)
    sheets = load_worksheets()
    candidates = [
        ChairCall(entry, sheets[(entry.county, entry.precinct)])
        for entry in read_pins(running.pins_file)
        if (entry.county, entry.precinct) in sheets
    ]
    fit = [
        call
        for call in candidates
        if replayable(call.sheet, ballot) and consistent(call.sheet, ballot)
        if call.sheet.precinct_id == call.entry.precinct_id
    ]
    chosen = random.Random(SEED).sample(fit, 2 * CHAIRS)
    return chosen[test * CHAIRS : (test + 1) * CHAIRS]


def _softphone(running: HaStack, phone: str) -> Softphone:
    base = running.base_url
    return Softphone(
        HttpTransport(),
        f"{base}/voice",
        running.auth_token,
        from_number=phone,
        status_callback_url=f"{base}/voice/status",
        fallback_url=f"{running.fallback_base_url}/voice/fallback",
        extra_params={"StirVerstat": ATTESTED},
        clock=Clock(),
    )


def _stored(database_url: str) -> dict[str, list[tuple[str, dict[str, list[int]]]]]:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(Precinct.precinct_id, Report.status, Report.figures).join(
                    Precinct, Report.precinct_pk == Precinct.id
                )
            )
            found: dict[str, list[tuple[str, dict[str, list[int]]]]] = {}
            for precinct_id, status, figures in rows:
                found.setdefault(precinct_id, []).append((str(status), figures))
            return found
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HaStack]:
    tmp = tmp_path_factory.mktemp("ha")
    with ha_stack(HaOptions(), tmp / "work", tmp / "logs") as started:
        yield started


@dataclass
class Outcome:
    """What a test's chairs got, and what the database holds for them."""

    calls: list[ChairCall]
    stored: dict[str, list[tuple[str, dict[str, list[int]]]]]

    def problems(self, ballot: Ballot) -> list[str]:
        found = []
        for call in self.calls:
            precinct_id = call.entry.precinct_id
            want = {block: call.sheet.block(ballot, block) for block in BLOCKS}
            mine = self.stored.get(precinct_id, [])
            if call.error:
                found.append(f"{precinct_id}: {call.error}")
            elif not call.completed():
                last = call.records[-1] if call.records else None
                found.append(f"{precinct_id}: no receipt ({last.outcome if last else 'no call'})")
            if [status for status, _ in mine] != ["committed"]:
                found.append(f"{precinct_id}: stored {[status for status, _ in mine]}")
            elif mine[0][1] != want:
                found.append(f"{precinct_id}: committed {mine[0][1]}, keyed {want}")
            if call.answered_after_fault == 0:
                found.append(f"{precinct_id}: the call was over before the fault")
        return found

    @property
    def records(self) -> list[CallRecord]:
        return [record for call in self.calls for record in call.records]


def _call_through(running: HaStack, calls: list[ChairCall], fault: Callable[[], None]) -> Outcome:
    """Place the chairs' calls at once; when each has answered KILL_AFTER_PROMPTS prompts,
    run `fault`; wait (bounded) for the calls and their commits."""
    deadline = time.monotonic() + TOTAL_SECONDS
    ballot = load_ballot(running.ballot)
    faulted = threading.Event()
    everyone_midway = threading.Barrier(len(calls) + 1)

    def paced(call: ChairCall, answer: Answer) -> Answer:
        def keyed(prompt: GatherPrompt) -> Keys:
            call.answered += 1
            if faulted.is_set():
                call.answered_after_fault += 1
            if call.answered == KILL_AFTER_PROMPTS:
                everyone_midway.wait(timeout=30)  # the fault happens now, mid-call
            time.sleep(PROMPT_SECONDS)
            return answer(prompt)

        return keyed

    def place(call: ChairCall) -> None:
        entry = call.entry
        answer = paced(call, chair(entry.precinct_id, entry.pin, call.sheet, ballot))
        try:
            call.records.append(_softphone(running, entry.chair_phone).call(answer))
            # A chair cut off calls back, as a person would; the flow resumes the progress
            # it saved. The tests count these: the topology is expected to make them unneeded.
            if not call.completed() and time.monotonic() < deadline:
                call.records.append(_softphone(running, entry.chair_phone).call(answer))
        except Exception as error:  # a step the worksheet has no answer for
            call.error = f"{type(error).__name__}: {error}"

    threads = [threading.Thread(target=place, args=(call,), daemon=True) for call in calls]
    for thread in threads:
        thread.start()
    everyone_midway.wait(timeout=30)
    fault()
    faulted.set()
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    assert not any(thread.is_alive() for thread in threads), "calls still running"

    # The workers commit what the calls queued; wait (bounded) for every report.
    mine = {call.entry.precinct_id for call in calls}

    def committed() -> int:
        stored = _stored(running.database_url)
        return sum(status == "committed" for p in mine for status, _ in stored.get(p, []))

    while time.monotonic() < deadline and committed() < len(calls):
        time.sleep(0.5)
    time.sleep(1.0)  # a second commit of the same report would show up by now
    stored = _stored(running.database_url)
    return Outcome(calls, {p: stored[p] for p in mine if p in stored})


def test_a_web_node_killed_mid_call_costs_no_chair_their_report(running: HaStack) -> None:
    calls = _choose_chairs(running, 0)
    victim = running.member(KILLED)
    survivors = {node.name for node in running.web} - {KILLED}
    out_of_pool: list[float] = []

    def kill_a_node() -> None:
        assert victim.pid is not None
        victim.kill()
        killed_at = time.monotonic()
        # Both entry points take the node out of their pools within the health check's
        # fall (2 x 500 ms), and keep the others.
        for entry in range(len(running.balancers)):
            running.wait_for_pool(survivors, entry, timeout=OUT_OF_POOL_SECONDS)
        out_of_pool.append(time.monotonic() - killed_at)

    try:
        outcome = _call_through(running, calls, kill_a_node)
        served = running.server_stats(0)
    finally:
        if not victim.running:  # for the next test
            victim.start()
            running.wait_for_pool({node.name for node in running.web})

    assert not (problems := outcome.problems(load_ballot(running.ballot))), "\n".join(problems)
    assert out_of_pool and out_of_pool[0] <= OUT_OF_POOL_SECONDS
    # Every node served the chairs; the requests sent to the dead node before its health
    # check failed were refused and redispatched to the others.
    assert all(int(served[node.name]["stot"]) > 0 for node in running.web), served
    assert int(served["BACKEND"]["wredis"]) > 0, served["BACKEND"]
    # HAProxy's retries and redispatch carried every request: no chair met a failed fetch
    # (nor Twilio's fallback, nor its application error) or had to call back.
    assert len(outcome.records) == CHAIRS, "a chair had to call back"
    for record in outcome.records:
        assert record.application_errors == 0, record.error_codes
        assert APPLICATION_ERROR_MESSAGE not in record.spoken


def test_with_the_first_entry_point_killed_calls_go_on_through_the_fallback(
    running: HaStack,
) -> None:
    calls = _choose_chairs(running, 1)
    first = running.balancers[0]
    try:
        outcome = _call_through(running, calls, first.kill)
    finally:
        if not first.running:
            first.start()
            running.wait_for_pool({node.name for node in running.web})

    assert not (problems := outcome.problems(load_ballot(running.ballot))), "\n".join(problems)
    # Each chair's next request failed; the stand-in, as Twilio does, fetched the fallback
    # URL on the second entry point, which asked the chair to hold and retried the step
    # there (signed for the second entry point's URL, and accepted); no call-backs.
    assert len(outcome.records) == CHAIRS, "a chair had to call back"
    for record in outcome.records:
        assert record.application_errors >= 1, record.statuses
        assert prompts.HOLD_ON in record.heard
        assert APPLICATION_ERROR_MESSAGE not in record.spoken
