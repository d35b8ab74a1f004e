"""Calls the hotline places, end to end: the hotline's web and worker processes on loopback,
the REST stand-in as a live server placing the calls into them, the real `twilio` Client
in the worker, PostgreSQL and Redis. Rounds to outstanding precincts, verification
callbacks, and a worker killed mid-round."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask.testing import FlaskClient, FlaskCliRunner
from redis import Redis
from sqlalchemy import select

from callflows import flow
from callflows.ballots import Ballot
from callflows.flow import Context, PinCheck, PrecinctInfo
from callflows.state import DELEGATES, FINAL, FIRST, Progress
from flood.personas import Chair
from flood.worksheets import Worksheet, load_worksheets
from ivr.cli import cli
from ivr.hotline import Hotline
from ivr.settings import DEV_ACCOUNT_SID, DEV_HOTLINE_NUMBER
from models import AttemptState, OutboundAttempt, Purpose, Report
from softphone import (
    Answer,
    GatherPrompt,
    HttpTransport,
    Keys,
    Softphone,
    gather_digits,
    keypad,
)
from softphone.rest import AnsweringChair, Busy, NoAnswer, RestStandIn, Series, Voicemail
from tests.conftest import AUTH_TOKEN
from tests.support.data import import_precincts, precinct_rows
from tests.support.live import HOTLINE, children, stack_environment
from tests.support.services import RedisServer, _wait_for_port, free_port

pytestmark = [
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
    # The hotline calls real chairs only live (in rehearsal, only the rehearsal allow-list).
    pytest.mark.usefixtures("live_mode"),
]

CALLS_PER_SECOND = 2
MAX_CALLS = 6
RETRY_SECONDS = 2
TRIES = 3


@dataclass
class Stack:
    """The hotline's processes, as production runs them, pointed at the REST stand-in."""

    base_url: str
    env: dict[str, str]
    web: subprocess.Popen[bytes]
    workers: list[subprocess.Popen[bytes]]
    logs: Path

    def start_worker(self) -> subprocess.Popen[bytes]:
        log = (self.logs / f"worker-{len(self.workers)}.log").open("ab")
        worker = subprocess.Popen([HOTLINE, "worker"], env=self.env, stdout=log, stderr=log)
        log.close()
        self.workers.append(worker)
        return worker

    def stop(self) -> None:
        # Their rq schedulers too: found before their parents stop, they are stopped by PID.
        helpers = [pid for worker in self.workers for pid in children(worker.pid)]
        for process in [self.web, *self.workers]:
            if process.poll() is None:
                process.terminate()
        for process in [self.web, *self.workers]:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        for pid in helpers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def hotline_stack(
    database_url: str,
    redis_url: str,
    twilio_url: str,
    logs: Path,
    workers: int = 1,
    *,
    first_entry_point_down: bool = False,
) -> Iterator[Stack]:
    """The stack; with `first_entry_point_down`, PUBLIC_BASE_URL names a port where nothing
    listens and the web process is reached through PUBLIC_FALLBACK_BASE_URL alone."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    entry_points = {"PUBLIC_BASE_URL": base_url}
    if first_entry_point_down:
        entry_points = {
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{free_port()}",
            "PUBLIC_FALLBACK_BASE_URL": base_url,
        }
    outbound = {
        **entry_points,
        "TWILIO_ACCOUNT_SID": DEV_ACCOUNT_SID,
        "TWILIO_API_BASE_URL": twilio_url,
        "HOTLINE_PHONE_NUMBER": DEV_HOTLINE_NUMBER,
        "HOTLINE_OUTBOUND_CPS": str(CALLS_PER_SECOND),
        "HOTLINE_OUTBOUND_MAX_CALLS": str(MAX_CALLS),
        "HOTLINE_OUTBOUND_RETRY_SECONDS": str(RETRY_SECONDS),
        "HOTLINE_OUTBOUND_TRIES": str(TRIES),
    }
    env = stack_environment(database_url, redis_url, base_url, outbound)
    logs.mkdir(parents=True, exist_ok=True)
    web_log = (logs / "web.log").open("ab")
    web = subprocess.Popen(
        [HOTLINE, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        env=env,
        stdout=web_log,
        stderr=web_log,
    )
    web_log.close()
    stack = Stack(base_url, env, web, [], logs)
    try:
        for _ in range(workers):
            stack.start_worker()
        _wait_for_port(port, timeout=30)
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def twilio() -> Iterator[RestStandIn]:
    with (
        HttpTransport() as transport,
        RestStandIn(
            transport,
            auth_token=AUTH_TOKEN,
            account_sid=DEV_ACCOUNT_SID,
            numbers=(DEV_HOTLINE_NUMBER,),
            calls_per_second=CALLS_PER_SECOND,
        ) as stand_in,
    ):
        yield stand_in


def clean_worksheets(count: int, ballot: Ballot) -> list[Worksheet]:
    """`count` 2020 precincts whose worksheets, keyed exactly, raise no question on the
    line (found by running the pure call flow over them), so each commits a report."""
    ids = {
        row["precinct_id"] for row in precinct_rows() if row["is_satellite"] in ("0", "false", "")
    }
    chosen = []
    for sheet in load_worksheets().values():
        if sheet.precinct_id in ids and sheet.delegates_to_elect and _keys_cleanly(sheet, ballot):
            chosen.append(sheet)
            if len(chosen) == count:
                break
    return chosen


@dataclass
class _Offline:
    """What the pure flow needs to key one worksheet without a server."""

    sheet: Worksheet

    def find_precinct(self, precinct_id: str) -> PrecinctInfo | None:
        name, county = self.sheet.precinct, self.sheet.county
        return PrecinctInfo(precinct_id, name, county, self.sheet.delegates_to_elect)

    def check_pin(self, precinct_id: str, pin: str, caller: str, attested: bool) -> PinCheck:
        return PinCheck.RIGHT

    def new_receipt(self) -> str:
        return "000001"

    def saved_progress(self, precinct_id: str, caller: str) -> Progress | None:
        return None


def _keys_cleanly(sheet: Worksheet, ballot: Ballot) -> bool:
    services = _Offline(sheet)
    info = services.find_precinct(sheet.precinct_id)
    assert info is not None
    ctx = Context(ballot, services, "2020-02-03T21:00:00+00:00")
    persona = Chair(sheet.precinct_id, "000000", sheet, ballot, "", random.Random(0))
    turn = flow.start_offer("CA" + "0" * 32, "+15152000000", info, ctx)
    while turn.prompt is not None:
        step = turn.prompt.step
        if step.startswith("fix") or (step == "chance" and not sheet.game_winners(ballot)):
            return False
        keys = "1" if step == "offer" else persona.answer(_prompt_for(turn))
        assert isinstance(keys, str)
        entry = gather_digits(keys, turn.prompt.num_digits, turn.prompt.finish_on_key)
        turn = flow.answer(turn.state, entry.digits, ctx)
    return turn.end_reason is flow.EndReason.SUBMITTED


def _prompt_for(turn: flow.Turn) -> GatherPrompt:
    assert turn.prompt is not None
    prompt = turn.prompt
    return GatherPrompt(
        prompt.step, "", (prompt.text,), prompt.num_digits, prompt.finish_on_key, 8, False
    )


def chair_phone(index: int) -> str:
    return f"+1515200{index:04d}"


def reporting_chair(sheet: Worksheet, pin: str, ballot: Ballot) -> Answer:
    """A chair who answers the hotline's call, presses 1 and keys the worksheet."""
    keys = Chair(sheet.precinct_id, pin, sheet, ballot, "", random.Random(0))

    def answer(prompt: GatherPrompt) -> Keys:
        return "1" if prompt.step == "offer" else keys.answer(prompt)

    return answer


