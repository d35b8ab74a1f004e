"""Rehearsal mode and the switch to live: a rehearsal's calls, reports, PIN locks and known
callers; the drain that lets a call in progress finish while new calls hold; the archive
and the zero report; the refusals."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, select

from callflows import prompts
from flood.worksheets import Worksheet, load_worksheets
from ivr import create_app
from ivr.cli import cli
from ivr.hotline import Hotline
from ivr.settings import Settings, SettingsError
from models import (
    AuditEvent,
    Call,
    Mode,
    RehearsalArchive,
    Report,
    ReportDraft,
    ZeroReport,
)
from queues import blocklist, counters, election_mode, go_live, jobs, keys
from queues.defaults import REPORTS_QUEUE
from queues.publish import queue
from queues.worker import run_worker
from softphone import COMPLETED, FlaskClientTransport, GatherPrompt, Keys
from softphone.caller import CallRecord
from tests.support.calls import CALLER, chair, place_call, twiml_root
from tests.support.calls import signed_post as post
from tests.support.data import import_precincts

ADAIR_1NW = "948199"
LOCKED = "948200"
SHEET = ("Adair", "1NW ADAIR")


@pytest.fixture
def pins(runner: FlaskCliRunner, tmp_path: Path) -> dict[str, str]:
    return import_precincts(runner, tmp_path, chair_phones={ADAIR_1NW: CALLER})


@pytest.fixture
def sheet() -> Worksheet:
    return load_worksheets()[SHEET]


def wrong_pins(precinct_id: str, right: str) -> Callable[[GatherPrompt], Keys]:
    """A caller who keys the precinct, then wrong PINs until the hotline hangs up."""
    wrong = "111111" if right != "111111" else "222222"

    def answer(prompt: GatherPrompt) -> Keys:
        if prompt.step.startswith("precinct"):
            return f"{precinct_id}#"
        if prompt.step.startswith("pin"):
            return wrong
        return None

    return answer


def mode_of(runner: FlaskCliRunner) -> str:
    result = runner.invoke(cli, ["mode"])
    assert result.exit_code == 0, result.output
    return result.output.strip()


def counted(hotline: Hotline, model: type[Report] | type[Call] | type[ReportDraft]) -> int:
    with hotline.sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_a_rehearsal_then_the_switch_to_live_leaves_nothing_behind(
    app: Flask,
    client: FlaskClient,
    runner: FlaskCliRunner,
    hotline: Hotline,
    pins: dict[str, str],
    sheet: Worksheet,
) -> None:
    redis = hotline.redis
    assert mode_of(runner) == "rehearsal"  # a new database starts in rehearsal
    # A staff rehearsal: a chair reports through the real path...
    record = place_call(client, chair(ADAIR_1NW, pins[ADAIR_1NW], sheet, hotline.ballot))
    assert record.outcome == COMPLETED and "receipt number" in record.spoken
    # ...pranksters lock a precinct with wrong PINs from four numbers (10 failures)...
    for index in range(4):
        place_call(client, wrong_pins(LOCKED, pins[LOCKED]), from_number=f"+1515555070{index}")
    assert redis.exists(keys.precinct_locked(LOCKED))
    assert redis.keys(keys.pin_failures("*", "*"))
    assert redis.sismember(keys.KNOWN_CALLERS, CALLER)
    # ...and staff block a number during the rehearsal.
    with hotline.sessions.begin() as session:
        blocklist.block(session, redis, "+15155550777", "rehearsal prank", "staff:rita")
    run_worker(redis, hotline.sessions, burst=True)
    with hotline.sessions() as session:
        (report,) = session.scalars(select(Report))
        assert report.rehearsal and report.status == "committed"
        calls = list(session.scalars(select(Call)))
        assert len(calls) == 5 and all(call.rehearsal for call in calls)
    # The rehearsal shows in results as usual, marked as such.
    feed = client.get("/results.json").get_json()
    assert feed["mode"] == "rehearsal"
    assert feed["statewide"]["precincts_reporting"] == 1

    result = runner.invoke(cli, ["mode", "live", "--by", "rita"])
    assert result.exit_code == 0, result.output
    assert "+15155550777" in result.output  # listed for an admin to keep or drop
    assert '"results_empty": true' in result.output

    assert counted(hotline, Report) == counted(hotline, Call) == 0
    assert counted(hotline, ReportDraft) == 0
    with hotline.sessions() as session:
        (zero,) = session.scalars(select(ZeroReport))
        (archive,) = session.scalars(select(RehearsalArchive))
        assert zero.by == "cli:rita" and zero.archive_id == archive.id
        assert zero.counts == {
            "outbound_attempt": 0,
            "outbound_round": 0,
            "report_draft": 0,
            "report": 0,
            "call": 0,
            "worksheet_entry": 0,
            "worksheet_photo": 0,
            "worksheet_message": 0,
            "precincts": len(pins),
            "pins_issued": len(pins),
        }
        assert archive.counts["report"] == 1 and archive.counts["call"] == 5
        assert archive.rows["report"][0]["id"] == report.id
        assert archive.rows["report"][0]["rehearsal"] is True
        assert zero.blocklist_to_review and len(zero.blocklist_to_review) == 1
        actions = set(session.scalars(select(AuditEvent.action)))
    assert {
        "election.mode",
        "election.drained",
        "election.rehearsal_archived",
        "election.zero_report",
        "election.rehearsal_cleared",
    } <= actions
    # What the rehearsal left in Redis that would change the night is gone.
    assert not redis.exists(keys.precinct_locked(LOCKED))
    assert redis.keys(keys.pin_failures("*", "*")) == []
    assert not redis.exists(keys.KNOWN_CALLERS)
    assert redis.keys(keys.call("*")) == []
    # The blocklist entry stays until an admin decides.
    assert blocklist.is_blocked(redis, "+15155550777")

    # Live on every node: a second app instance sees it, and so does one after Redis lost
    # the key (reloaded from the database, never flipped back to rehearsal).
    other = create_app(hotline.settings)
    try:
        assert other.test_client().get("/results.json").get_json()["mode"] == "live"
        redis.delete(keys.ELECTION_MODE)
        feed = other.test_client().get("/results.json").get_json()
        assert feed["mode"] == "live" and feed["statewide"]["precincts_reporting"] == 0
    finally:
        other.extensions["hotline"].engine.dispose()
    # The night counts: the same chair reports again, live.
    place_call(client, chair(ADAIR_1NW, pins[ADAIR_1NW], sheet, hotline.ballot))
    run_worker(redis, hotline.sessions, burst=True)
    with hotline.sessions() as session:
        (live_report,) = session.scalars(select(Report))
        assert not live_report.rehearsal and live_report.status == "committed"


class Paused:
    """A chair who keys the whole worksheet, then waits at the confirm prompt until let go."""

    def __init__(self, answer: Callable[[GatherPrompt], Keys]) -> None:
        self.answer = answer
        self.at_confirm = threading.Event()
        self.go_on = threading.Event()

    def __call__(self, prompt: GatherPrompt) -> Keys:
        if prompt.step == "confirm" and not self.at_confirm.is_set():
            self.at_confirm.set()
            assert self.go_on.wait(60)
        return self.answer(prompt)


@pytest.fixture
def call_in_progress(
    app: Flask, hotline: Hotline, pins: dict[str, str], sheet: Worksheet
) -> Iterator[tuple[Paused, list[CallRecord]]]:
    """A chair's call inside the IVR (in its own thread), waiting at the confirm prompt."""
    paused = Paused(chair(ADAIR_1NW, pins[ADAIR_1NW], sheet, hotline.ballot))
    records: list[CallRecord] = []

    def run() -> None:
        transport = FlaskClientTransport(app.test_client())
        records.append(place_call(app.test_client(), paused, transport=transport))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert paused.at_confirm.wait(30)
    yield paused, records
    paused.go_on.set()
    thread.join(timeout=30)


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_the_switch_waits_for_a_call_in_progress_while_new_calls_hold(
    client: FlaskClient,
    hotline: Hotline,
    pins: dict[str, str],
    sheet: Worksheet,
    call_in_progress: tuple[Paused, list[CallRecord]],
) -> None:
    paused, records = call_in_progress
    redis, sessions = hotline.redis, hotline.sessions
    switched: list[go_live.Switch] = []
    switch = threading.Thread(
        target=lambda: switched.append(go_live.go_live(redis, sessions, "staff:rita", 60)),
        daemon=True,
    )
    switch.start()
    wait_for(lambda: election_mode.current(redis, sessions) is Mode.OPENING)
    time.sleep(1.0)
    assert switch.is_alive()  # the chair is still on the line
    # A new call hears that the hotline opens in a moment, and holds (Pause, then back to
    # the entry), with nothing recorded.
    newcomer = {"CallSid": "CA" + "5" * 32, "From": "+15155550999", "To": "+15155550100"}
    status, body = post(client, "/voice", newcomer)
    assert status == 200
    say, pause, redirect = list(twiml_root(body))
    assert say.text == prompts.OPENING == "The hotline opens in a moment."
    assert pause.tag == "Pause" and redirect.tag == "Redirect" and redirect.text == "/voice"
    assert not redis.exists(keys.call(newcomer["CallSid"]))
    # The chair confirms; the report is committed (a worker) as the rehearsal's.
    paused.go_on.set()
    wait_for(lambda: bool(records))
    assert "receipt number" in records[0].spoken
    run_worker(redis, sessions, burst=True)
    switch.join(timeout=30)
    assert not switch.is_alive()
    (done,) = switched
    assert done.drained and done.archive_counts["report"] == 1
    with sessions() as session:
        (archive,) = session.scalars(select(RehearsalArchive))
    assert archive.rows["report"][0]["rehearsal"] is True
    assert counted(hotline, Report) == 0
    # The held call's redirect, now live, goes through to the greeting.
    record = place_call(
        client,
        chair(ADAIR_1NW, pins[ADAIR_1NW], sheet, hotline.ballot),
        call_sid=newcomer["CallSid"],
    )
    assert prompts.OPENING not in record.spoken and "receipt number" in record.spoken
    run_worker(redis, sessions, burst=True)
    with sessions() as session:
        (live_report,) = session.scalars(select(Report))
    assert not live_report.rehearsal


