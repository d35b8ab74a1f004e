"""Screening, the hold queue, PIN abuse, quarantine and resume, through whole calls."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path

import pytest
from flask.testing import FlaskClient, FlaskCliRunner
from redis import Redis

from callflows.state import BLOCKS
from flood.worksheets import Worksheet, load_worksheets
from ivr.hotline import Hotline
from models import Report
from queues import admission, blocklist, counters
from queues.worker import run_worker
from softphone import (
    BUSY,
    COMPLETED,
    HANGUP,
    REJECTED,
    Answer,
    FlaskClientTransport,
    GatherPrompt,
    Keys,
)
from tests.support.calls import chair, place_call
from tests.support.data import import_precincts

CHAIR_PHONE = "+15155550101"
ADAIR_1NW = ("Adair", "1NW ADAIR")


@pytest.fixture
def sheet() -> Worksheet:
    return load_worksheets()[ADAIR_1NW]


@pytest.fixture
def pins(runner: FlaskCliRunner, tmp_path: Path) -> dict[str, str]:
    return import_precincts(runner, tmp_path, chair_phones={"948199": CHAIR_PHONE})


def drain(hotline: Hotline) -> None:
    run_worker(hotline.redis, hotline.sessions, burst=True)


def reports(hotline: Hotline) -> list[Report]:
    with hotline.sessions() as session:
        return list(session.query(Report).order_by(Report.received_at))


def silent(prompt: GatherPrompt) -> Keys:
    return None


def hangs_up_at(step: str, answer: Answer) -> Answer:
    """`answer`, but the line drops when the call reaches `step`."""
    return lambda prompt: HANGUP if prompt.step == step else answer(prompt)


def test_a_blocklisted_number_is_rejected_unanswered(client: FlaskClient, redis: Redis) -> None:
    redis.sadd(blocklist.REDIS_KEY, "+15155550666")
    record = place_call(client, silent, from_number="+15155550666")
    assert record.outcome == REJECTED
    assert counters.screening_counts(redis) == {"rejected:blocklisted": 1}


def test_a_repeat_dialer_hears_busy_after_the_rate_limit(client: FlaskClient, redis: Redis) -> None:
    outcomes = [
        place_call(client, lambda p: HANGUP, from_number="+15155550777").outcome for _ in range(8)
    ]
    assert outcomes[:6] == ["caller-hung-up"] * 6
    assert outcomes[6:] == [BUSY, BUSY]
    assert counters.screening_counts(redis)["busy:call_rate"] == 2


def test_silent_and_garbage_callers_are_ended_quickly_and_counted(
    client: FlaskClient, redis: Redis
) -> None:
    silent_call = place_call(client, silent, from_number="+15155550301")
    garbage = place_call(client, lambda p: "*9#", from_number="+15155550302")
    assert silent_call.outcome == garbage.outcome == COMPLETED
    assert silent_call.requests <= 5 and garbage.requests <= 5
    counts = counters.screening_counts(redis)
    assert counts["ended:silence"] == 1 and counts["ended:garbage"] == 1
    assert admission.occupancy(redis) == 0, "ended calls free their place"


def test_when_the_ivr_is_full_a_caller_holds_and_is_let_in_when_a_call_ends(
    client: FlaskClient, hotline: Hotline, pins: dict[str, str], sheet: Worksheet
) -> None:
    hotline.settings = dataclasses.replace(hotline.settings, ivr_capacity=1)
    first = FlaskClientTransport(client)
    place_call(
        client,
        lambda p: HANGUP if p.step == "pin" else "948199#",
        call_sid="CA" + "f" * 32,
        transport=first,
    )
    assert admission.occupancy(hotline.redis) == 0
    admission.admit(hotline.redis, "CA-occupier")  # a call still inside the IVR
    polls: list[str] = []

    class FreesTheSlotAfterTwoPolls(FlaskClientTransport):
        def post(
            self, url: str, params: Mapping[str, str], headers: Mapping[str, str]
        ) -> tuple[int, str]:
            if "/voice/hold" in url:
                polls.append(url)
                if len(polls) == 3:
                    admission.release(hotline.redis, "CA-occupier")
            return super().post(url, params, headers)

    answer = chair("948199", pins["948199"], sheet, hotline.ballot)
    record = place_call(
        client, answer, from_number="+15155550404", transport=FreesTheSlotAfterTwoPolls(client)
    )
    assert len(polls) == 3
    assert "You are next. Please stay on the line." in record.spoken
    assert record.outcome == COMPLETED and "Your receipt number is" in record.spoken
    assert counters.screening_counts(hotline.redis)["held:unknown"] == 1


def test_a_registered_chair_is_never_held(
    client: FlaskClient, hotline: Hotline, pins: dict[str, str], sheet: Worksheet
) -> None:
    hotline.settings = dataclasses.replace(hotline.settings, ivr_capacity=1)
    admission.admit(hotline.redis, "CA-occupier")
    record = place_call(
        client, chair("948199", pins["948199"], sheet, hotline.ballot), from_number=CHAIR_PHONE
    )
    assert record.outcome == COMPLETED
    assert "in line" not in record.spoken


def test_past_the_hold_maximum_unknown_callers_hear_busy(
    client: FlaskClient, hotline: Hotline
) -> None:
    hotline.settings = dataclasses.replace(hotline.settings, ivr_capacity=1, hold_max=1)
    admission.admit(hotline.redis, "CA-occupier")
    admission.hold_poll(hotline.redis, "CA-waiting", 1, capacity=1)
    # Unattested: an attested caller would still be queued (README "Screening").
    record = place_call(client, silent, from_number="+15155550505", stir_verstat="")
    assert record.outcome == BUSY


def test_three_wrong_pins_end_the_call_and_a_guesser_is_blocked_before_a_tenth_try(
    client: FlaskClient, hotline: Hotline, pins: dict[str, str]
) -> None:
    guesser = "+15155550606"
    heard: list[str] = []
    tries = 0

    def guess(prompt: GatherPrompt) -> Keys:
        nonlocal tries
        if prompt.step == "precinct":
            return "948200#"
        tries += 1
        return f"{tries:06d}"

    for _ in range(3):
        heard.append(place_call(client, guess, from_number=guesser).spoken)
    assert "For security, this call will end." in heard[0]
    assert tries == 7
    # Only five guesses were ever checked: from the sixth on, the number is refused unheard.
    assert counters.totals(hotline.redis)["pin_failures"] == 5
    refused = "has keyed too many wrong PINs"
    assert refused in heard[1] and refused in heard[2]


def test_a_report_made_with_a_right_pin_from_another_number_is_quarantined(
    client: FlaskClient, hotline: Hotline, pins: dict[str, str], sheet: Worksheet
) -> None:
    place_call(
        client, chair("948199", pins["948199"], sheet, hotline.ballot), from_number="+15155550707"
    )
    drain(hotline)
    (report,) = reports(hotline)
    assert report.status == "quarantined"


def test_a_second_report_is_a_duplicate_when_identical_and_a_conflict_when_not(
    client: FlaskClient, hotline: Hotline, pins: dict[str, str], sheet: Worksheet
) -> None:
    answer = chair("948199", pins["948199"], sheet, hotline.ballot)
    for _ in range(2):
        place_call(client, answer, from_number=CHAIR_PHONE)
    changed = chair(
        "948199",
        pins["948199"],
        sheet,
        hotline.ballot,
        **{"figure/first/1": "1#", "total/first": "41#", "fix/delegates": "2"},
    )
    place_call(client, changed, from_number=CHAIR_PHONE)
    drain(hotline)
    assert [r.status for r in reports(hotline)] == ["committed", "duplicate", "conflict"]


def test_a_dropped_chair_resumes_from_the_last_completed_block_even_if_redis_lost_everything(
    client: FlaskClient, hotline: Hotline, redis: Redis, pins: dict[str, str], sheet: Worksheet
) -> None:
    answer = chair("948199", pins["948199"], sheet, hotline.ballot)
    dropped = place_call(client, hangs_up_at("figure/final/3", answer), from_number=CHAIR_PHONE)
    assert dropped.outcome == "caller-hung-up"
    drain(hotline)
    redis.flushdb()  # a Redis restart without its append-only file

    back = chair("948199", pins["948199"], sheet, hotline.ballot, resume="1")
    record = place_call(client, back, from_number=CHAIR_PHONE)
    assert "You have a report in progress, stopped at Bennet, final alignment." in record.spoken
    drain(hotline)
    (report,) = reports(hotline)
    assert report.status == "committed"
    assert report.figures == {key: sheet.block(hotline.ballot, key) for key in BLOCKS}


def test_a_dropped_chair_resumes_at_the_last_figure_when_redis_kept_it(
    client: FlaskClient, hotline: Hotline, pins: dict[str, str], sheet: Worksheet
) -> None:
    answer = chair("948199", pins["948199"], sheet, hotline.ballot)
    place_call(client, hangs_up_at("figure/final/3", answer), from_number=CHAIR_PHONE)
    record = place_call(
        client,
        chair("948199", pins["948199"], sheet, hotline.ballot, resume="1"),
        from_number=CHAIR_PHONE,
    )
    assert "stopped at Bloomberg, final alignment." in record.spoken
    assert record.outcome == COMPLETED


def test_a_report_in_progress_is_never_offered_to_another_phone_with_the_pin(
    client: FlaskClient, hotline: Hotline, pins: dict[str, str], sheet: Worksheet
) -> None:
    answer = chair("948199", pins["948199"], sheet, hotline.ballot)
    place_call(client, hangs_up_at("figure/final/3", answer), from_number=CHAIR_PHONE)
    drain(hotline)
    other = place_call(
        client,
        lambda p: HANGUP if p.step.startswith("figure") else answer(p),
        from_number="+15155550909",
    )
    assert "in progress" not in other.spoken
    back = place_call(
        client,
        chair("948199", pins["948199"], sheet, hotline.ballot, resume="1"),
        from_number=CHAIR_PHONE,
    )
    assert "stopped at Bloomberg, final alignment." in back.spoken