def call_in(
    stack: Stack, phone: str, sheet: Worksheet, pin: str, ballot: Ballot, *, attested: bool = False
) -> str:
    """A chair's report by an inbound call from `phone`, attested at level A or not at all;
    returns what the caller heard."""
    phone_call = Softphone(
        HttpTransport(),
        f"{stack.base_url}/voice",
        AUTH_TOKEN,
        from_number=phone,
        to_number=DEV_HOTLINE_NUMBER,
        status_callback_url=f"{stack.base_url}/voice/status",
        extra_params={"StirVerstat": "TN-Validation-Passed-A"} if attested else None,
    )
    keys = Chair(sheet.precinct_id, pin, sheet, ballot, phone, random.Random(2))
    return phone_call.call(keys.answer).spoken


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def tries(hotline: Hotline) -> list[OutboundAttempt]:
    with hotline.sessions() as session:
        return list(session.scalars(select(OutboundAttempt).order_by(OutboundAttempt.id)))


def round_over(hotline: Hotline) -> bool:
    open_states = {AttemptState.DUE, AttemptState.DIALING, AttemptState.PLACED}
    current = tries(hotline)
    return bool(current) and not any(attempt.state in open_states for attempt in current)


def reports(hotline: Hotline) -> dict[str, Report]:
    with hotline.sessions() as session:
        return {
            report.precinct.precinct_id: report
            for report in session.scalars(select(Report).order_by(Report.received_at))
        }


