"""The bookkeeping of calls the hotline places, against both databases: rounds, retries,
what stops them, and a chair's answer on a verification callback."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from flask.testing import FlaskCliRunner
from redis import Redis
from rq.job import Job
from rq.serializers import JSONSerializer
from sqlalchemy import select

from callflows.events import CallbackRequested, ReportSubmitted, ReportVerified
from ivr.hotline import Hotline
from ivr.settings import DEV_ACCOUNT_SID, DEV_HOTLINE_NUMBER
from ivr.twilio_api import TwilioCalls, outbound_config, rest_client
from models import (
    AttemptState,
    AuditEvent,
    DrillCall,
    OutboundAttempt,
    OutboundRound,
    Outcome,
    Precinct,
    Purpose,
    Report,
)
from queues import jobs, outbound, runtime
from queues.defaults import CALLBACKS_PER_PRECINCT, OUTBOUND_QUEUE
from queues.dialer import OutboundConfig, Telephony
from queues.outbound import RetryPolicy
from queues.publish import publish_outbound, publish_report, queue
from queues.worker import run_worker
from tests.queues.test_jobs import payload
from tests.support.calls import CALLER
from tests.support.data import import_precincts

POLICY = RetryPolicy(tries=3, retry_seconds=600)
NOW = datetime(2020, 2, 3, 21, 0, tzinfo=UTC)
PHONES = {"948199": CALLER, "948200": "+15155550124", "948201": "+15155550125"}


@pytest.fixture
def adair(runner: FlaskCliRunner, tmp_path: Path) -> dict[str, str]:
    """Adair's five precincts; three have a registered chair phone."""
    return import_precincts(runner, tmp_path, chair_phones=PHONES)


def attempts(hotline: Hotline) -> list[OutboundAttempt]:
    with hotline.sessions() as session:
        return list(session.scalars(select(OutboundAttempt).order_by(OutboundAttempt.id)))


def test_a_round_calls_each_outstanding_precinct_with_a_phone_once(
    hotline: Hotline, adair: dict[str, str]
) -> None:
    jobs.commit_report(payload())  # 948199 has reported
    with hotline.sessions.begin() as session:
        started = outbound.start_round(session, "alice", NOW)
        assert started.precincts == 2
    tries = attempts(hotline)
    assert [(a.precinct_id, a.to_number, a.try_number) for a in tries] == [
        ("948200", "+15155550124", 1),
        ("948201", "+15155550125", 1),
    ]
    assert all(a.state == AttemptState.DUE and a.purpose == Purpose.STRAGGLER for a in tries)
    with hotline.sessions.begin() as session, pytest.raises(outbound.RoundRunning):
        outbound.start_round(session, "bob", NOW)
    with hotline.sessions() as session:
        (event,) = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "outbound.round_started")
        )
        assert event.actor == "alice" and event.detail == {"precincts": 2}


def test_stopping_a_round_skips_what_is_not_yet_dialled(
    hotline: Hotline, adair: dict[str, str]
) -> None:
    with hotline.sessions.begin() as session:
        outbound.start_round(session, "alice", NOW)
    with hotline.sessions.begin() as session:
        assert outbound.stop_round(session, "alice", NOW) == 3
        assert outbound.active_round(session) is None
    assert {(a.state, a.outcome) for a in attempts(hotline)} == {("skipped", "stopped")}


def test_a_busy_call_is_tried_again_later_until_the_tries_are_used_up(
    hotline: Hotline, adair: dict[str, str]
) -> None:
    with hotline.sessions.begin() as session:
        outbound.start_round(session, "alice", NOW)
    first = next(a for a in attempts(hotline) if a.precinct_id == "948200")
    for index in range(POLICY.tries):
        sid = f"CA{index:032d}"
        with hotline.sessions.begin() as session:
            latest = max(
                (a for a in session.scalars(select(OutboundAttempt)) if a.precinct_id == "948200"),
                key=lambda a: a.id,
            )
            outbound.record_call_status(session, latest.id, sid, "busy", POLICY, now=NOW)
            # Twilio may send the final status twice: nothing more happens.
            outbound.record_call_status(session, latest.id, sid, "busy", POLICY, now=NOW)
    tries = [a for a in attempts(hotline) if a.precinct_id == "948200"]
    assert [a.try_number for a in tries] == [1, 2, 3]
    assert all(a.outcome == Outcome.BUSY and a.state == AttemptState.ENDED for a in tries)
    assert tries[0].id == first.id
    assert all(outbound.aware(a.due_at) == NOW + timedelta(seconds=600) for a in tries[1:])