def test_the_drain_gives_up_after_its_time(
    hotline: Hotline, call_in_progress: tuple[Paused, list[CallRecord]]
) -> None:
    redis, sessions = hotline.redis, hotline.sessions
    started = time.monotonic()
    done = go_live.go_live(redis, sessions, "staff:rita", 1)
    waited = time.monotonic() - started
    assert 1.0 <= waited < 10
    assert not done.drained and done.calls_left == 1
    assert election_mode.current(redis, sessions) is Mode.LIVE
    with sessions() as session:
        gave_up = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "election.drain_gave_up")
        ).one()
    assert gave_up.detail["left"]["calls"] == 1
    # The call cut off keeps no rehearsal state: it starts over as a live call.
    assert redis.keys(keys.call("*")) == []


def test_going_live_and_back_are_refused_when_they_would_destroy_live_reports(
    client: FlaskClient,
    runner: FlaskCliRunner,
    hotline: Hotline,
    pins: dict[str, str],
    sheet: Worksheet,
) -> None:
    assert runner.invoke(cli, ["mode", "live", "--by", "rita"]).exit_code == 0
    assert mode_of(runner) == "live"
    # A switch that died after its commit, before telling Redis: running it again repairs.
    hotline.redis.set(keys.ELECTION_MODE, Mode.OPENING.value)
    result = runner.invoke(cli, ["mode", "live", "--by", "rita"])
    assert result.exit_code != 0 and "already live" in result.output
    assert mode_of(runner) == "live"
    # Live with no report yet: back to rehearsal is allowed (and audited).
    assert runner.invoke(cli, ["mode", "rehearsal", "--by", "rita"]).exit_code == 0
    assert mode_of(runner) == "rehearsal"
    assert runner.invoke(cli, ["mode", "live", "--by", "rita"]).exit_code == 0
    place_call(client, chair(ADAIR_1NW, pins[ADAIR_1NW], sheet, hotline.ballot))
    run_worker(hotline.redis, hotline.sessions, burst=True)
    result = runner.invoke(cli, ["mode", "rehearsal", "--by", "rita"])
    assert result.exit_code != 0
    assert "1 live report(s) exist" in result.output
    assert "cannot go back to rehearsal" in result.output
    assert mode_of(runner) == "live"
    # Were the mode not live (set behind the guard's back), zeroing would still be refused.
    election_mode.change(hotline.redis, hotline.sessions, Mode.OPENING, "test")
    result = runner.invoke(cli, ["mode", "live", "--by", "rita"])
    assert result.exit_code != 0
    assert "live reports exist (1)" in result.output and "destroy" in result.output
    assert counted(hotline, Report) == 1


