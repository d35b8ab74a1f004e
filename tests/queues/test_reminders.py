"""Reminders to drill, end to end in one process: the dialer places them through the REST
stand-in, which plays the chairs' phones into the hotline's webhooks, and a worker runs the
jobs they queue (the answering machine's verdict moves a voicemail to its message). The
hotline is in rehearsal (a new database), as in the weeks before the night: reminders still
reach the real chairs, while the rehearsal allow-list keeps every other call out."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from flask.testing import FlaskCliRunner

from ivr.hotline import Hotline
from models import AttemptState, Purpose
from queues import outbound, runtime
from queues.dialer import Dialer
from queues.worker import run_worker
from softphone import GatherPrompt, Keys
from softphone.rest import AnsweringChair, RestStandIn, Voicemail
from tests.queues.test_dialer import PHONES, make_dialer, tries
from tests.support.data import import_precincts

DRILL_NUMBER = "+15155550142"
SPOKEN = "5 1 5 5 5 5 0 1 4 2"


@pytest.fixture
def adair(runner: FlaskCliRunner, tmp_path: Path, hotline: Hotline) -> dict[str, str]:
    """Adair's five precincts with chair phones, and a drill line to remind them of."""
    hotline.settings = replace(hotline.settings, drill_number=DRILL_NUMBER)
    return import_precincts(runner, tmp_path, chair_phones=PHONES)


def run_calls_with_a_worker(hotline: Hotline, twilio: RestStandIn, dialer: Dialer) -> None:
    """Until every call placed has ended, a worker runs the jobs its webhooks queue (in this
    thread: rq's worker needs the main thread's signals); then once more for the last."""
    outbound_jobs = (dialer.telephony, dialer.config)
    try:
        for _ in range(300):
            run_worker(hotline.redis, hotline.sessions, burst=True, outbound=outbound_jobs)
            try:
                twilio.wait_until_idle(timeout=0.2)
                break
            except TimeoutError:
                continue
        run_worker(hotline.redis, hotline.sessions, burst=True, outbound=outbound_jobs)
    finally:
        runtime.configure_outbound(None)


def test_a_chair_hears_the_drill_number_and_a_voicemail_keeps_it(
    hotline: Hotline, adair: dict[str, str], twilio: RestStandIn
) -> None:
    chair, machine, *_ = PHONES.values()
    heard: list[str] = []

    def listening_chair(prompt: GatherPrompt) -> Keys:
        heard.append(prompt.text)
        return "1" if len(heard) == 1 else None  # hears it again, then writes it down

    twilio.callees[chair] = AnsweringChair(listening_chair)
    twilio.callees[machine] = Voicemail(greeting_seconds=0.5)
    with hotline.sessions.begin() as session:
        assert outbound.start_reminders(session, "alice") == len(PHONES)
    dialer = make_dialer(hotline, twilio, calls_per_second=50, max_calls=len(PHONES))
    assert dialer.tick() == len(PHONES)
    run_calls_with_a_worker(hotline, twilio, dialer)

    assert sorted(call.to for call in twilio.created_calls) == sorted(PHONES.values())
    assert len(heard) == 2 and heard[0] == heard[1]
    assert heard[0].count(SPOKEN) == 2 and "practice line" in heard[0]
    (left,) = [twilio.call(c.sid).voicemail for c in twilio.created_calls if c.to == machine]
    assert left is not None and left.count(SPOKEN) == 2
    kept = {a.to_number: a for a in tries(hotline)}
    assert {a.purpose for a in kept.values()} == {Purpose.REMINDER}
    # The chair and the voicemail got the reminder: their tries end with nothing to redo.
    for phone in (chair, machine):
        assert kept[phone].state == AttemptState.ENDED and kept[phone].outcome == "completed"
    assert len(kept) == len(PHONES)
