"""A chair who reports in Spanish, through the Twilio stand-in: the choice at the greeting,
the worksheet keyed with a wrong total fixed and a game of chance answered, every prompt
after the choice in Spanish with a Spanish voice, the report committed exactly; and the
precinct whose import says `language=es`, in Spanish without a choice."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient, FlaskCliRunner

from callflows import prompts
from callflows.spoken_names import spoken_name
from callflows.state import BLOCKS
from flood.worksheets import Worksheet, load_worksheets
from ivr import catalogue
from ivr.hotline import Hotline
from models import Call, Report, ReportStatus, StaffRole
from queues import call_log
from queues.worker import run_worker
from softphone import CallRecord
from tests.conftest import PUBLIC_BASE_URL
from tests.ivr.staff.support import staff_client
from tests.support.calls import CALLER, chair, keying_chair, place_call, signed_post, twiml_root
from tests.support.data import import_precincts

ADAIR_1NW = ("Adair", "1NW ADAIR")
"""948199: 2020's worksheet has a tie for a delegate, settled by a game of chance."""
SPANISH = (catalogue.SPANISH.say_language, catalogue.SPANISH.voice)
ENGLISH = (catalogue.ENGLISH.say_language, catalogue.ENGLISH.voice)


@pytest.fixture
def sheet(hotline: Hotline) -> Worksheet:
    found = load_worksheets()[ADAIR_1NW]
    assert found.game_winners(hotline.ballot), "the worksheet's game of chance"
    return found


def spanish(text: str) -> str:
    return catalogue.say(text, catalogue.SPANISH.code)


def stored(hotline: Hotline) -> list[Report]:
    with hotline.sessions() as session:
        return list(session.query(Report).order_by(Report.received_at))


def assert_committed_exactly(hotline: Hotline, sheet: Worksheet) -> None:
    (report,) = stored(hotline)
    assert report.status == ReportStatus.COMMITTED
    assert report.figures == {block: sheet.block(hotline.ballot, block) for block in BLOCKS}


def import_in_spanish(runner: FlaskCliRunner, tmp_path: Path, sheet: Worksheet) -> dict[str, str]:
    """Adair's precincts, the worksheet's with Spanish as its default language."""
    return import_precincts(
        runner,
        tmp_path,
        chair_phones={sheet.precinct_id: CALLER},
        columns={"language": {sheet.precinct_id: "es"}},
    )


def heard_after(record: CallRecord, count: int) -> list[tuple[str, tuple[str, str]]]:
    return list(zip(record.heard, record.heard_in, strict=True))[count:]


def test_a_chair_who_chooses_spanish_reports_a_worksheet_hearing_only_spanish(
    client: FlaskClient, runner: FlaskCliRunner, hotline: Hotline, sheet: Worksheet, tmp_path: Path
) -> None:
    pins = import_precincts(runner, tmp_path, chair_phones={sheet.precinct_id: CALLER})
    figures = {block: sheet.block(hotline.ballot, block) for block in BLOCKS}
    wrong_total = str(sum(figures["first"]) + 1)
    answer = keying_chair(
        sheet.precinct_id,
        pins[sheet.precinct_id],
        figures,
        lambda: "".join(str(option) for option in sheet.game_winners(hotline.ballot)),
        once={"precinct": "9#", "total/first": f"{wrong_total}#"},
    )
    record = place_call(client, answer)
    run_worker(hotline.redis, hotline.sessions, burst=True)
    # The greeting in English, the offer of Spanish in Spanish, the question in English...
    greeting = [prompts.GREETING, spanish(prompts.language_offer("es")), prompts.ASK_PRECINCT]
    assert record.heard[:3] == greeting
    assert record.heard_in[:3] == [ENGLISH, SPANISH, ENGLISH]
    # ...then, the 9 pressed, nothing but Spanish with the Spanish voice.
    after = heard_after(record, 3)
    assert {voice for _, voice in after} == {SPANISH}
    words = " ".join(text for text, _ in after)
    assert spanish(prompts.ASK_PRECINCT) in words
    assert (
        spanish(prompts.total_mismatch("first", sum(figures["first"]), int(wrong_total))) in words
    )
    assert spanish(prompts.receipt(stored(hotline)[0].receipt)[0]) in words
    for english in (prompts.ASK_PRECINCT, prompts.ASK_CONFIRM, "Press", "Goodbye"):
        assert english not in words
    assert_committed_exactly(hotline, sheet)
    # The phone's choice is remembered: its next call starts in Spanish.
    again = place_call(
        client, chair(sheet.precinct_id, pins[sheet.precinct_id], sheet, hotline.ballot)
    )
    assert again.heard_in[0] == SPANISH and again.heard[0] == spanish(prompts.GREETING)