def test_the_rehearsal_allow_list_is_read_like_the_other_phone_settings() -> None:
    env = {
        "HOTLINE_PROFILE": "dev",
        "HOTLINE_REHEARSAL_PHONES": " (515) 555-0100, +15155550101,,515-555-0100 ",
        "HOTLINE_GO_LIVE_DRAIN_SECONDS": "30",
    }
    settings = Settings.from_env(env)
    assert settings.rehearsal_phones == ("+15155550100", "+15155550101")
    assert settings.go_live_drain_seconds == 30
    assert Settings.from_env({"HOTLINE_PROFILE": "dev"}).go_live_drain_seconds == 120
    with pytest.raises(SettingsError, match="HOTLINE_REHEARSAL_PHONES"):
        Settings.from_env({**env, "HOTLINE_REHEARSAL_PHONES": "+15155550100,chair"})


def test_the_zero_report_downloads_as_json_and_csv(
    client: FlaskClient, runner: FlaskCliRunner, hotline: Hotline, pins: dict[str, str]
) -> None:
    from models import StaffRole
    from tests.ivr.staff.support import staff_client

    assert runner.invoke(cli, ["mode", "live", "--by", "rita"]).exit_code == 0
    with hotline.sessions() as session:
        zero_id = session.scalars(select(ZeroReport.id)).one()
    staff = staff_client(client, hotline, StaffRole.VIEWER)
    page = staff.get("/staff/mode").get_data(as_text=True)
    assert f"/staff/mode/zero-report/{zero_id}" in page
    downloaded = staff.get(f"/staff/mode/zero-report/{zero_id}")
    assert downloaded.headers["Content-Disposition"].endswith(f'zero-report-{zero_id}.json"')
    report = json.loads(downloaded.get_data(as_text=True))
    assert report["results_empty"] is True and report["counts"]["precincts"] == len(pins)
    text = staff.get(f"/staff/mode/zero-report/{zero_id}?format=csv").get_data(as_text=True)
    assert "report,0" in text and f"precincts,{len(pins)}" in text