def test_no_retry_once_the_precinct_has_reported(hotline: Hotline, adair: dict[str, str]) -> None:
    with hotline.sessions.begin() as session:
        outbound.start_round(session, "alice", NOW)
    chair = next(a for a in attempts(hotline) if a.precinct_id == "948199")
    jobs.commit_report(payload())
    with hotline.sessions.begin() as session:
        outbound.record_call_status(session, chair.id, "CA" + "7" * 32, "no-answer", POLICY)
    assert [a.try_number for a in attempts(hotline) if a.precinct_id == "948199"] == [1]


def test_an_unverified_report_queues_a_callback_and_the_chairs_1_commits_it(
    hotline: Hotline, adair: dict[str, str]
) -> None:
    assert jobs.commit_report(payload(stir_verstat="")) == "unverified"
    (callback,) = attempts(hotline)
    assert callback.purpose == Purpose.VERIFY and callback.to_number == CALLER
    report_id = payload()["report_id"]
    assert callback.report_id == report_id
    answer = ReportVerified(report_id, "CA" + "5" * 32, True, NOW.isoformat())
    with hotline.sessions.begin() as session:
        assert outbound.settle_verification(session, answer) == ("committed", True)
    with hotline.sessions.begin() as session:
        assert outbound.settle_verification(session, answer) == ("committed", False)
    with hotline.sessions() as session:
        report = session.get(Report, report_id)
        assert report is not None and report.reviewed_by == "callback"


def test_the_chairs_2_quarantines_the_report(hotline: Hotline, adair: dict[str, str]) -> None:
    jobs.commit_report(payload(stir_verstat="No-TN-Validation"))
    report_id = payload()["report_id"]
    answer = ReportVerified(report_id, "CA" + "5" * 32, False, NOW.isoformat())
    with hotline.sessions.begin() as session:
        assert outbound.settle_verification(session, answer) == ("quarantined", True)
        # The callback already queued is not dialled now: the report is settled.
        (callback,) = session.scalars(select(OutboundAttempt))
        assert outbound.skip_reason(session, callback) is Outcome.SETTLED
    with hotline.sessions() as session:
        (event,) = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "report.denied_by_chair")
        )
        assert event.detail["report_id"] == report_id


def test_a_callback_nobody_answers_is_left_for_review_after_the_last_try(
    hotline: Hotline, adair: dict[str, str]
) -> None:
    jobs.commit_report(payload(stir_verstat=""))
    for index in range(POLICY.tries):
        with hotline.sessions.begin() as session:
            latest = session.scalars(
                select(OutboundAttempt).order_by(OutboundAttempt.id.desc())
            ).first()
            assert latest is not None
            outbound.record_call_status(
                session, latest.id, f"CA{index:032d}", "no-answer", POLICY, now=NOW
            )
    assert len(attempts(hotline)) == POLICY.tries
    with hotline.sessions() as session:
        report = session.get(Report, payload()["report_id"])
        assert report is not None and report.status == "unverified"
        assert session.scalars(
            select(AuditEvent).where(AuditEvent.action == "report.verification_unanswered")
        ).one()


