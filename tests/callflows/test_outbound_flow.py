"""Calls the hotline places, as data in and out: the offer to report and the verification
question (callflows.flow start_offer / start_verification)."""

from __future__ import annotations

from callflows import flow, prompts
from callflows.events import ReportSubmitted, ReportVerified
from callflows.flow import EndReason, Turn
from callflows.state import DONE
from callflows.trust import Trust, report_trust
from tests.callflows.test_flow import ADAIR_1NW, DELEGATES, FIRST, Call, FakeServices

CHAIR = "+15155550123"


class PlacedCall(Call):
    """A call the hotline placed to the chair's phone, driven one answer at a time."""

    def __init__(self, turn_for: str = "offer") -> None:
        super().__init__(FakeServices())
        if turn_for == "offer":
            self.turn = flow.start_offer("CA2", CHAIR, ADAIR_1NW, self.ctx)
        else:
            self.turn = flow.start_verification(
                "CA3", CHAIR, ADAIR_1NW, "report-1", "104402", self.ctx
            )


def asked(turn: Turn) -> str:
    assert turn.prompt is not None
    return turn.prompt.text


def test_the_offer_names_the_precinct_and_asks_for_1() -> None:
    call = PlacedCall()
    assert asked(call.turn) == prompts.offer_to_report("1NW ADAIR")
    assert "calling for precinct 1NW ADAIR" in asked(call.turn)
    assert call.state.caller == CHAIR and call.state.reached_by_hotline


def test_pressing_1_goes_to_the_pin_and_the_report_is_marked_reached_by_the_hotline() -> None:
    call = PlacedCall()
    turn = call.key("1")
    assert turn.prompt is not None and turn.prompt.step == "pin"
    call.key("123456")
    call.key_block(FIRST)
    call.key_block(FIRST)
    call.key_block(DELEGATES)
    call.key("2")
    (event,) = call.key("1").events
    assert isinstance(event, ReportSubmitted)
    assert event.reached_by_hotline and event.caller == CHAIR and event.precinct_id == "948199"


def test_a_wrong_key_at_the_offer_is_told_to_press_1() -> None:
    call = PlacedCall()
    turn = call.key("5")
    assert turn.say == (prompts.PRESS_ONE_TO_REPORT,)
    assert turn.prompt is not None and turn.prompt.step == "offer"


def test_silence_at_the_offer_ends_saying_the_hotline_will_try_again() -> None:
    call = PlacedCall()
    call.key(None)
    call.key(None)
    turn = call.key(None)
    assert turn.prompt is None and turn.end_reason is EndReason.SILENCE
    assert prompts.OFFER_CALL_BACK in turn.say


def test_the_verification_question_reads_the_receipts_last_three_digits() -> None:
    call = PlacedCall("verify")
    assert "receipt ending in 4 0 2" in asked(call.turn)
    assert "Press 1 if you made it. Press 2 if you did not." in asked(call.turn)


def test_1_confirms_and_2_denies_the_report() -> None:
    for key, confirmed, goodbye in (
        ("1", True, prompts.VERIFIED_YES),
        ("2", False, prompts.VERIFIED_NO),
    ):
        call = PlacedCall("verify")
        turn = call.key(key)
        assert turn.prompt is None and turn.end_reason is EndReason.VERIFIED
        assert turn.say == (goodbye,)
        (event,) = turn.events
        assert event == ReportVerified("report-1", "CA3", confirmed, call.ctx.now)


def test_anything_else_at_the_verification_question_asks_again() -> None:
    call = PlacedCall("verify")
    turn = call.key("8")
    assert turn.say == (prompts.PRESS_ONE_OR_TWO,) and not turn.events
    assert turn.prompt is not None and turn.prompt.step == "verify"


def test_a_call_the_hotline_placed_to_the_chair_phone_is_verified_and_no_other() -> None:
    assert report_trust(CHAIR, CHAIR, "", reached_by_hotline=True) is Trust.VERIFIED
    assert report_trust(CHAIR, CHAIR, "") is Trust.UNATTESTED
    assert report_trust("+15155550999", CHAIR, "", reached_by_hotline=True) is Trust.OTHER_NUMBER
    assert report_trust(CHAIR, "", "", reached_by_hotline=True) is Trust.NO_CHAIR_PHONE


def test_a_reminder_says_the_drill_number_twice_and_offers_it_again() -> None:
    call = Call(FakeServices())
    call.turn = flow.start_reminder("CA4", CHAIR, ADAIR_1NW, "+15155550199", call.ctx)
    said = asked(call.turn)
    assert "precinct 1NW ADAIR" in said and said.endswith(prompts.REMIND_AGAIN)
    assert said.count("5 1 5 5 5 5 0 1 9 9") == 2
    assert call.state.reached_by_hotline and call.state.step == "remind"
    # 1 says it again (a few times at most); anything else, or silence, says goodbye.
    for _ in range(flow.MAX_REMINDER_REPEATS):
        assert asked(call.key("1")) == said
    assert call.key("1").end_reason is EndReason.REMINDED
    assert call.turn.say == (prompts.REMINDED_GOODBYE,) and call.state.step == DONE
    for keyed in ("8", None):
        call.turn = flow.start_reminder("CA5", CHAIR, ADAIR_1NW, "+15155550199", call.ctx)
        assert call.key(keyed).end_reason is EndReason.REMINDED
