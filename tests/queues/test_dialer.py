"""The dialer against the REST stand-in as a live server, with the real `twilio` Client:
the rate, the cap on calls at once, refusals, and a create request whose answer never came.

The stand-in places the calls into the app in-process; no worker runs the jobs their
status callbacks queue, so each try stays where the dialer alone left it.
"""

from __future__ import annotations

import dataclasses
import itertools
from datetime import timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskCliRunner
from sqlalchemy import select

from ivr.hotline import Hotline
from ivr.settings import DEV_ACCOUNT_SID, DEV_HOTLINE_NUMBER
from ivr.twilio_api import TwilioCalls, outbound_config, rest_client
from models import AttemptState, OutboundAttempt, Outcome
from queues import keys, outbound
from queues.dialer import STATUS_CHECK_SECONDS, Dialer
from queues.outbound import utcnow
from softphone.rest import AnsweringChair, NoAnswer, RestStandIn
from tests.support.data import import_precincts

PHONES = {
    precinct_id: f"+15152000{index:03d}"
    for index, precinct_id in enumerate(("948199", "948200", "948201", "948202", "948203"))
}


@pytest.fixture
def adair(runner: FlaskCliRunner, tmp_path: Path, live_mode: None) -> dict[str, str]:
    """Adair's five precincts, each with a registered chair phone, the election live (in
    rehearsal the dialer calls only the rehearsal allow-list)."""
    return import_precincts(runner, tmp_path, chair_phones=PHONES)


def make_dialer(
    hotline: Hotline,
    twilio: RestStandIn,
    *,
    timeout: float = 10.0,
    calls_per_second: int = 1,
    max_calls: int = 1,
) -> Dialer:
    settings = dataclasses.replace(
        hotline.settings,
        twilio_account_sid=DEV_ACCOUNT_SID,
        twilio_api_base_url=twilio.base_url,
        hotline_number=DEV_HOTLINE_NUMBER,
        outbound_calls_per_second=calls_per_second,
        outbound_max_calls=max_calls,
    )
    telephony = TwilioCalls(rest_client(settings, timeout=timeout), request_timeout=timeout)
    return Dialer(hotline.redis, hotline.sessions, telephony, outbound_config(settings))


def tries(hotline: Hotline) -> list[OutboundAttempt]:
    with hotline.sessions() as session:
        return list(session.scalars(select(OutboundAttempt).order_by(OutboundAttempt.id)))


def start_round(hotline: Hotline) -> None:
    with hotline.sessions.begin() as session:
        outbound.start_round(session, "test")


def test_calls_go_out_no_faster_than_the_rate_and_no_more_at_once_than_the_cap(
    hotline: Hotline, adair: dict[str, str], twilio: RestStandIn
) -> None:
    for phone in PHONES.values():
        twilio.callees[phone] = AnsweringChair(lambda prompt: None)  # answers, says nothing
    start_round(hotline)
    dialer = make_dialer(hotline, twilio, calls_per_second=2, max_calls=3)
    assert dialer.tick() == 3  # the cap: the other two wait for a line
    assert dialer.tick() == 0
    created = sorted(call.created_at for call in twilio.created_calls)
    assert len(created) == 3
    # Two a second: each create arrives at least half a second after the one before.
    assert all(later - earlier >= 0.5 for earlier, later in itertools.pairwise(created))
    states = [a.state for a in tries(hotline)]
    assert states.count(AttemptState.PLACED) == 3 and states.count(AttemptState.DUE) == 2


def test_a_create_whose_answer_never_came_is_looked_up_not_dialled_again(
    hotline: Hotline, adair: dict[str, str], twilio: RestStandIn
) -> None:
    start_round(hotline)
    dialer = make_dialer(hotline, twilio, timeout=1.0)
    twilio.delay_requests(2.0)  # Twilio accepts the call but answers after our timeout
    assert dialer.tick() == 0
    (call,) = twilio.created_calls
    in_doubt = next(a for a in tries(hotline) if a.state == AttemptState.DIALING)
    assert in_doubt.call_sid is None and in_doubt.api_errors == 1
    # Until the request cannot be on its way any more, nothing more is dialled.
    twilio.delay_requests(0.0)
    assert dialer.tick() == 0 and len(twilio.created_calls) == 1
    later = utcnow() + dialer.lookup_after + timedelta(seconds=1)
    dialer.tick(later)
    adopted = next(a for a in tries(hotline) if a.id == in_doubt.id)
    assert adopted.state == AttemptState.PLACED and adopted.call_sid == call.sid
    assert [c.to for c in twilio.created_calls].count(in_doubt.to_number) == 1


def test_a_create_twilio_never_received_is_dialled_again_once(
    hotline: Hotline, adair: dict[str, str], twilio: RestStandIn
) -> None:
    start_round(hotline)
    dialer = make_dialer(hotline, twilio)
    # A 5xx: perhaps created, perhaps not; here not (the stand-in refused before creating).
    twilio.fail_requests(1, status=503, code=20500)
    assert dialer.tick() == 0
    (in_doubt,) = [a for a in tries(hotline) if a.state == AttemptState.DIALING]
    assert "20500" in in_doubt.last_error
    dialer.tick(utcnow() + dialer.lookup_after + timedelta(seconds=1))
    retried = next(a for a in tries(hotline) if a.id == in_doubt.id)
    assert retried.state == AttemptState.PLACED
    assert [c.to for c in twilio.created_calls] == [in_doubt.to_number]