def most_in_any_second(moments: list[float]) -> int:
    moments = sorted(moments)
    return max(
        sum(1 for other in moments[index:] if other < moment + 1.0)
        for index, moment in enumerate(moments)
    )


def test_a_round_over_50_outstanding_precincts(
    runner: FlaskCliRunner,
    hotline: Hotline,
    redis: Redis,
    redis_server: RedisServer,
    database_url: str,
    twilio: RestStandIn,
    tmp_path: Path,
) -> None:
    sheets = clean_worksheets(50, hotline.ballot)
    assert len(sheets) == 50
    phones = {sheet.precinct_id: chair_phone(index) for index, sheet in enumerate(sheets)}
    counties = tuple(sorted({sheet.county for sheet in sheets}))
    pins = import_precincts(runner, tmp_path, counties=counties, chair_phones=phones)
    ballot = hotline.ballot
    answering, voicemail, busy_then_answering, never, reports_meanwhile = (
        sheets[:20],
        sheets[20:30],
        sheets[30:40],
        sheets[40:49],
        sheets[49],
    )
    for sheet in answering:
        chair = reporting_chair(sheet, pins[sheet.precinct_id], ballot)
        twilio.callees[phones[sheet.precinct_id]] = AnsweringChair(chair)
    for sheet in voicemail:
        twilio.callees[phones[sheet.precinct_id]] = Voicemail(greeting_seconds=1.0)
    for sheet in busy_then_answering:
        chair = reporting_chair(sheet, pins[sheet.precinct_id], ballot)
        twilio.callees[phones[sheet.precinct_id]] = Series([Busy(), AnsweringChair(chair)])
    for sheet in [*never, reports_meanwhile]:
        twilio.callees[phones[sheet.precinct_id]] = NoAnswer()

    with hotline_stack(database_url, redis_server.url, twilio.base_url, tmp_path / "logs") as stack:
        result = runner.invoke(cli, ["outbound", "start"])
        assert result.exit_code == 0, result.output
        assert "calling 50 precinct(s)" in result.output
        late = reports_meanwhile.precinct_id
        # Once its chair's phone has rung out the first time, the chair calls in by
        # themselves (attested): the retry due two seconds later must never be dialled.
        wait_for(
            lambda: any(a.precinct_id == late and a.outcome for a in tries(hotline)),
            120,
            "the first try of the precinct that reports meanwhile",
        )
        heard = call_in(stack, phones[late], reports_meanwhile, pins[late], ballot, attested=True)
        assert "Your report is received" in heard, heard
        wait_for(lambda: round_over(hotline), 240, "the round to finish")
        twilio.wait_until_idle(timeout=60)

    created = twilio.created_calls
    calls_to: dict[str, int] = {}
    for call in created:
        calls_to[call.to] = calls_to.get(call.to, 0) + 1
    # Every call the hotline placed went to a registered chair phone, from its own number.
    assert {call.from_ for call in created} == {DEV_HOTLINE_NUMBER}
    assert set(calls_to) <= set(phones.values())
    # Retries: once for those who answered, twice for busy-then-answered, every try for
    # voicemail and no answer, and only once for the precinct that reported meanwhile.
    for sheet in answering:
        assert calls_to[phones[sheet.precinct_id]] == 1
    for sheet in busy_then_answering:
        assert calls_to[phones[sheet.precinct_id]] == 2
    for sheet in [*voicemail, *never]:
        assert calls_to[phones[sheet.precinct_id]] == TRIES
    assert calls_to[phones[late]] == 1
    # The rate cap, as Twilio would count it: create requests arriving within one second.
    assert most_in_any_second([call.created_at for call in created]) <= CALLS_PER_SECOND
    # Every answering chair's report is in the results, as reached by the hotline.
    stored = reports(hotline)
    for sheet in [*answering, *busy_then_answering]:
        report = stored[sheet.precinct_id]
        assert report.status == "committed", (sheet.precinct_id, report.status)
        assert report.figures[FIRST] == sheet.block(ballot, FIRST)
        assert report.figures[FINAL] == sheet.block(ballot, FINAL)
        assert report.figures[DELEGATES] == sheet.block(ballot, DELEGATES)
    assert stored[late].status == "committed"
    assert set(stored) == {
        s.precinct_id for s in [*answering, *busy_then_answering, reports_meanwhile]
    }
    # A voicemail got the message with the hotline's number after its greeting.
    left = [
        twilio.call(call.sid).voicemail
        for call in created
        if call.to == phones[voicemail[0].precinct_id]
    ]
    assert all(message and "5 1 5 5 5 5 0 1 0 0" in message for message in left), left
    # Every try is kept with its outcome.
    kept = tries(hotline)
    assert {a.purpose for a in kept} == {Purpose.STRAGGLER}
    placed = [a for a in kept if a.call_sid]
    assert len(placed) == len(created)
    assert {a.call_sid for a in placed} == {call.sid for call in created}