def test_the_scheduled_round_calls_each_site_after_its_own_close(
    hotline: Hotline, adair: dict[str, str]
) -> None:
    # 948201 is a satellite abroad that closes two hours after the others (UTC+1 at 3 a.m.).
    with hotline.sessions.begin() as session:
        abroad = session.scalars(select(Precinct).where(Precinct.precinct_id == "948201")).one()
        local = datetime(2020, 2, 4, 3, 0, tzinfo=timezone(timedelta(hours=1)))
        abroad.closes_at = local.astimezone(UTC)  # as `hotline precincts import` stores it
    closes = datetime(2020, 2, 3, 19, 0, tzinfo=timezone(timedelta(hours=-6)))  # 01:00 UTC
    jobs.commit_report(payload())  # 948199 reported in time
    with hotline.sessions.begin() as session:
        early = closes + timedelta(minutes=29)
        assert outbound.start_scheduled(session, early, closes, 30) == 0
        assert outbound.start_scheduled(session, closes + timedelta(minutes=30), closes, 30) == 1
        # Asked again, nobody joins twice.
        assert outbound.start_scheduled(session, closes + timedelta(minutes=40), closes, 30) == 0
    assert [a.precinct_id for a in attempts(hotline)] == ["948200"]
    with hotline.sessions.begin() as session:
        later = datetime(2020, 2, 4, 2, 30, tzinfo=UTC)  # 03:30 where the satellite is
        assert outbound.start_scheduled(session, later, closes, 30) == 1
        scheduled = outbound.active_round(session)
        assert scheduled is not None and scheduled.started_by == "schedule"
        assert scheduled.precincts == 2
    assert [a.precinct_id for a in attempts(hotline)] == ["948200", "948201"]


def test_a_scheduled_round_staff_stopped_stays_stopped(
    hotline: Hotline, adair: dict[str, str]
) -> None:
    closes = datetime(2020, 2, 4, 1, 0, tzinfo=UTC)
    with hotline.sessions.begin() as session:
        assert outbound.start_scheduled(session, closes + timedelta(hours=1), closes, 30) == 3
    with hotline.sessions.begin() as session:
        assert outbound.stop_round(session, "staff:rita") == 3
    with hotline.sessions.begin() as session:
        assert outbound.start_scheduled(session, closes + timedelta(hours=2), closes, 30) == 0


@pytest.fixture
def outbound_jobs_runtime(hotline: Hotline) -> Iterator[tuple[Telephony, OutboundConfig]]:
    """What `hotline worker` gives the outbound jobs (their REST client is never used here)."""
    settings = dataclasses.replace(
        hotline.settings,
        twilio_account_sid=DEV_ACCOUNT_SID,
        twilio_api_base_url="http://127.0.0.1:9",
        hotline_number=DEV_HOTLINE_NUMBER,
    )
    telephony = TwilioCalls(rest_client(settings, timeout=1.0), request_timeout=1.0)
    given = (telephony, outbound_config(settings))
    runtime.configure_outbound(given)
    yield given
    runtime.configure_outbound(None)


def run_outbound_job(redis: Redis, *, scheduled: bool = False) -> list[object]:
    """Run the one outbound job waiting (or, with `scheduled`, the one scheduled for later)
    as a worker would, and return its arguments."""
    waiting = queue(OUTBOUND_QUEUE, redis)
    if scheduled:
        registry = waiting.scheduled_job_registry
        (job_id,) = registry.get_job_ids()
        job = Job.fetch(job_id, connection=redis, serializer=JSONSerializer)
        registry.remove(job)
    else:
        (job,) = waiting.get_jobs()
        waiting.remove(job)
    job.perform()
    return list(job.args)