def test_one_switch_at_a_time_and_a_late_one_never_archives_the_night(
    client: FlaskClient, hotline: Hotline, pins: dict[str, str], sheet: Worksheet
) -> None:
    redis, sessions = hotline.redis, hotline.sessions
    gives_up_at = go_live.begin(redis, sessions, "staff:ada", 60)
    # A second switch while the first drains (a double click, the command run beside the
    # dashboard) is refused.
    with pytest.raises(go_live.Refused, match="already under way"):
        go_live.begin(redis, sessions, "staff:bob", 60)
    go_live.finish(redis, sessions, "staff:ada", gives_up_at, 60)
    # The night begins: a chair reports.
    place_call(client, chair(ADAIR_1NW, pins[ADAIR_1NW], sheet, hotline.ballot))
    run_worker(redis, sessions, burst=True)
    # A switch that began before the first went live and finishes now archives nothing.
    with pytest.raises(go_live.Refused, match="already live"):
        go_live.finish(redis, sessions, "staff:bob", time.time(), 60)
    assert counted(hotline, Report) == 1
    with sessions() as session:
        assert len(session.scalars(select(ZeroReport)).all()) == 1


def test_a_rehearsals_report_that_reaches_a_worker_after_going_live_never_counts(
    client: FlaskClient, hotline: Hotline, pins: dict[str, str], sheet: Worksheet
) -> None:
    redis, sessions = hotline.redis, hotline.sessions
    place_call(client, chair(ADAIR_1NW, pins[ADAIR_1NW], sheet, hotline.ballot))
    (job,) = queue(REPORTS_QUEUE, redis).get_jobs()
    (payload,) = job.args
    assert payload["rehearsal"] is True  # stamped as the chair confirmed
    go_live.go_live(redis, sessions, "staff:rita", 1)
    # The same job comes back after the switch (a retry rq had scheduled, a failed job
    # requeued by staff): it is the rehearsal's, so it is kept in the audit, not counted.
    assert jobs.commit_report(payload) == jobs.REHEARSAL_LEFT_OVER
    assert counted(hotline, Report) == 0
    with sessions() as session:
        (left_over,) = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "report.rehearsal_left_over")
        )
    assert left_over.detail["report_id"] == payload["report_id"]
    # A report confirmed once live counts, as always.
    place_call(
        client, chair(ADAIR_1NW, pins[ADAIR_1NW], sheet, hotline.ballot), call_sid="CA" + "7" * 32
    )
    run_worker(redis, sessions, burst=True)
    assert counted(hotline, Report) == 1


def test_a_stale_opening_in_redis_holds_nobody_and_the_drill_lines_totals_survive(
    client: FlaskClient, hotline: Hotline
) -> None:
    redis, sessions = hotline.redis, hotline.sessions
    counters.add_event(redis, "drill_pin_failures")
    counters.add_event(redis, "pin_failures")
    go_live.go_live(redis, sessions, "staff:rita", 1)
    totals = counters.totals(redis)
    assert totals.get("drill_pin_failures") == 1 and "pin_failures" not in totals
    # Redis restored from a snapshot taken mid-switch says `opening`, with no switch under
    # way: the database decides, and a new call goes through.
    redis.set(keys.ELECTION_MODE, Mode.OPENING.value)
    newcomer = {"CallSid": "CA" + "8" * 32, "From": "+15155550998", "To": "+15155550100"}
    status, body = post(client, "/voice", newcomer)
    assert status == 200 and prompts.OPENING not in body
    assert election_mode.current(redis, sessions) is Mode.LIVE
