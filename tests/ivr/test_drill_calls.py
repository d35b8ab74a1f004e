"""The drill line, whole calls through the Twilio stand-in against real Redis and both
databases: a chair practises with the real precinct ID and PIN on the practice ballot, is
told whether the practice worksheet matched, and nothing of it reaches the results or the
night's PIN limits."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, select

from callflows import prompts
from callflows.drill import WORKSHEET, chance_keys
from callflows.state import FIRST
from callflows.trust import FULL_ATTESTATION
from flood.worksheets import load_worksheets
from ivr.cli import cli
from ivr.hotline import Hotline
from ivr.settings import DEV_DRILL_NUMBER, Settings, SettingsError
from models import DrillCall, Report, ReportDraft, StaffRole
from queues import pin_guard
from queues.drill import drill_statuses
from queues.worker import run_worker
from softphone import COMPLETED, Answer, Keys
from tests.ivr.staff.support import staff_client
from tests.support.calls import CALLER, chair, keying_chair, place_call, signed_post
from tests.support.data import import_precincts

PRECINCT = "948199"  # Adair 1NW
ADAIR_1NW = ("Adair", "1NW ADAIR")
DRILL = "/voice/drill"
NIGHT_PIN_KEYS = "hotline:pin:*"


def drain(hotline: Hotline) -> None:
    run_worker(hotline.redis, hotline.sessions, burst=True)


def drill_chair(
    precinct_id: str,
    pin: str,
    *,
    once: dict[str, Keys] | None = None,
    keyed: dict[str, list[int]] | None = None,
) -> Answer:
    """A chair keying the practice worksheet (or `keyed` blocks instead of the sheet's);
    `once` answers chosen steps differently the first time they are asked (a typo)."""
    figures = {block: list(values) for block, values in WORKSHEET.figures.items()}
    figures.update(keyed or {})
    return keying_chair(precinct_id, pin, figures, chance_keys, once=once)


def results_are_empty(client: FlaskClient, runner: FlaskCliRunner, hotline: Hotline) -> None:
    statewide = client.get("/results.json").get_json()["statewide"]
    assert statewide["precincts_reporting"] == 0
    assert all(group["first_alignment"] == 0 for group in statewide["groups"])
    exported = runner.invoke(cli, ["results", "export", "--format", "csv"])
    assert exported.exit_code == 0, exported.output
    assert not [row for row in csv.DictReader(io.StringIO(exported.output)) if row["status"]]
    staff = staff_client(client, hotline, StaffRole.VIEWER)
    for path in ("/staff/results/precincts.csv", "/staff/results/precincts.json"):
        download = staff.get(path)
        assert download.status_code == 200
        assert PRECINCT not in download.get_data(as_text=True)
    with hotline.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Report)) == 0
        assert session.scalar(select(func.count()).select_from(ReportDraft)) == 0


def test_a_chair_drills_fixes_a_typo_hears_ready_and_nothing_reaches_the_results(
    client: FlaskClient, runner: FlaskCliRunner, hotline: Hotline, tmp_path: Path
) -> None:
    pins = import_precincts(runner, tmp_path, chair_phones={PRECINCT: CALLER})
    # Maple's first alignment keyed 61 for 16: the total (60) catches it, the chair keys
    # the block again.
    answer = drill_chair(PRECINCT, pins[PRECINCT], once={"figure/first/2": "61#"})

    record = place_call(client, answer, voice_path=DRILL)

    assert record.outcome == COMPLETED and record.application_errors == 0
    assert record.heard[0] == prompts.DRILL_GREETING
    assert "Oak." in record.spoken and "Biden" not in record.spoken
    assert prompts.total_mismatch(FIRST, 105, 60) in record.spoken
    assert prompts.rekey_block(FIRST) in record.spoken
    assert prompts.DRILL_MATCHED in record.heard
    assert "You are ready for caucus night." in record.spoken
    assert "receipt" not in record.spoken
    drain(hotline)

    with hotline.sessions() as session:
        (drill,) = session.scalars(select(DrillCall)).all()
        statuses = drill_statuses(session)
    assert drill.precinct_id == PRECINCT and drill.call_sid == record.call_sid
    assert drill.matched and drill.mismatched == []
    assert drill.figures == {block: list(v) for block, v in WORKSHEET.figures.items()}
    assert drill.chance == ["Maple"] and drill.stir_verstat == FULL_ATTESTATION
    assert drill.started_at <= drill.ended_at
    status = statuses[PRECINCT]
    assert (status.calls, status.last_matched, status.ever_matched) == (1, True, True)
    assert status.last_attested is True
    assert set(statuses) == {PRECINCT}

    results_are_empty(client, runner, hotline)
    # The night's PIN limits and reports in progress never saw the drill.
    assert list(hotline.redis.scan_iter(NIGHT_PIN_KEYS)) == []
    assert list(hotline.redis.scan_iter("hotline:progress:*")) == []
    # The readiness board (signed in by results_are_empty) shows the precinct as drilled.
    board = client.get("/staff/readiness?county=Adair").get_data(as_text=True)
    assert 'data-figure="drilled">1<' in board and 'data-figure="drill_matched">1<' in board
    row = re.search(rf'<tr data-precinct="{PRECINCT}">(.*?)</tr>', board, re.S)
    assert row is not None and '<span class="yes">matched</span>' in row.group(1)


def test_a_wrong_practice_figure_is_named_and_the_drill_is_kept_as_not_matched(
    client: FlaskClient, runner: FlaskCliRunner, hotline: Hotline, tmp_path: Path
) -> None:
    pins = import_precincts(runner, tmp_path, chair_phones={PRECINCT: CALLER})
    first = list(WORKSHEET.figures[FIRST])
    first[4] = 6  # Birch: 6 for 5, and a total that agrees, so no check catches it
    answer = drill_chair(PRECINCT, pins[PRECINCT], keyed={FIRST: first})

    record = place_call(client, answer, voice_path=DRILL, stir_verstat="TN-Validation-Passed-B")

    assert record.outcome == COMPLETED
    assert (
        "One figure does not match the practice worksheet: "
        "Birch, first alignment: you keyed 6, the worksheet has 5." in record.heard
    )
    assert "ready" not in record.spoken
    drain(hotline)
    with hotline.sessions() as session:
        (drill,) = session.scalars(select(DrillCall)).all()
        status = drill_statuses(session)[PRECINCT]
    assert not drill.matched and drill.mismatched == ["first:Birch"]
    assert (status.calls, status.last_matched, status.ever_matched) == (1, False, False)
    assert status.last_attested is False  # the chair's phone, not attested: a callback
    results_are_empty(client, runner, hotline)


def test_drill_pin_failures_are_told_as_on_the_night_and_lock_only_the_drill_line(
    client: FlaskClient, runner: FlaskCliRunner, hotline: Hotline, tmp_path: Path
) -> None:
    pins = import_precincts(runner, tmp_path, chair_phones={PRECINCT: CALLER})
    wrong = "000000" if pins[PRECINCT] != "000000" else "111111"
    guessers = [f"+1515555020{n}" for n in range(4)]

    first = place_call(
        client, drill_chair(PRECINCT, wrong), voice_path=DRILL, from_number=guessers[0]
    )
    # What the night says, word for word.
    said = [prompts.pin_wrong(2), prompts.pin_wrong(1), prompts.PIN_LOCKED_OUT]
    assert [text for text in first.heard if text in said] == said
    for guesser in guessers[1:3]:
        place_call(client, drill_chair(PRECINCT, wrong), voice_path=DRILL, from_number=guesser)
    # Nine wrong PINs from other numbers; the tenth reaches the drill line's precinct limit.
    fourth = place_call(
        client,
        drill_chair(PRECINCT, wrong),
        voice_path=DRILL,
        from_number=guessers[3],
    )
    assert fourth.heard[-1] == prompts.PRECINCT_LOCKED

    assert pin_guard.pin_entry_refused(hotline.redis, PRECINCT, guessers[3], False, drill=True)
    locked = place_call(
        client, drill_chair(PRECINCT, pins[PRECINCT]), voice_path=DRILL, from_number="+15155550299"
    )
    assert locked.heard[-1] == prompts.PRECINCT_LOCKED  # even the right PIN, on the drill line

    # The night: no counter, no lock; a caller with the right PIN reports as ever.
    assert list(hotline.redis.scan_iter(NIGHT_PIN_KEYS)) == []
    assert not pin_guard.precinct_locked(hotline.redis, PRECINCT)
    assert pin_guard.pin_entry_refused(hotline.redis, PRECINCT, guessers[0], False) == ""
    sheet = load_worksheets()[ADAIR_1NW]
    night = place_call(
        client, chair(PRECINCT, pins[PRECINCT], sheet, hotline.ballot), from_number="+15155550299"
    )
    assert "Your receipt number is" in night.spoken


def test_on_caucus_night_the_drill_number_connects_to_the_results_line(
    client: FlaskClient, runner: FlaskCliRunner, hotline: Hotline, tmp_path: Path
) -> None:
    pins = import_precincts(runner, tmp_path, chair_phones={PRECINCT: CALLER})
    # The caucuses close in an hour: practice closed five hours ago (6 hours before).
    closes = datetime.now(UTC) + timedelta(hours=1)
    hotline.settings = replace(hotline.settings, caucus_closes_at=closes)
    sheet = load_worksheets()[ADAIR_1NW]

    record = place_call(
        client, chair(PRECINCT, pins[PRECINCT], sheet, hotline.ballot), voice_path=DRILL
    )

    assert record.heard[:2] == [prompts.DRILL_CLOSED_TONIGHT, prompts.GREETING]
    assert "Your receipt number is" in record.spoken
    drain(hotline)
    with hotline.sessions() as session:
        (report,) = session.scalars(select(Report)).all()
        assert session.scalar(select(func.count()).select_from(DrillCall)) == 0
    assert report.status == "committed" and report.call_sid == record.call_sid


def test_before_its_close_the_drill_line_takes_practice_calls(
    client: FlaskClient, runner: FlaskCliRunner, hotline: Hotline, tmp_path: Path
) -> None:
    pins = import_precincts(runner, tmp_path, chair_phones={PRECINCT: CALLER})
    later = datetime.now(UTC) + timedelta(hours=7)
    hotline.settings = replace(hotline.settings, caucus_closes_at=later)

    record = place_call(client, drill_chair(PRECINCT, pins[PRECINCT]), voice_path=DRILL)

    assert record.heard[0] == prompts.DRILL_GREETING
    assert prompts.DRILL_CLOSED_TONIGHT not in record.heard
    assert "You are ready for caucus night." in record.spoken


def test_the_drill_line_closes_six_hours_before_the_caucuses_unless_set() -> None:
    base = {"HOTLINE_PROFILE": "test"}
    assert Settings.from_env(base).drill_line_closes_at is None
    night = {**base, "HOTLINE_CAUCUS_CLOSES_AT": "2020-02-03T19:00:00-06:00"}
    derived = Settings.from_env(night).drill_line_closes_at
    assert derived == datetime.fromisoformat("2020-02-03T13:00:00-06:00")
    chosen = {**night, "HOTLINE_DRILL_CLOSES_AT": "2020-02-03T17:30:00-06:00"}
    assert Settings.from_env(chosen).drill_line_closes_at == datetime.fromisoformat(
        "2020-02-03T17:30:00-06:00"
    )
    with pytest.raises(SettingsError, match="HOTLINE_DRILL_CLOSES_AT"):
        Settings.from_env({**base, "HOTLINE_DRILL_CLOSES_AT": "2020-02-03T17:30:00"})
    assert Settings.from_env({**base, "HOTLINE_DRILL_NUMBER": "515 555 0142"}).drill_number == (
        "+15155550142"
    )
    # The dev profile (`make run`) has a drill line of its own by default; others none.
    assert Settings.from_env(base).drill_number == ""
    assert Settings.from_env({"HOTLINE_PROFILE": "dev"}).drill_number == DEV_DRILL_NUMBER


def test_a_practice_call_whose_state_is_gone_starts_again_as_a_practice(
    client: FlaskClient, runner: FlaskCliRunner, hotline: Hotline, tmp_path: Path
) -> None:
    # Going live clears every call's state in Redis, practice calls' too: the chair's next
    # key must not land in the results line's flow.
    import_precincts(runner, tmp_path, chair_phones={PRECINCT: CALLER})
    drill_number = "+15155550142"
    hotline.settings = replace(hotline.settings, drill_number=drill_number)
    call = {"CallSid": "CA" + "d" * 32, "From": CALLER, "To": drill_number, "Digits": "948199#"}
    status, body = signed_post(client, "/voice/precinct?seq=1", call)
    assert status == 200 and prompts.DRILL_GREETING in body
    state = hotline.redis.hget(f"hotline:call:{call['CallSid']}", "state")
    assert state is not None and json.loads(state)["drill"] is True
    # The same on the results line's number starts the results line's flow, as before.
    night = {**call, "CallSid": "CA" + "e" * 32, "To": "+15155550100"}
    status, body = signed_post(client, "/voice/precinct?seq=1", night)
    assert status == 200 and prompts.DRILL_GREETING not in body
