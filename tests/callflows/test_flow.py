"""The call flow as data in, data out: no server, no Redis, no database."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from callflows import flow, prompts
from callflows.ballots import load_ballot
from callflows.events import ReportSubmitted
from callflows.flow import Context, PinCheck, PrecinctInfo, Turn
from callflows.keypad import EntryError
from callflows.state import CallState, Progress

BALLOT = load_ballot("iowa2020")
GROUPS = len(BALLOT.groups)
ADAIR_1NW = PrecinctInfo("948199", "1NW ADAIR", "Adair", 8)
# Adair "1NW ADAIR" in 2020: Biden 6, Buttigieg 8, Klobuchar 8, Sanders 9, Warren 9.
FIRST = [0, 6, 0, 8, 0, 8, 0, 9, 0, 9, 0, 0]
DELEGATES = [0, 1, 0, 1, 0, 2, 0, 2, 0, 2, 0, 0]


def ends_call(turn: Turn) -> bool:
    """The turn hangs up: nothing is asked after what it says."""
    return turn.prompt is None


@dataclass
class FakeServices:
    pins: dict[str, str] = field(default_factory=lambda: {"948199": "123456"})
    progress: dict[str, Progress] = field(default_factory=dict)
    receipts: int = 0

    def find_precinct(self, precinct_id: str) -> PrecinctInfo | None:
        return ADAIR_1NW if precinct_id == "948199" else None

    def check_pin(self, precinct_id: str, pin: str, caller: str, attested: bool) -> PinCheck:
        return PinCheck.RIGHT if self.pins.get(precinct_id) == pin else PinCheck.WRONG

    def new_receipt(self) -> str:
        self.receipts += 1
        return f"{self.receipts:06d}"

    def saved_progress(self, precinct_id: str, caller: str) -> Progress | None:
        return self.progress.get(precinct_id)


class Call:
    """Drives the flow one answer at a time, as the web tier would."""

    def __init__(self, services: FakeServices | None = None) -> None:
        self.services = services or FakeServices()
        self.ctx = Context(BALLOT, self.services, "2020-02-03T20:00:00+00:00")
        self.turn = flow.start_call("CA1", "+15155550123", self.ctx)

    @property
    def state(self) -> CallState:
        return self.turn.state

    def key(self, digits: str | None) -> Turn:
        self.turn = flow.answer(self.turn.state, digits, self.ctx)
        return self.turn

    def key_all(self, *entries: str) -> Turn:
        for entry in entries:
            self.key(entry)
        return self.turn

    def sign_in(self) -> Turn:
        return self.key_all("948199", "123456")

    def key_block(self, values: list[int], total: int | None = None) -> Turn:
        self.key_all(*(str(v) for v in values))
        return self.key(str(sum(values) if total is None else total))

    def key_worksheet(self) -> Turn:
        """Adair 1NW's three blocks; Klobuchar (the 2nd of the tied groups) won the lot."""
        self.key_block(FIRST)
        self.key_block(FIRST)
        self.key_block(DELEGATES)
        return self.key("2")


def test_a_call_starts_by_asking_for_the_precinct() -> None:
    call = Call()
    assert call.turn.say == (prompts.GREETING, prompts.language_offer("es"))
    assert call.turn.prompt is not None
    assert call.turn.prompt.step == "precinct"
    assert call.turn.prompt.finish_on_key == "#"


def test_whole_report_produces_one_submitted_event_with_the_figures() -> None:
    call = Call()
    call.sign_in()
    turn = call.key_worksheet()
    assert turn.prompt is not None and turn.prompt.step == "confirm"
    turn = call.key("1")
    assert ends_call(turn)
    (event,) = turn.events
    assert isinstance(event, ReportSubmitted)
    assert event.figures == {"first": FIRST, "final": FIRST, "delegates": DELEGATES}
    assert event.flagged == {}
    assert event.receipt == "000001"
    assert event.report_id == flow.report_id_for("CA1")
    assert event.chance == ["Klobuchar"]
    assert "Your receipt number is 0 0 0, 0 0 1." in turn.say


def test_each_figure_is_read_back_right_after_its_group_is_asked() -> None:
    call = Call()
    call.sign_in()
    turn = call.key("0")
    assert turn.say == ("0.",)
    assert turn.prompt is not None and turn.prompt.text == "Biden."
    turn = call.key("6")
    assert turn.say == ("6.",)
    assert turn.prompt is not None and turn.prompt.text == "Bloomberg."


def test_unknown_precinct_gets_a_specific_reprompt_and_three_end_the_call() -> None:
    call = Call()
    turn = call.key("123456")
    assert turn.say == ("I could not find precinct 1 2 3 4 5 6.",)
    assert turn.prompt is not None and turn.prompt.step == "precinct"
    call.key("123457")
    turn = call.key("123458")
    assert ends_call(turn)
    assert prompts.PRECINCT_GIVE_UP in turn.say


