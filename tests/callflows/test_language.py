"""Choosing the language, as data in and out: the offer at the greeting, the language key at
the precinct ID and at every menu (never at a figure or the PIN), the phone's earlier choice
and the precinct's default."""

from __future__ import annotations

from dataclasses import replace

from callflows import flow, prompts
from callflows.flow import Context, PrecinctInfo
from callflows.state import CONFIRM, PIN, PRECINCT, RESUME, Progress, figure_step
from tests.callflows.test_flow import ADAIR_1NW, BALLOT, Call, FakeServices

CHAIR = "+15155550123"
SPANISH_ADAIR = replace(ADAIR_1NW, language="es")


class SpanishDefault(FakeServices):
    """Adair 1NW with Spanish as the precinct's default language."""

    def find_precinct(self, precinct_id: str) -> PrecinctInfo | None:
        return SPANISH_ADAIR if precinct_id == "948199" else None


def test_an_english_call_hears_the_offer_of_spanish_in_spanish_and_pays_no_step_for_it() -> None:
    call = Call()
    offer = call.turn.say[-1]
    assert offer == prompts.language_offer("es") and getattr(offer, "language", None) == "es"
    assert call.state.language == "en" and call.state.step == PRECINCT
    # An English chair keys the precinct ID straight away, as before.
    assert call.key("948199").state.step == PIN


def test_nine_at_the_precinct_id_asks_again_in_spanish_and_is_remembered_as_chosen() -> None:
    call = Call()
    for keys in ("9", "9#"):
        call = Call()
        turn = call.key(keys)
        assert turn.state.language == "es" and turn.state.language_chosen
        assert turn.state.step == PRECINCT and turn.prompt is not None
        assert turn.prompt.text == prompts.ASK_PRECINCT
        assert turn.state.errors == 0 and turn.state.id_failures == 0
    # Pressed again, it goes back to English.
    assert call.key("9").state.language == "en"


def test_nine_is_a_figure_at_a_figure_and_a_wrong_pin_length_at_the_pin() -> None:
    call = Call()
    call.key("948199")
    assert call.key("9").prompt is not None and call.state.language == "en"
    assert call.state.step == PIN and call.state.errors == 1
    call.key("123456")
    assert call.state.step == figure_step("first", 1)
    call.key("9")
    assert call.state.language == "en" and call.state.figures["first"][0] == 9


def test_nine_at_every_menu_switches_and_the_same_question_is_asked_again() -> None:
    call = Call()
    call.sign_in()
    call.key_worksheet()
    assert call.state.step == CONFIRM
    asked = call.turn.prompt
    turn = call.key("9")
    assert turn.state.step == CONFIRM and turn.state.language == "es"
    assert turn.prompt == asked and turn.say == ()


def test_the_phone_s_earlier_choice_starts_the_call_and_beats_the_precinct_default() -> None:
    ctx = Context(BALLOT, SpanishDefault(), "2020-02-03T20:00:00+00:00")
    turn = flow.start_call("CA1", CHAIR, ctx, language="es")
    assert turn.state.language == "es" and turn.say[-1] == prompts.language_offer("en")
    chose_english = flow.start_call("CA2", CHAIR, ctx, language="en")
    after_id = flow.answer(chose_english.state, "948199", ctx)
    assert after_id.state.language == "en"


def test_the_precinct_default_applies_once_the_precinct_is_known() -> None:
    call = Call(SpanishDefault())
    assert call.state.language == "en"
    turn = call.key("948199")
    assert turn.state.language == "es" and not turn.state.language_chosen
    assert turn.say == (prompts.precinct_found("1NW ADAIR", "Adair", False),)


def test_calls_the_hotline_places_are_in_the_chair_s_language() -> None:
    ctx = Context(BALLOT, FakeServices(), "2020-02-03T20:00:00+00:00")
    assert flow.start_offer("CA3", CHAIR, SPANISH_ADAIR, ctx).state.language == "es"
    verify = flow.start_verification("CA4", CHAIR, ADAIR_1NW, "r1", "104402", ctx, language="es")
    assert verify.state.language == "es"
    remind = flow.start_reminder("CA5", CHAIR, SPANISH_ADAIR, "+15155550199", ctx, language="en")
    assert remind.state.language == "en"
    drill = flow.start_drill("CA6", CHAIR, ctx, language="es")
    assert drill.state.language == "es" and drill.state.drill


def test_a_resume_menu_takes_the_language_key_too() -> None:
    services = FakeServices()
    call = Call(services)
    call.sign_in()
    call.key_all("0", "6")
    services.progress["948199"] = Progress.of(call.state)
    call = Call(services)
    call.sign_in()
    assert call.state.step == RESUME
    assert call.key("9").state.language == "es" and call.state.step == RESUME
