"""The drill as data in, data out: the practice worksheet, and a drill call through the
same flow as the night's, on the practice ballot, ending without a report."""

from __future__ import annotations

from callflows import drill, flow, prompts
from callflows.ballots import load_ballot
from callflows.caucus import allocate
from callflows.events import BlockCompleted, DrillSubmitted, ReportSubmitted
from callflows.findings import check_delegates_block, check_final_block
from callflows.flow import Context, EndReason, Turn
from callflows.state import DELEGATES, FINAL, FIRST
from tests.callflows.test_flow import FakeServices

SHEET = drill.WORKSHEET
BALLOT = drill.practice_ballot()
NAMES = [group.spoken for group in BALLOT.groups]


class DrillCall:
    """A drill call driven one answer at a time, as the web tier would."""

    def __init__(self) -> None:
        self.services = FakeServices()
        # The night's ballot, as the web tier gives it: the drill's state selects the
        # practice ballot itself.
        self.ctx = Context(load_ballot("iowa2020"), self.services, "2026-01-20T19:00:00+00:00")
        self.turn = flow.start_drill("CA1", "+15155550123", self.ctx)
        self.events: list[object] = []

    def key(self, *entries: str) -> Turn:
        for entry in entries:
            self.turn = flow.answer(self.turn.state, entry, self.ctx)
            self.events.extend(self.turn.events)
        return self.turn

    def key_block(self, values: tuple[int, ...] | list[int]) -> Turn:
        return self.key(*(str(v) for v in values), str(sum(values)))


def test_the_worksheet_exercises_viability_realignment_and_a_game_of_chance() -> None:
    first, final = SHEET.figures[FIRST], SHEET.figures[FINAL]
    allocation = allocate(SHEET.delegates_to_elect, first, final)
    assert allocation.viable.count(False) >= 1  # a group below viability...
    assert any(not v and n for v, n in zip(allocation.viable, first, strict=True))
    assert sum(final) == sum(first)  # ...whose people realigned
    (game,) = allocation.games  # a tie for a delegate
    assert game.affected == 1
    assert allocation.resolve(list(SHEET.chance_winners)) == SHEET.figures[DELEGATES]
    assert check_final_block(NAMES, first, final, SHEET.delegates_to_elect) == []
    findings = check_delegates_block(
        NAMES, first, final, list(SHEET.figures[DELEGATES]), SHEET.delegates_to_elect
    )
    assert [f.informational for f in findings] == [True]
    assert len(BALLOT.groups) == len(first) and 4 <= len(BALLOT.groups) <= 6


def test_a_drill_keys_the_practice_worksheet_and_hears_it_matched() -> None:
    call = DrillCall()
    assert call.turn.say == (prompts.DRILL_GREETING, prompts.language_offer("es"))
    call.key("948199", "123456")
    # The practice ballot's groups, not the night's (Adair 1NW elects 8; the sheet, 4).
    assert call.turn.prompt is not None and "Oak." in call.turn.prompt.text
    assert call.turn.state.delegates_to_elect == SHEET.delegates_to_elect
    call.key_block(SHEET.figures[FIRST])
    call.key_block(SHEET.figures[FINAL])
    turn = call.key_block(SHEET.figures[DELEGATES])
    assert turn.prompt is not None and turn.prompt.step == "chance"
    assert "Press 2 for Maple." in turn.prompt.text
    turn = call.key("2")
    assert turn.prompt is not None and turn.prompt.step == "confirm"
    turn = call.key("1")
    assert turn.prompt is None and turn.end_reason is EndReason.DRILLED
    assert prompts.DRILL_READY in turn.say
    assert not any(isinstance(e, ReportSubmitted | BlockCompleted) for e in call.events)
    (event,) = call.events
    assert isinstance(event, DrillSubmitted)
    assert event.matched and event.mismatched == [] and event.chance == ["Maple"]
    assert call.services.receipts == 0  # no receipt is handed out for practice


def test_a_wrong_figure_not_fixed_is_named_and_not_ready() -> None:
    call = DrillCall()
    call.key("948199", "123456")
    final = list(SHEET.figures[FINAL])
    final[1], final[2] = 22, 18  # Maple and Willow as if two people had been miscounted
    sheet = {**{b: list(v) for b, v in SHEET.figures.items()}, FINAL: final}
    turn = call.turn
    while turn.prompt is not None and turn.prompt.step != "confirm":
        kind, _, rest = turn.prompt.step.partition("/")
        if kind == "figure":
            block, position = rest.split("/")
            turn = call.key(str(sheet[block][int(position) - 1]))
        elif kind == "total":
            turn = call.key(str(sum(sheet[rest])))
        else:  # the checks object to the delegates: keep them, flagged, as a chair might
            turn = call.key("2")
    turn = call.key("1")
    assert prompts.DRILL_READY not in turn.say
    said = " ".join(turn.say)
    assert "Maple, final alignment: you keyed 22, the worksheet has 20" in said
    assert "Willow, final alignment: you keyed 18, the worksheet has 20" in said
    event = call.events[-1]
    assert isinstance(event, DrillSubmitted)
    assert not event.matched
    assert event.mismatched[:2] == ["final:Maple", "final:Willow"]
    assert "first:Oak" not in event.mismatched


def test_mismatches_name_the_block_the_group_and_the_game_of_chance() -> None:
    figures = {block: list(values) for block, values in SHEET.figures.items()}
    assert drill.mismatches(figures, list(SHEET.chance_winners)) == []
    figures[FIRST][4] = 6
    found = drill.mismatches(figures, [0])
    assert found == [
        drill.Mismatch(FIRST, 4, 6, 5),
        drill.Mismatch(drill.CHANCE, 1, 0, 1),
    ]
    assert drill.mismatch_labels(found, BALLOT) == ["first:Birch", "chance:Maple"]


def test_a_silent_drill_never_says_its_figures_are_saved() -> None:
    call = DrillCall()
    call.key("948199", "123456", "18")
    for _ in range(3):
        turn = call.key("")
    assert turn.prompt is None and turn.end_reason is EndReason.SILENCE
    assert prompts.SAVED_CALL_BACK not in turn.say