@pytest.mark.parametrize(
    ("digits", "message"),
    [("12", "Precinct IDs have 4 to 7 digits."), ("12345678", "Precinct IDs have 4 to 7 digits.")],
)
def test_precinct_id_of_the_wrong_length_is_explained(digits: str, message: str) -> None:
    call = Call()
    turn = call.key(digits)
    assert turn.say == (message,)
    assert call.state.id_failures == 0


def test_wrong_pin_says_how_many_tries_are_left_and_the_third_ends_the_call() -> None:
    call = Call()
    call.key("948199")
    assert call.key("000000").say == ("That PIN is not right. You have 2 more tries.",)
    assert call.key("000001").say == ("That PIN is not right. You have 1 more try.",)
    turn = call.key("000002")
    assert ends_call(turn) and turn.say == (prompts.PIN_LOCKED_OUT,)
    assert not call.state.authenticated


def test_star_inside_a_figure_is_refused_and_nothing_is_stored() -> None:
    call = Call()
    call.sign_in()
    turn = call.key("1*2")
    assert turn.say == ("Please use only the number keys, then press pound.",)
    assert call.state.step == "figure/first/1"
    assert call.state.figures["first"] == [None] * GROUPS


def test_figure_above_9999_is_refused() -> None:
    call = Call()
    call.sign_in()
    turn = call.key("10000")
    assert turn.say == ("That is more than 9,999. Please key it again.",)
    assert call.state.figures["first"][0] is None


def test_star_alone_goes_back_one_group() -> None:
    call = Call()
    call.sign_in()
    call.key_all("0", "7")
    turn = call.key("*")
    assert turn.say == (prompts.GOING_BACK,)
    assert call.state.step == "figure/first/2"
    call.key("6")
    assert call.state.figures["first"][:2] == [0, 6]


def test_silence_reprompts_twice_then_ends_politely() -> None:
    call = Call()
    assert call.key(None).say == (prompts.NO_INPUT,)
    assert call.key(None).say == (prompts.NO_INPUT,)
    turn = call.key(None)
    assert ends_call(turn)
    assert turn.say == (prompts.SILENT_GOODBYE, prompts.GOODBYE)


def test_pound_alone_is_told_apart_from_silence() -> None:
    call = Call()
    turn = flow.answer(call.state, "", call.ctx, finished_on_key="#")
    assert turn.say == (prompts.POUND_ONLY,)
    assert turn.prompt is not None and turn.prompt.step == "precinct"
    assert turn.state.silences == 0 and turn.state.errors == 1
    assert flow.answer(call.state, None, call.ctx, finished_on_key="").say == (prompts.NO_INPUT,)


def test_pound_alone_cannot_hold_the_line_open_forever() -> None:
    call = Call()
    for _ in range(flow.MAX_ENTRY_ERRORS_UNAUTHENTICATED):
        call.turn = flow.answer(call.state, None, call.ctx, finished_on_key="#")
    assert ends_call(call.turn)


def test_a_prompt_repeated_after_a_hold_counts_neither_silence_nor_an_error() -> None:
    call = Call()
    call.key("948199")
    call.key(None)  # one real silence at the PIN
    before = call.state
    turn = flow.repeat_prompt(before, call.ctx)
    assert turn.prompt is not None and turn.prompt.step == "pin"
    assert turn.say == (prompts.THANKS_FOR_HOLDING,)
    assert turn.state.seq == before.seq + 1, "a new sequence number, so the retry is not stale"
    assert (turn.state.silences, turn.state.errors, turn.state.pin_failures) == (1, 0, 0)
    for _ in range(5):  # however many holds, the call is never ended for silence
        turn = flow.repeat_prompt(turn.state, call.ctx)
    assert not ends_call(turn) and before.seq == call.state.seq


def test_a_total_that_does_not_match_offers_to_rekey_keep_flagged_or_rekey_the_total() -> None:
    call = Call()
    call.sign_in()
    turn = call.key_block(FIRST, total=41)
    assert turn.prompt is not None and turn.prompt.step == "fix/first"
    assert turn.prompt.text.startswith(
        "Your first alignment figures add up to 40, but your worksheet total is 41. Press 1"
    )
    assert "3 to key the total again." in turn.prompt.text
    turn = call.key("3")
    assert call.state.step == "total/first"
    call.key("40")
    assert call.state.step == "figure/final/1"
    assert call.state.flagged == {}


def test_rekeying_a_block_clears_it() -> None:
    call = Call()
    call.sign_in()
    call.key_block(FIRST, total=41)
    turn = call.key("1")
    assert turn.say == ("Let's key the first alignment again.",)
    assert call.state.figures["first"] == [None] * GROUPS
    call.key_block(FIRST)
    assert call.state.step == "figure/final/1"


