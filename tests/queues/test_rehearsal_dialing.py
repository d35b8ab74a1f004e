"""The outbound caller in rehearsal: at dial time, only numbers on the rehearsal allow-list
(HOTLINE_REHEARSAL_PHONES) are dialled, whenever and however their tries were made due."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from flask.testing import FlaskCliRunner

from ivr.cli import cli
from ivr.hotline import Hotline
from models import AttemptState, Mode, Outcome
from queues import election_mode
from queues.dialer import Dialer
from softphone.rest import AnsweringChair, RestStandIn
from tests.queues.test_dialer import PHONES, make_dialer, start_round, tries
from tests.support.data import import_precincts

STAFF_PHONE = PHONES["948199"]
"""A rehearsal's chair phone that is a member of staff's (on the allow-list)."""


@pytest.fixture
def adair(runner: FlaskCliRunner, tmp_path: Path) -> dict[str, str]:
    """Adair's five precincts with registered chair phones, the election in rehearsal."""
    return import_precincts(runner, tmp_path, chair_phones=PHONES)


def rehearsal_dialer(hotline: Hotline, twilio: RestStandIn) -> Dialer:
    dialer = make_dialer(hotline, twilio, max_calls=5, calls_per_second=5)
    dialer.config = dataclasses.replace(dialer.config, rehearsal_phones=frozenset({STAFF_PHONE}))
    return dialer


def test_in_rehearsal_only_the_allow_list_is_dialled(
    hotline: Hotline, adair: dict[str, str], twilio: RestStandIn
) -> None:
    for phone in PHONES.values():
        twilio.callees[phone] = AnsweringChair(lambda prompt: None)
    start_round(hotline)
    dialer = rehearsal_dialer(hotline, twilio)
    assert dialer.tick() == 1
    assert [call.to for call in twilio.created_calls] == [STAFF_PHONE]
    ended = {a.to_number: (a.state, a.outcome) for a in tries(hotline)}
    assert ended.pop(STAFF_PHONE)[0] == AttemptState.PLACED
    assert set(ended.values()) == {(AttemptState.SKIPPED, Outcome.REHEARSAL)}
    assert all(a.rehearsal for a in tries(hotline))


def test_tries_made_due_while_live_are_not_dialled_once_back_in_rehearsal(
    hotline: Hotline, adair: dict[str, str], twilio: RestStandIn, runner: FlaskCliRunner
) -> None:
    assert runner.invoke(cli, ["mode", "live", "--by", "rita"]).exit_code == 0
    start_round(hotline)
    assert not any(a.rehearsal for a in tries(hotline))
    # Back to rehearsal before the dialer's next pass (no report exists, so it is allowed).
    assert runner.invoke(cli, ["mode", "rehearsal", "--by", "rita"]).exit_code == 0
    assert election_mode.current(hotline.redis, hotline.sessions) is Mode.REHEARSAL
    dialer = rehearsal_dialer(hotline, twilio)
    assert dialer.tick() == 1
    assert [call.to for call in twilio.created_calls] == [STAFF_PHONE]
    outcomes = [a.outcome for a in tries(hotline) if a.to_number != STAFF_PHONE]
    assert outcomes == [Outcome.REHEARSAL] * 4