def test_a_rate_limited_create_waits_and_a_refused_one_ends_the_try(
    hotline: Hotline, adair: dict[str, str], twilio: RestStandIn
) -> None:
    start_round(hotline)
    dialer = make_dialer(hotline, twilio)
    twilio.fail_requests(1, status=429, code=20429)
    assert dialer.tick() == 0
    (waiting,) = [a for a in tries(hotline) if a.api_errors]
    assert waiting.state == AttemptState.DUE and "20429" in waiting.last_error
    assert outbound.aware(waiting.due_at) > utcnow()
    # A number the account does not own as the caller ID: Twilio refuses (21210) for good.
    dialer.config = dataclasses.replace(dialer.config, from_number="+15155550199")
    dialer.tick()
    ended = [a for a in tries(hotline) if a.outcome == Outcome.ERROR]
    assert ended and "21210" in ended[0].last_error
    assert not twilio.created_calls


def test_a_late_answer_to_a_create_never_replaces_the_call_a_try_adopted(
    hotline: Hotline, adair: dict[str, str], twilio: RestStandIn
) -> None:
    start_round(hotline)
    dialer = make_dialer(hotline, twilio)
    (first, *_) = tries(hotline)
    adopted = "CA" + "a" * 32
    with hotline.sessions.begin() as session:
        attempt = session.get(OutboundAttempt, first.id)
        assert attempt is not None
        attempt.state = AttemptState.PLACED.value
        attempt.call_sid = adopted  # found by a lookup while our create request hung
    dialer._placed(first.id, "CA" + "b" * 32)
    kept = next(a for a in tries(hotline) if a.id == first.id)
    assert kept.call_sid == adopted and kept.state == AttemptState.PLACED


def test_a_dialer_never_renews_a_lock_another_dialer_holds(
    hotline: Hotline, adair: dict[str, str], twilio: RestStandIn
) -> None:
    ours, theirs = make_dialer(hotline, twilio), make_dialer(hotline, twilio)
    assert ours._hold_lock() and ours._hold_lock()  # taken, then renewed
    assert not theirs._hold_lock()
    # Ours lapsed and the other took it: renewing must neither succeed nor extend theirs.
    hotline.redis.set(keys.OUTBOUND_DIALER, theirs.token, ex=5)
    assert not ours._hold_lock()
    assert hotline.redis.ttl(keys.OUTBOUND_DIALER) <= 5
    ours._release_lock()  # not ours to release
    assert hotline.redis.get(keys.OUTBOUND_DIALER) == theirs.token.encode()


def test_one_call_at_a_time_to_a_phone(
    hotline: Hotline, adair: dict[str, str], twilio: RestStandIn
) -> None:
    for phone in PHONES.values():
        twilio.callees[phone] = NoAnswer()
    start_round(hotline)
    with hotline.sessions.begin() as session:
        # A second try for the same chair's phone (a callback, say) is due at once too.
        session.add(
            OutboundAttempt(
                purpose="straggler",
                precinct_id="948199",
                to_number=PHONES["948199"],
                due_at=utcnow(),
                created_at=utcnow(),
            )
        )
    dialer = make_dialer(hotline, twilio, calls_per_second=100, max_calls=10)
    assert dialer.tick() == len(PHONES)  # one call to each phone, the second try waits
    assert sorted(call.to for call in twilio.created_calls) == sorted(PHONES.values())
    waiting = [a for a in tries(hotline) if a.state == AttemptState.DUE]
    assert [a.to_number for a in waiting] == [PHONES["948199"]]


def test_a_call_whose_final_status_never_came_is_asked_about_and_frees_its_line(
    hotline: Hotline, adair: dict[str, str], twilio: RestStandIn
) -> None:
    """Status callbacks lost (the first entry point was down): the try would hold the
    dialer's only line for good; the dialer asks Twilio about the call instead, once an
    interval."""
    twilio.callees[PHONES["948199"]] = AnsweringChair(lambda prompt: None)  # answers, hangs up
    for phone in list(PHONES.values())[1:]:
        twilio.callees[phone] = NoAnswer()
    start_round(hotline)
    dialer = make_dialer(hotline, twilio, max_calls=1)
    asked: list[str] = []
    ask = dialer.telephony.call_status

    def counted_ask(call_sid: str) -> str:
        asked.append(call_sid)
        return ask(call_sid)

    dialer.telephony.call_status = counted_ask  # type: ignore[method-assign]
    assert dialer.tick() == 1
    twilio.wait_until_idle(timeout=30)  # the call is over; no worker recorded its status
    (first,) = [a for a in tries(hotline) if a.state == AttemptState.PLACED]
    assert dialer.tick() == 0 and asked == []  # the line is still taken, not yet asked
    check = utcnow() + timedelta(seconds=STATUS_CHECK_SECONDS + 1)
    assert dialer.tick(check) == 1  # asked; the call is over: the next chair is dialled
    ended = next(a for a in tries(hotline) if a.id == first.id)
    assert ended.state == AttemptState.ENDED and ended.call_status == "completed"
    assert asked == [first.call_sid]
    (second,) = [a for a in tries(hotline) if a.state == AttemptState.PLACED]
    # The second call (ringing, unanswered) is asked about once an interval, not every tick.
    later = check + timedelta(seconds=STATUS_CHECK_SECONDS + 1)
    dialer.tick(later)
    dialer.tick(later + timedelta(seconds=1))
    assert second.call_sid is not None and asked.count(second.call_sid) == 1