def test_keeping_a_mismatched_block_flags_it_in_the_report() -> None:
    call = Call()
    call.sign_in()
    call.key_block(FIRST, total=41)
    call.key("2")
    call.key_block(FIRST)
    call.key_block(DELEGATES)
    call.key("2")
    turn = call.key("1")
    (event,) = turn.events
    assert isinstance(event, ReportSubmitted)
    assert event.flagged == {"first": "total_mismatch"}
    assert event.totals["first"] == 41


def test_read_back_names_each_group_with_supporters_then_offers_the_menu_again() -> None:
    call = Call()
    call.sign_in()
    call.key_worksheet()
    turn = call.key("2")
    assert turn.say[0] == (
        "First alignment: Biden 6, Buttigieg 8, Klobuchar 8, Sanders 9, Warren 9. "
        "All others 0. Total 40."
    )
    assert turn.prompt is not None and turn.prompt.step == "confirm"


def test_start_over_from_confirm_clears_every_block_but_keeps_the_receipt() -> None:
    call = Call()
    call.sign_in()
    call.key_worksheet()
    receipt = call.state.receipt
    call.key("3")
    assert call.state.step == "figure/first/1"
    assert all(v is None for values in call.state.figures.values() for v in values)
    assert call.state.receipt == receipt


def test_a_chair_with_saved_progress_is_offered_to_resume() -> None:
    services = FakeServices()
    first = Call(services)
    first.sign_in()
    first.key_block(FIRST)
    first.key_all("0", "6")
    services.progress["948199"] = Progress.of(first.state)

    second = Call(services)
    turn = second.sign_in()
    assert turn.say[-1] == "You have a report in progress, stopped at Bloomberg, final alignment."
    assert turn.prompt is not None and turn.prompt.step == "resume"
    second.key("1")
    assert second.state.step == "figure/final/3"
    assert second.state.figures["first"] == FIRST


def test_a_resumed_chair_may_start_over_instead() -> None:
    services = FakeServices()
    first = Call(services)
    first.sign_in()
    first.key_all("3", "4")
    services.progress["948199"] = Progress.of(first.state)
    second = Call(services)
    second.sign_in()
    second.key("2")
    assert second.state.step == "figure/first/1"
    assert second.state.figures["first"] == [None] * GROUPS


def test_state_survives_a_json_round_trip() -> None:
    call = Call()
    call.sign_in()
    call.key_all("0", "6")
    assert CallState.from_json(call.state.to_json()) == call.state


def test_the_flow_never_changes_the_state_it_was_given() -> None:
    call = Call()
    call.sign_in()
    before = call.state.to_json()
    flow.answer(call.state, "5", call.ctx)
    assert call.state.to_json() == before


def test_a_tie_decided_by_lot_asks_who_won_instead_of_flagging() -> None:
    call = Call()
    call.sign_in()
    call.key_block(FIRST)
    call.key_block(FIRST)
    turn = call.key_block(DELEGATES)
    assert turn.prompt is not None and turn.prompt.step == "chance"
    assert turn.prompt.num_digits == 1
    assert turn.prompt.text.endswith(
        "Who won the game of chance? Press 1 for Buttigieg. Press 2 for Klobuchar."
    )
    assert call.key("2").prompt is not None
    assert call.state.step == "confirm" and call.state.flagged == {}


def test_a_game_of_chance_answer_that_contradicts_the_worksheet_is_a_problem() -> None:
    call = Call()
    call.sign_in()
    call.key_block(FIRST)
    call.key_block(FIRST)
    call.key_block(DELEGATES)
    turn = call.key("1")  # Buttigieg won, but the worksheet gives Klobuchar the extra delegate
    assert turn.prompt is not None and turn.prompt.step == "fix/delegates"
    assert (
        "With that result, the delegates would be Biden 1, Buttigieg 2, Klobuchar 1"
        in turn.prompt.text
    )
    assert "Press 3" not in turn.prompt.text
    call.key("2")
    assert call.state.flagged == {"delegates": "game_of_chance_mismatch"}


def test_delegates_to_a_nonviable_group_are_read_out_and_can_be_rekeyed() -> None:
    call = Call()
    call.sign_in()
    call.key_block(FIRST)
    call.key_block(FIRST)
    wrong = [0, 2, 0, 1, 0, 2, 0, 2, 0, 1, 0, 0]  # Biden (6 of 40, below 6?) gets 2
    turn = call.key_block(wrong)
    assert turn.prompt is not None and turn.prompt.step == "fix/delegates"
    call.key("1")
    call.key_block(DELEGATES)
    call.key("2")
    assert call.state.step == "confirm" and call.state.flagged == {}


def test_thousands_of_digits_are_too_large_not_a_crash() -> None:
    call = Call()
    call.sign_in()
    for digits in ("9" * 5000, "0" * 5000 + "1" * 5):
        turn = call.key(digits)
        assert prompts.entry_error(EntryError.TOO_LARGE, maximum=9999) in turn.say
