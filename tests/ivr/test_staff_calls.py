"""0 at a menu: a chair put through to staff, through the Twilio stand-in, against real
Redis and both databases."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from flask.testing import FlaskClient, FlaskCliRunner
from prometheus_client.parser import text_string_to_metric_families

from callflows import prompts
from flood.worksheets import load_worksheets
from ivr.hotline import Hotline
from models import Call, Report, StaffRole
from queues import counters
from queues.worker import run_worker
from softphone import COMPLETED, Answer, GatherPrompt, Keys
from tests.ivr.staff.support import staff_client
from tests.support.calls import CALLER, chair, place_call
from tests.support.data import import_precincts

STAFF = "+15155550199"
WHISPER_ADAIR = (  # the staff member hears the spoken name of "1NW ADAIR"
    "Caucus results hotline: a chair for precinct 1 Northwest Adair, Adair county, needs help."
)


def staff_on_duty(hotline: Hotline, number: str = STAFF, hours: str = "") -> None:
    hotline.settings = replace(hotline.settings, staff_number=number, staff_hours=hours)


def once_at(step: str, keys: Keys, then: Answer) -> Answer:
    """`then`, except that the first time the call is at `step` the chair keys `keys`."""
    done: list[str] = []

    def answer(prompt: GatherPrompt) -> Keys:
        if prompt.step == step and not done:
            done.append(step)
            return keys
        return then(prompt)

    return answer


def steps_asked(record_transcript: Sequence[tuple[object, ...]]) -> list[object]:
    return [event[1] for event in record_transcript if event[0] == "keys"]


def requested_paths(record_transcript: Sequence[tuple[object, ...]]) -> list[str]:
    urls = [str(event[1]) for event in record_transcript if event[0] == "request"]
    return [re.sub(r"^https?://[^/]+", "", url) for url in urls]


def adair(runner: FlaskCliRunner, hotline: Hotline, tmp_path: Path) -> Answer:
    pins = import_precincts(runner, tmp_path, chair_phones={"948199": CALLER})
    sheet = load_worksheets()[("Adair", "1NW ADAIR")]
    return chair("948199", pins["948199"], sheet, hotline.ballot)


def drain(hotline: Hotline) -> None:
    run_worker(hotline.redis, hotline.sessions, burst=True)


def test_staff_on_duty_answers_hears_the_precinct_and_the_call_ends(
    client: FlaskClient, runner: FlaskCliRunner, hotline: Hotline, tmp_path: Path
) -> None:
    staff_on_duty(hotline)
    answer = once_at("pin", "0", adair(runner, hotline, tmp_path))

    record = place_call(client, answer, dial_answers=lambda number: number == STAFF)

    assert record.outcome == COMPLETED
    assert record.application_errors == 0 and set(record.statuses) == {200}
    assert prompts.CONNECTING_TO_STAFF in record.heard
    assert record.dialed == [STAFF]
    assert record.callee_heard == [WHISPER_ADAIR]
    assert record.heard[-1] == prompts.STAFF_CALL_OVER
    paths = requested_paths(record.transcript)
    seq = re.search(r"n=(\d+)", paths[-2] if paths[-1] == "/voice/status" else paths[-1])
    assert seq is not None
    assert f"/voice/whisper?n={seq.group(1)}" in paths
    assert f"/voice/staff-done?n={seq.group(1)}" in paths
    totals = counters.totals(hotline.redis)
    assert totals.get("staff_requests") == 1 and totals.get("staff_put_through") == 1
    assert "staff_off_duty" not in totals
    assert counters.screening_counts(hotline.redis).get("ended:staff") == 1

    drain(hotline)
    with hotline.sessions() as session:
        (call,) = session.query(Call).filter_by(call_sid=record.call_sid).all()
        assert call.staff_step == "pin"
        assert call.staff_requested_at is not None
        assert call.precinct_id == "948199"


def test_staff_not_answering_brings_the_chair_back_to_the_question_and_the_report_commits(
    client: FlaskClient, runner: FlaskCliRunner, hotline: Hotline, tmp_path: Path
) -> None:
    staff_on_duty(hotline)
    answer = once_at("confirm", "0", adair(runner, hotline, tmp_path))

    record = place_call(client, answer)  # the staff phone never answers

    assert record.outcome == COMPLETED and record.application_errors == 0
    assert record.dialed == [STAFF] and record.callee_heard == []
    assert prompts.CONNECTING_TO_STAFF in record.heard
    at = record.heard.index(prompts.STAFF_NO_ANSWER)
    assert record.heard[at + 1] == prompts.ASK_CONFIRM
    assert steps_asked(record.transcript)[-2:] == ["confirm", "confirm"]
    assert "Your receipt number is" in record.spoken
    drain(hotline)
    with hotline.sessions() as session:
        (report,) = session.query(Report).all()
    assert report.status == "committed"
    totals = counters.totals(hotline.redis)
    assert totals.get("staff_requests") == 1 and totals.get("staff_no_answer") == 1


def test_nobody_on_duty_hears_when_to_call_back_and_keeps_going(
    client: FlaskClient, runner: FlaskCliRunner, hotline: Hotline, tmp_path: Path
) -> None:
    staff_on_duty(hotline, number="", hours="from 6 p.m. to 1 a.m.")
    answer = once_at("resume", "0", adair(runner, hotline, tmp_path))
    answer = once_at("precinct", "0#", answer)

    record = place_call(client, answer)

    assert record.dialed == []
    off_duty = prompts.staff_off_duty("from 6 p.m. to 1 a.m.")
    assert off_duty in record.heard
    assert off_duty.startswith("Nobody from staff is available now. Staff answer from 6 p.m.")
    assert record.heard[record.heard.index(off_duty) + 1] == prompts.ASK_PRECINCT
    assert "Your receipt number is" in record.spoken
    totals = counters.totals(hotline.redis)
    assert totals.get("staff_requests") == 1 and totals.get("staff_off_duty") == 1


def test_a_caller_without_a_precinct_is_whispered_as_such(
    client: FlaskClient, runner: FlaskCliRunner, hotline: Hotline, tmp_path: Path
) -> None:
    staff_on_duty(hotline)
    answer = once_at("precinct", "0#", adair(runner, hotline, tmp_path))
    record = place_call(client, answer, dial_answers=lambda number: True)
    assert record.callee_heard == [
        "Caucus results hotline: a caller who has not yet given a precinct needs help."
    ]


def test_staff_requests_are_counted_on_the_overview_and_in_metrics(
    client: FlaskClient, runner: FlaskCliRunner, hotline: Hotline, tmp_path: Path
) -> None:
    answer = adair(runner, hotline, tmp_path)
    staff_on_duty(hotline)
    place_call(client, once_at("pin", "0", answer), dial_answers=lambda number: True)
    place_call(client, once_at("pin", "0", answer))  # not answered
    staff_on_duty(hotline, number="")
    place_call(client, once_at("pin", "0", answer))  # nobody on duty
    staff_client(client, hotline, StaffRole.VIEWER)

    page = client.get("/staff/").get_data(as_text=True)
    line = re.search(r'<p id="staff-calls">(.*?)</p>', page, re.S)
    assert line is not None
    text = " ".join(re.sub(r"<[^>]+>", "", line.group(1)).split())
    assert text.startswith("Chairs asking for staff: 3 (1 put through, 1 with nobody on duty)")

    metrics = client.get("/metrics").get_data(as_text=True)
    families = {family.name: family for family in text_string_to_metric_families(metrics)}
    staff = {
        sample.labels["outcome"]: sample.value
        for sample in families["hotline_staff_requests"].samples
        if sample.name.endswith("_total")
    }
    assert staff == {"requested": 3, "put_through": 1, "no_answer": 1, "off_duty": 1}