def test_a_calls_end_waits_for_the_report_the_chair_made_on_it(
    hotline: Hotline,
    adair: dict[str, str],
    redis: Redis,
    outbound_jobs_runtime: tuple[Telephony, OutboundConfig],
) -> None:
    with hotline.sessions.begin() as session:
        outbound.start_round(session, "alice", NOW)
    chair = next(a for a in attempts(hotline) if a.precinct_id == "948199")
    sid = "CA" + "6" * 32
    with hotline.sessions.begin() as session:
        dialled = session.get(OutboundAttempt, chair.id)
        assert dialled is not None
        dialled.state = AttemptState.DIALING.value  # as the dialer leaves it
        outbound.record_call_status(session, chair.id, sid, "in-progress", POLICY)
    # The chair reported on the call; its commit waits for a worker (the one that took it
    # died, say) when Twilio's final status arrives.
    publish_report(ReportSubmitted(**payload(sid)), redis)
    publish_outbound("queues.outbound_jobs.record_status", (chair.id, sid, "completed"), redis)
    run_outbound_job(redis)
    (waiting,) = [a for a in attempts(hotline) if a.precinct_id == "948199"]
    assert waiting.state == AttemptState.PLACED  # not settled, and no second try
    # The report lands; the status, looked at again, settles the try with nothing to redo.
    run_worker(redis, hotline.sessions, burst=True, outbound=outbound_jobs_runtime)
    assert run_outbound_job(redis, scheduled=True)[-1] == 1
    (ended,) = [a for a in attempts(hotline) if a.precinct_id == "948199"]
    assert ended.state == AttemptState.ENDED and ended.outcome == "completed"


@pytest.mark.usefixtures("outbound_jobs_runtime")
def test_a_call_that_delivered_nothing_is_tried_again_at_once(
    hotline: Hotline, adair: dict[str, str], redis: Redis
) -> None:
    with hotline.sessions.begin() as session:
        outbound.start_round(session, "alice", NOW)
    chair = next(a for a in attempts(hotline) if a.precinct_id == "948199")
    sid = "CA" + "6" * 32
    # A report of another call, still waiting, is no reason to wait.
    publish_report(ReportSubmitted(**payload("CA" + "8" * 32)), redis)
    publish_outbound("queues.outbound_jobs.record_status", (chair.id, sid, "completed"), redis)
    run_outbound_job(redis)
    assert [(a.try_number, a.state) for a in attempts(hotline) if a.precinct_id == "948199"] == [
        (1, AttemptState.ENDED),
        (2, AttemptState.DUE),
    ]


def practice(hotline: Hotline, precinct_id: str, *, matched: bool) -> None:
    """A drill kept for `precinct_id`, as the drill line's job keeps one."""
    with hotline.sessions.begin() as session:
        session.add(
            DrillCall(
                precinct_id=precinct_id,
                call_sid=f"CA{precinct_id:0>32}"[:34] + ("m" if matched else "x"),
                caller=PHONES[precinct_id],
                started_at=NOW,
                ended_at=NOW,
                figures={},
                matched=matched,
            )
        )


def test_reminders_call_each_reachable_chair_with_no_drill_that_matched(
    hotline: Hotline, adair: dict[str, str]
) -> None:
    practice(hotline, "948199", matched=True)
    practice(hotline, "948200", matched=False)  # drilled, but keyed it wrong
    with hotline.sessions.begin() as session:
        assert outbound.start_reminders(session, "alice", NOW) == 2
    reminders = attempts(hotline)
    assert [(a.precinct_id, a.purpose, a.round_id) for a in reminders] == [
        ("948200", Purpose.REMINDER, None),
        ("948201", Purpose.REMINDER, None),
    ]
    # A second click while they are open calls nobody twice.
    with hotline.sessions.begin() as session, pytest.raises(outbound.RemindersRefused):
        outbound.start_reminders(session, "bob", NOW)
    # The hotline is in rehearsal (a new database): reminders still go to the real chairs,
    # while a round's try to the same number would not.
    allowed = frozenset({"+15155559999"})
    with hotline.sessions.begin() as session:
        for reminder in session.scalars(select(OutboundAttempt)):
            assert outbound.skip_reason(session, reminder, allowed=allowed) is None
    # 948201's chair drills before being called: skipped. 948200's chair is busy: tried again.
    practice(hotline, "948201", matched=True)
    with hotline.sessions.begin() as session:
        late = session.get(OutboundAttempt, reminders[1].id)
        assert late is not None
        assert outbound.skip_reason(session, late) is Outcome.DRILLED
        outbound.record_call_status(session, reminders[0].id, "CA" + "1" * 32, "busy", POLICY)
    with hotline.sessions.begin() as session:
        retry = session.scalars(
            select(OutboundAttempt).where(OutboundAttempt.try_number == 2)
        ).one()
        assert retry.purpose == Purpose.REMINDER and retry.precinct_id == "948200"
        # Answered (by the chair or a voicemail): the reminder was said; nothing follows.
        outbound.record_call_status(session, retry.id, "CA" + "2" * 32, "completed", POLICY)
    assert len(attempts(hotline)) == 3
    with hotline.sessions() as session:
        (event,) = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "outbound.reminders_started")
        )
        assert event.actor == "alice" and event.detail == {"precincts": 2}


