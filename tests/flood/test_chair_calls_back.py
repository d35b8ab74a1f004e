"""The load tester's chairs call back, as a person would, when the hotline cuts them off
(Twilio's "application error" hang-up before a receipt), resume from their saved progress,
and are judged correct once their report is in; the report counts them."""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from pathlib import Path

from flask.testing import FlaskClient, FlaskCliRunner

from callflows import prompts
from callflows.ballots import load_ballot
from flood.calls import CallSummary, Line, cut_off, place_calls
from flood.correctness import check, load_precinct_table, stored_reports
from flood.personas import MAX_CALL_BACKS, Chair
from flood.worksheets import load_worksheets
from ivr.hotline import Hotline
from queues.worker import run_worker
from softphone import (
    APPLICATION_ERROR,
    APPLICATION_ERROR_MESSAGE,
    COMPLETED,
    NO_RESPONSE,
    CallRecord,
    GatherPrompt,
    Keys,
)
from softphone.transport import CONNECT_FAILED, FlaskClientTransport
from tests.conftest import AUTH_TOKEN, PUBLIC_BASE_URL
from tests.support.data import import_precincts

PHONE = "+15155550123"
PRECINCT = "948199"


class NodeThatDies(FlaskClientTransport):
    """The hotline in-process, refusing every connection once it goes down (a dead web node
    and no working fallback) until a new call (another CallSid) comes in: by the time the
    chair calls back, the load balancer sends them to a live node."""

    def __init__(self, client: FlaskClient) -> None:
        super().__init__(client)
        self.call_sid = ""
        self.down_for = ""
        self.refused = 0

    def go_down(self) -> None:
        self.down_for = self.call_sid

    def post(
        self, url: str, params: Mapping[str, str], headers: Mapping[str, str]
    ) -> tuple[int, str]:
        self.call_sid = params.get("CallSid", "")
        if self.down_for and self.call_sid == self.down_for:
            self.refused += 1
            return NO_RESPONSE, f"{CONNECT_FAILED}ConnectionRefusedError"
        return super().post(url, params, headers)


def test_a_chair_cut_off_mid_call_calls_back_resumes_and_is_counted(
    client: FlaskClient, runner: FlaskCliRunner, hotline: Hotline, tmp_path: Path
) -> None:
    pins = import_precincts(runner, tmp_path, chair_phones={PRECINCT: PHONE})
    sheet = load_worksheets()[("Adair", "1NW ADAIR")]
    chair = Chair(PRECINCT, pins[PRECINCT], sheet, hotline.ballot, PHONE, random.Random(0))
    node = NodeThatDies(client)
    keys = chair.answer

    def keys_then_the_node_dies(prompt: GatherPrompt) -> Keys:
        if prompt.step == "figure/final/3" and chair.calls_made == 1:
            node.go_down()  # the keys of this step never reach a live node
        return keys(prompt)

    chair.answer = keys_then_the_node_dies  # type: ignore[method-assign]
    line = Line(node, f"{PUBLIC_BASE_URL}/voice", AUTH_TOKEN)
    results = list(
        place_calls(chair, line, deadline=time.monotonic() + 60, sleep=lambda _seconds: None)
    )

    first, second = (result.record for result in results)
    assert first.outcome == APPLICATION_ERROR
    assert first.heard[-1] == APPLICATION_ERROR_MESSAGE
    # The action, the fallback and the status callback are each tried twice: Twilio's
    # defaults (no connection overrides on them) retry a connection failure once.
    assert (node.refused, first.retries) == (6, 3)
    assert second.outcome == COMPLETED
    assert any(event[:2] == ("keys", "resume") for event in second.transcript)
    assert "Your receipt number is" in second.spoken
    assert [result.attempt for result in results] == [1, 2]
    assert chair.cut_off == 1

    run_worker(hotline.redis, hotline.sessions, burst=True)
    with hotline.sessions() as session:
        reports = stored_reports(session)
    verdict = check(
        [chair], reports, [CallSummary.of(result) for result in results], load_precinct_table()
    )
    assert verdict.chairs_correct == 1, verdict.mismatches
    assert verdict.chairs_called_again == [PRECINCT]
    assert verdict.chairs_without_receipt == []


class DeadHotline:
    """Nothing answers: every connection is refused."""

    def __init__(self) -> None:
        self.requests = 0

    def post(
        self, url: str, params: Mapping[str, str], headers: Mapping[str, str]
    ) -> tuple[int, str]:
        self.requests += 1
        return NO_RESPONSE, f"{CONNECT_FAILED}ConnectionRefusedError"


def test_a_chair_gives_up_after_a_bounded_number_of_call_backs() -> None:
    sheet = load_worksheets()[("Adair", "1NW ADAIR")]
    ballot = load_ballot("iowa2020-other")
    chair = Chair(PRECINCT, "123456", sheet, ballot, PHONE, random.Random(0))
    dead = DeadHotline()
    line = Line(dead, "http://hotline.test/voice", AUTH_TOKEN)
    results = list(place_calls(chair, line, deadline=time.monotonic() + 30, sleep=lambda _: None))
    assert len(results) == 1 + MAX_CALL_BACKS
    assert all(result.record.outcome == APPLICATION_ERROR for result in results)
    assert chair.next_call() is None
    summaries = [CallSummary.of(result) for result in results]
    verdict = check([chair], [], summaries, load_precinct_table())
    assert verdict.chairs_called_again == [PRECINCT]
    assert verdict.chairs_correct == 0  # no report: the chair is not counted as done


def test_a_chair_told_to_call_back_or_cut_off_calls_again_and_a_receipt_ends_it() -> None:
    told = CallRecord("CA1", heard=["One moment, please.", prompts.TROUBLE_CALL_BACK])
    cut = CallRecord("CA2", outcome=APPLICATION_ERROR, heard=[APPLICATION_ERROR_MESSAGE])
    done = CallRecord("CA3", heard=[prompts.receipt("123456")[0], prompts.TROUBLE_CALL_BACK])
    hung_up = CallRecord("CA4", heard=["Please enter your precinct ID."])
    assert cut_off(told) and cut_off(cut)
    assert not cut_off(done) and not cut_off(hung_up)