def test_a_precinct_imported_in_spanish_hears_spanish_without_choosing(
    client: FlaskClient, runner: FlaskCliRunner, hotline: Hotline, sheet: Worksheet, tmp_path: Path
) -> None:
    pins = import_in_spanish(runner, tmp_path, sheet)
    record = place_call(
        client, chair(sheet.precinct_id, pins[sheet.precinct_id], sheet, hotline.ballot)
    )
    run_worker(hotline.redis, hotline.sessions, burst=True)
    # English until the precinct is known (the caller did not choose), Spanish from its name.
    assert record.heard_in[0] == ENGLISH
    name = spoken_name(sheet.precinct, "Adair")
    found = record.heard.index(spanish(prompts.precinct_found(name, "Adair", False)))
    assert {voice for _, voice in heard_after(record, found)} == {SPANISH}
    assert_committed_exactly(hotline, sheet)


def test_staff_see_the_language_of_each_call_and_a_breakdown_by_language(
    client: FlaskClient, runner: FlaskCliRunner, hotline: Hotline, sheet: Worksheet, tmp_path: Path
) -> None:
    pins = import_in_spanish(runner, tmp_path, sheet)
    place_call(client, chair(sheet.precinct_id, pins[sheet.precinct_id], sheet, hotline.ballot))
    # A caller who says nothing after the greeting: a call in English.
    place_call(client, lambda prompt: None, from_number="+15155550999")
    assert call_log.drain(hotline.redis, hotline.sessions, "worker-a") >= 2
    with hotline.sessions() as session:
        languages = {call.precinct_id: call.language for call in session.query(Call)}
    assert languages[sheet.precinct_id] == "es"
    staff = staff_client(client, hotline, StaffRole.VIEWER)
    page = staff.get(f"/staff/precincts/{sheet.precinct_id}").get_data(as_text=True)
    assert "<td>Spanish</td>" in page and "<dd>Spanish</dd>" in page
    overview = staff.get("/staff/").get_data(as_text=True)
    assert re.search(r"Calls by language:\s*English\s*<[^>]*>1<", overview), overview
    assert re.search(r"Spanish\s*<[^>]*>1<", overview)
    metrics = staff.get("/metrics").get_data(as_text=True)
    assert 'hotline_events_total{event="calls_in_es"} 1.0' in metrics


def test_a_spanish_call_s_failed_step_is_retried_in_spanish(client: FlaskClient) -> None:
    """The language rides in the step's URL, so the fallback's hold (said before the call's
    state is read) is in Spanish too, and so is the retry's URL."""
    failed = {
        "CallSid": "CA" + "5" * 32,
        "From": CALLER,
        "To": "+15155550100",
        "ErrorCode": "11200",
        "ErrorUrl": f"{PUBLIC_BASE_URL}/voice/figure/first/2?n=4&l=es",
        "Digits": "12",
    }
    status, body = signed_post(client, "/voice/fallback", failed)
    assert status == 200
    say = twiml_root(body).find("Say")
    assert say is not None and say.get("language") == SPANISH[0]
    assert say.text == spanish(prompts.HOLD_ON)
    assert "/voice/figure/first/2?n=4&amp;l=es&amp;r=1&amp;d=12" in body