@pytest.mark.parametrize(("key", "status"), [("2", "quarantined"), ("1", "committed")])
def test_a_report_without_attestation_is_settled_by_calling_the_chair_back(
    runner: FlaskCliRunner,
    hotline: Hotline,
    redis: Redis,
    redis_server: RedisServer,
    database_url: str,
    twilio: RestStandIn,
    tmp_path: Path,
    client: FlaskClient,
    key: str,
    status: str,
) -> None:
    (sheet,) = clean_worksheets(1, hotline.ballot)
    phone = chair_phone(1)
    pins = import_precincts(
        runner, tmp_path, counties=(sheet.county,), chair_phones={sheet.precinct_id: phone}
    )
    # The real chair, on the registered phone, answers the hotline's call back.
    questions: list[str] = []

    def real_chair(prompt: GatherPrompt) -> Keys:
        questions.append(prompt.text)
        return keypad({"verify": key})(prompt)

    twilio.callees[phone] = AnsweringChair(real_chair)
    with hotline_stack(database_url, redis_server.url, twilio.base_url, tmp_path / "logs") as stack:
        # The right PIN from the chair's number, on a call the carrier did not attest: what a
        # spoofer of the chair's caller ID looks like.
        heard = call_in(stack, phone, sheet, pins[sheet.precinct_id], hotline.ballot)
        assert "we will call you back on it to confirm" in heard
        wait_for(lambda: round_over(hotline), 120, "the verification call")
        wait_for(
            lambda: reports(hotline)[sheet.precinct_id].status != "unverified",
            60,
            "the chair's answer to be recorded",
        )
        twilio.wait_until_idle(timeout=60)

    (call,) = twilio.created_calls
    assert call.to == phone and call.from_ == DEV_HOTLINE_NUMBER
    report = reports(hotline)[sheet.precinct_id]
    assert report.status == status
    assert f"receipt ending in {' '.join(report.receipt[-3:])}" in questions[0]
    (attempt,) = tries(hotline)
    assert attempt.purpose == Purpose.VERIFY and attempt.report_id == report.id
    assert attempt.result == ("confirmed" if key == "1" else "denied")
    statewide = client.get("/results.json").get_json()["statewide"]
    assert statewide["precincts_reporting"] == (1 if status == "committed" else 0)
    if status == "quarantined":
        assert redis.hget("hotline:counters:totals", "reports_denied_by_chair") == b"1"


def test_a_call_back_placed_while_the_first_entry_point_is_down_goes_through_the_fallback(
    runner: FlaskCliRunner,
    hotline: Hotline,
    redis_server: RedisServer,
    database_url: str,
    twilio: RestStandIn,
    tmp_path: Path,
) -> None:
    """The dialer gives Twilio the second entry point as the placed call's fallback URL, as
    `hotline twilio configure` does for calls in: the chair is reached, and confirms."""
    (sheet,) = clean_worksheets(1, hotline.ballot)
    phone = chair_phone(1)
    pins = import_precincts(
        runner, tmp_path, counties=(sheet.county,), chair_phones={sheet.precinct_id: phone}
    )
    twilio.callees[phone] = AnsweringChair(keypad({"verify": "1"}))
    with hotline_stack(
        database_url,
        redis_server.url,
        twilio.base_url,
        tmp_path / "logs",
        first_entry_point_down=True,
    ) as stack:
        heard = call_in(stack, phone, sheet, pins[sheet.precinct_id], hotline.ballot)
        assert "we will call you back on it to confirm" in heard
        wait_for(
            lambda: [r.status for r in reports(hotline).values()] == ["committed"],
            120,
            "the chair's confirmation on the call back",
        )
        twilio.wait_until_idle(timeout=60)
    (call,) = twilio.created_calls
    assert call.fallback_url == f"{stack.base_url}/voice/fallback"
    assert call.url.startswith(stack.env["PUBLIC_BASE_URL"])