def test_no_reminders_once_the_drill_line_closes_and_staff_stop_those_not_dialled(
    hotline: Hotline, adair: dict[str, str]
) -> None:
    closes = NOW + timedelta(hours=1)
    with hotline.sessions.begin() as session, pytest.raises(outbound.RemindersRefused) as refused:
        outbound.start_reminders(session, "alice", closes, drill_closes_at=closes)
    assert "closed for caucus night" in str(refused.value)
    with hotline.sessions.begin() as session:
        assert outbound.start_reminders(session, "alice", NOW, drill_closes_at=closes) == 3
    with hotline.sessions.begin() as session:
        assert outbound.stop_reminders(session, "bob", NOW) == 3
    assert {(a.state, a.outcome) for a in attempts(hotline)} == {("skipped", "stopped")}
    # Stopped, they are no longer open: reminders may start again.
    with hotline.sessions.begin() as session:
        assert outbound.start_reminders(session, "alice", NOW, drill_closes_at=closes) == 3


def test_stop_skips_the_tries_of_every_round_still_running(
    hotline: Hotline, adair: dict[str, str]
) -> None:
    # The scheduled round (its precincts join as their sites close) and one started by hand
    # may both be running: one Stop stops both.
    with hotline.sessions.begin() as session:
        assert outbound.start_scheduled(session, NOW, NOW - timedelta(hours=1), 30) == 3
        for attempt in session.scalars(select(OutboundAttempt)):
            attempt.state, attempt.outcome = AttemptState.ENDED.value, "busy"
    with hotline.sessions.begin() as session:
        outbound.start_round(session, "alice", NOW)
    with hotline.sessions.begin() as session:
        # A precinct reaches its close meanwhile and joins the scheduled round.
        session.add(
            OutboundAttempt(
                purpose=Purpose.STRAGGLER.value,
                round_id=session.scalars(
                    select(OutboundRound.id).order_by(OutboundRound.id)
                ).first(),
                precinct_id="948201",
                to_number=PHONES["948201"],
                due_at=NOW,
                created_at=NOW,
            )
        )
    with hotline.sessions.begin() as session:
        assert outbound.stop_round(session, "bob", NOW) == 4
    with hotline.sessions() as session:
        rounds = session.scalars(select(OutboundRound)).all()
    assert len(rounds) == 2 and all(r.stopped_by == "bob" for r in rounds)
    assert not [a for a in attempts(hotline) if a.state == AttemptState.DUE]


def test_a_quarantined_report_leaves_the_precinct_outstanding(
    hotline: Hotline, adair: dict[str, str]
) -> None:
    jobs.commit_report(payload(stir_verstat="No-TN-Validation"))
    with hotline.sessions.begin() as session:
        report = session.get(Report, payload()["report_id"])
        assert report is not None
        report.status = "quarantined"  # the chair said on the callback it was not theirs
    with hotline.sessions.begin() as session:
        assert outbound.precinct_has_reported(session, "948199") is False
        assert "948199" in {p.precinct_id for p in outbound.outstanding_precincts(session)}


