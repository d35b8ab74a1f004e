"""0 at a menu asks for a member of staff: the flow asks the web tier to put the call
through (or says when staff answer), and leaves the call at the same step."""

from __future__ import annotations

import pytest

from callflows import flow, prompts
from callflows.events import StaffRequested, decode, encode
from callflows.flow import Context, EndReason, StaffDesk, Turn
from callflows.state import CHANCE, CONFIRM, PIN, PRECINCT, RESUME, CallState, Progress
from tests.callflows.test_flow import BALLOT, DELEGATES, FIRST, Call, FakeServices

NOW = "2020-02-03T20:00:00+00:00"
ON_DUTY = StaffDesk(on_duty=True, hours="until 1 a.m.")


def context(staff: StaffDesk = ON_DUTY, services: FakeServices | None = None) -> Context:
    return Context(BALLOT, services or FakeServices(), NOW, staff=staff)


def at_step(step: str, **fields: object) -> CallState:
    groups = len(BALLOT.groups)
    state = CallState(call_sid="CA1", caller="+15155550123", step=step, seq=7)
    if step != PRECINCT:
        state.precinct_id, state.precinct_name = "948199", "1NW ADAIR"
    if step not in (PRECINCT, PIN):
        state.authenticated = True
        state.figures = {block: [1] * groups for block in ("first", "final", "delegates")}
    for name, value in fields.items():
        setattr(state, name, value)
    return state


def staff_requested(turn: Turn) -> StaffRequested:
    (event,) = turn.events
    assert isinstance(event, StaffRequested)
    return event


MENUS = [PRECINCT, PIN, RESUME, "fix/first", CONFIRM]


@pytest.mark.parametrize("step", MENUS)
@pytest.mark.parametrize("keys", ["0", "0#"])
def test_zero_at_a_menu_puts_the_caller_through_and_keeps_the_step(step: str, keys: str) -> None:
    state = at_step(step)
    turn = flow.answer(state, keys, context())

    assert turn.connect_staff
    assert turn.say == (prompts.CONNECTING_TO_STAFF,)
    assert turn.state.step == step
    assert turn.prompt is not None and turn.prompt.step == step
    assert turn.end_reason is None
    assert turn.state.errors == state.errors
    event = staff_requested(turn)
    assert (event.call_sid, event.step, event.at, event.on_duty) == ("CA1", step, NOW, True)
    assert event.precinct_id == state.precinct_id
    assert decode(event.kind, encode(event)) == event


def test_zero_at_the_chance_question_asks_for_staff() -> None:
    # Adair 1NW's worksheet: Buttigieg and Klobuchar tie for a delegate decided by lot.
    call = Call()
    call.ctx = context(services=call.services)
    call.sign_in()
    call.key_block(FIRST)
    call.key_block(FIRST)
    asked = call.key_block(DELEGATES)
    assert asked.prompt is not None and asked.prompt.step == CHANCE

    turn = call.key("0")
    assert turn.connect_staff and turn.state.step == CHANCE
    assert staff_requested(turn).step == CHANCE
    back = flow.staff_call_ended(turn.state, call.ctx, answered=False)
    assert back.prompt is not None and back.prompt.text == asked.prompt.text
    call.turn = back
    assert call.key("2").state.step == CONFIRM


def test_nobody_on_duty_hears_when_staff_answer_and_the_same_question() -> None:
    off = StaffDesk(on_duty=False, hours="from 6 p.m. to 1 a.m.")
    turn = flow.answer(at_step(PIN), "0", context(off))

    assert not turn.connect_staff
    assert turn.say == (
        "Nobody from staff is available now. Staff answer from 6 p.m. to 1 a.m. "
        "Please call back then, or keep going.",
    )
    assert turn.state.step == PIN and turn.prompt is not None and turn.prompt.step == PIN
    assert staff_requested(turn).on_duty is False


def test_nobody_on_duty_and_no_hours_configured_says_call_back_later() -> None:
    turn = flow.answer(at_step(PRECINCT), "0#", context(StaffDesk()))
    assert turn.say == (
        "Nobody from staff is available now. Please call back later, or keep going.",
    )
    assert staff_requested(turn).precinct_id is None


@pytest.mark.parametrize("step", ["figure/first/1", "figure/delegates/3", "total/final"])
def test_zero_at_a_figure_or_total_is_a_figure(step: str) -> None:
    turn = flow.answer(at_step(step), "0", context())
    assert not turn.connect_staff
    assert turn.events == () or not any(isinstance(e, StaffRequested) for e in turn.events)
    assert turn.state.step != step or turn.state.errors == 0


def test_zero_pound_keys_zero_for_a_group() -> None:
    turn = flow.answer(at_step("figure/first/1"), "0", context())
    assert turn.state.figures["first"][0] == 0
    assert turn.state.step == "figure/first/2"


def test_zero_on_a_call_the_hotline_placed_is_no_staff_request() -> None:
    state = at_step("offer")
    turn = flow.answer(state, "0", context())
    assert not turn.connect_staff and turn.events == ()


def test_staff_call_unanswered_asks_the_same_question_again() -> None:
    ctx = context()
    asked = flow.answer(at_step(CONFIRM), "0", ctx)
    back = flow.staff_call_ended(asked.state, ctx, answered=False)

    assert back.say[0] == prompts.STAFF_NO_ANSWER
    assert back.state.step == CONFIRM and back.prompt is not None
    assert back.prompt.text == prompts.ASK_CONFIRM
    assert back.state.seq == asked.state.seq + 1
    # The chair goes on from there: 1 submits.
    submitted = flow.answer(back.state, "1", ctx)
    assert submitted.end_reason is EndReason.SUBMITTED


def test_staff_call_answered_ends_the_call_with_thanks() -> None:
    ctx = context()
    asked = flow.answer(at_step(RESUME), "0", ctx)
    done = flow.staff_call_ended(asked.state, ctx, answered=True)
    assert done.prompt is None and done.end_reason is EndReason.STAFF
    assert done.say == (prompts.SAVED_CALL_BACK, prompts.STAFF_CALL_OVER)

    unauthenticated = flow.answer(at_step(PRECINCT), "0", ctx)
    ended = flow.staff_call_ended(unauthenticated.state, ctx, answered=True)
    assert ended.say == (prompts.STAFF_CALL_OVER,)


def test_a_call_may_ask_for_staff_twice_then_zero_is_an_unusable_entry() -> None:
    ctx = context()
    state = at_step(PRECINCT)
    for _ in range(flow.MAX_STAFF_REQUESTS):
        turn = flow.answer(state, "0", ctx)
        assert turn.connect_staff
        state = flow.staff_call_ended(turn.state, ctx, answered=False).state
    turn = flow.answer(state, "0", ctx)
    assert not turn.connect_staff and turn.events == ()
    assert turn.say == (prompts.STAFF_ALREADY_ASKED,)
    assert turn.state.errors == 1


def test_resume_progress_is_untouched_by_a_staff_request() -> None:
    services = FakeServices(progress={"948199": Progress("figure/final/2", {}, {}, {})})
    turn = flow.answer(at_step(RESUME), "0", context(services=services))
    assert turn.state.step == RESUME