def test_a_worker_killed_mid_round_loses_no_try_and_dials_nobody_twice(
    runner: FlaskCliRunner,
    hotline: Hotline,
    redis: Redis,
    redis_server: RedisServer,
    database_url: str,
    twilio: RestStandIn,
    tmp_path: Path,
) -> None:
    sheets = clean_worksheets(3, hotline.ballot)
    phones = {sheet.precinct_id: chair_phone(index) for index, sheet in enumerate(sheets)}
    counties = tuple(sorted({sheet.county for sheet in sheets}))
    pins = import_precincts(runner, tmp_path, counties=counties, chair_phones=phones)
    for sheet in sheets:
        chair = reporting_chair(sheet, pins[sheet.precinct_id], hotline.ballot)
        twilio.callees[phones[sheet.precinct_id]] = AnsweringChair(chair)
    # Twilio takes its time answering: the worker dies with a create request in flight,
    # after Twilio accepted the call but before the worker heard its SID. The first chair's
    # call may be over by then, and the worker may die committing that chair's report: the
    # call's end then waits for rq to rerun the commit (queues.outbound_jobs).
    twilio.delay_requests(5.0)
    with hotline_stack(database_url, redis_server.url, twilio.base_url, tmp_path / "logs") as stack:
        assert runner.invoke(cli, ["outbound", "start"]).exit_code == 0
        wait_for(lambda: len(twilio.created_calls) == 1, 60, "the first create request")
        (doomed,) = stack.workers
        # Its rq scheduler goes with it (left alone, it would outlive the test).
        for pid in [*children(doomed.pid), doomed.pid]:
            os.kill(pid, signal.SIGKILL)
        doomed.wait(timeout=10)
        (first,) = twilio.created_calls
        in_doubt = tries(hotline)[0]
        twilio.delay_requests(0.0)
        stack.start_worker()
        wait_for(lambda: round_over(hotline), 180, "the round to finish after the restart")
        twilio.wait_until_idle(timeout=60)

    created = twilio.created_calls
    assert sorted(call.to for call in created) == sorted(phones.values())
    kept = tries(hotline)
    assert len(kept) == 3 and all(a.state == AttemptState.ENDED for a in kept)
    # The try in doubt was adopted (from its status callback, or by looking it up among
    # Twilio's calls: tests/queues/test_dialer.py), never dialled again.
    adopted = next(a for a in kept if a.id == in_doubt.id)
    assert adopted.call_sid == first.sid
    assert {a.call_sid for a in kept} == {call.sid for call in created}
    assert {p: r.status for p, r in reports(hotline).items()} == dict.fromkeys(phones, "committed")


def test_a_chair_phone_spoofers_blocked_is_called_back_and_its_report_commits(
    runner: FlaskCliRunner,
    hotline: Hotline,
    redis_server: RedisServer,
    database_url: str,
    twilio: RestStandIn,
    tmp_path: Path,
) -> None:
    (sheet,) = clean_worksheets(1, hotline.ballot)
    phone = chair_phone(1)
    pins = import_precincts(
        runner, tmp_path, counties=(sheet.county,), chair_phones={sheet.precinct_id: phone}
    )
    pin = pins[sheet.precinct_id]
    twilio.callees[phone] = AnsweringChair(reporting_chair(sheet, pin, hotline.ballot))
    wrong_pin = f"{(int(pin) + 1) % 1_000_000:06d}"
    spoofer = keypad({"precinct": sheet.precinct_id, "pin": wrong_pin})
    with hotline_stack(database_url, redis_server.url, twilio.base_url, tmp_path / "logs") as stack:
        # Pranksters showing the chair's number (unattested) use up its tries: 3 calls of 3.
        for _ in range(3):
            Softphone(
                HttpTransport(),
                f"{stack.base_url}/voice",
                AUTH_TOKEN,
                from_number=phone,
                to_number=DEV_HOTLINE_NUMBER,
            ).call(spoofer)
        # Then the real chair calls from that phone, with the right PIN.
        heard = call_in(stack, phone, sheet, pin, hotline.ballot)
        assert "the hotline will call it back" in heard
        wait_for(lambda: sheet.precinct_id in reports(hotline), 120, "the report on the callback")
        wait_for(lambda: round_over(hotline), 60, "the callback to end")
        twilio.wait_until_idle(timeout=60)

    (call,) = twilio.created_calls
    assert call.to == phone
    (attempt,) = tries(hotline)
    assert attempt.purpose == Purpose.CALLBACK and attempt.call_sid == call.sid
    # On a call the hotline placed to the registered phone, the report is verified.
    report = reports(hotline)[sheet.precinct_id]
    assert report.status == "committed" and report.call_sid == call.sid