def test_a_try_to_a_chair_phone_staff_since_replaced_is_never_dialled(
    hotline: Hotline, adair: dict[str, str]
) -> None:
    with hotline.sessions.begin() as session:
        outbound.start_round(session, "alice", NOW)
    with hotline.sessions.begin() as session:
        precinct = session.scalars(select(Precinct).where(Precinct.precinct_id == "948200")).one()
        precinct.chair_phone = "+15155550999"  # a substitute chair
    with hotline.sessions.begin() as session:
        old = session.scalars(
            select(OutboundAttempt).where(OutboundAttempt.precinct_id == "948200")
        ).one()
        assert outbound.skip_reason(session, old) is Outcome.PHONE_CHANGED


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_starts_at_once_make_one_round(hotline: Hotline, adair: dict[str, str]) -> None:
    both_in = threading.Barrier(2)
    outcomes: list[str] = []

    def start(by: str) -> None:
        try:
            with hotline.sessions.begin() as session:
                both_in.wait(timeout=10)
                outbound.start_round(session, by, NOW)
            outcomes.append("started")
        except outbound.RoundRunning:
            outcomes.append("refused")

    clicks = [threading.Thread(target=start, args=(by,)) for by in ("alice", "bob")]
    for click in clicks:
        click.start()
    for click in clicks:
        click.join(timeout=30)
    assert sorted(outcomes) == ["refused", "started"]
    with hotline.sessions() as session:
        assert len(session.scalars(select(OutboundRound)).all()) == 1


def _callback_requested(precinct_id: str = "948200", call: int = 1) -> CallbackRequested:
    return CallbackRequested(
        call_sid=f"CA{call:032d}",
        precinct_id=precinct_id,
        chair_phone=PHONES[precinct_id],
        at=NOW.isoformat(),
    )


def _end_try(hotline: Hotline, attempt_id: int) -> None:
    with hotline.sessions.begin() as session:
        attempt = session.get(OutboundAttempt, attempt_id)
        assert attempt is not None
        attempt.state = AttemptState.ENDED.value
        attempt.outcome = Outcome.NO_ANSWER.value


def test_a_blocked_chair_phone_gets_one_callback_at_a_time_and_a_few_a_night(
    hotline: Hotline, adair: dict[str, str]
) -> None:
    done = []
    for call in range(1, 3 + CALLBACKS_PER_PRECINCT * 2):
        with hotline.sessions.begin() as session:
            done.append(outbound.request_callback(session, _callback_requested(call=call), NOW))
        tries = attempts(hotline)
        if done[-1] == "queued":
            _end_try(hotline, tries[-1].id)  # unanswered: the next request may queue again
    assert done.count("queued") == CALLBACKS_PER_PRECINCT
    assert done[CALLBACKS_PER_PRECINCT:] == ["limit"] * (len(done) - CALLBACKS_PER_PRECINCT)
    tries = attempts(hotline)
    assert [(a.purpose, a.precinct_id, a.to_number, a.round_id) for a in tries] == [
        (Purpose.CALLBACK, "948200", PHONES["948200"], None)
    ] * CALLBACKS_PER_PRECINCT
    with hotline.sessions() as session:
        audited = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "outbound.callback_requested")
        ).all()
        assert [event.detail["callback"] for event in audited] == [1, 2, 3]


def test_a_callback_is_not_queued_twice_nor_for_a_precinct_that_reported(
    hotline: Hotline, adair: dict[str, str]
) -> None:
    with hotline.sessions.begin() as session:
        assert outbound.request_callback(session, _callback_requested(call=1), NOW) == "queued"
        assert (
            outbound.request_callback(session, _callback_requested(call=2), NOW) == "already_queued"
        )
    jobs.commit_report(payload())  # 948199 has reported
    with hotline.sessions.begin() as session:
        assert outbound.request_callback(session, _callback_requested("948199"), NOW) == "reported"
        moved = dataclasses.replace(_callback_requested("948201"), chair_phone="+15155550999")
        assert outbound.request_callback(session, moved, NOW) == "phone_changed"
    assert len(attempts(hotline)) == 1
