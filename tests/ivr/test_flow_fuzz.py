"""The pure call flow under Hypothesis: any keys, at any step reached by any sequence of
answers, give a turn (never an exception) that renders as TwiML and round-trips as state.

No server here (the live fuzz test is test_fuzz_webhooks.py): `start_call` and `answer`
with a fake `Services`, and `ivr.twiml.render_turn` for every turn, as the web tier does.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callflows import flow
from callflows.ballots import Ballot, load_ballot
from callflows.flow import Context, EndReason, PinCheck, PrecinctInfo, Turn
from callflows.progress import holds_figures
from callflows.state import DONE, CallState, Progress, step_block, step_kind
from ivr.twiml import render_turn

BALLOTS = (load_ballot("iowa2020"), load_ballot("iowa2020-other"))
PRECINCTS = {
    "948199": PrecinctInfo("948199", "1NW ADAIR", "Adair", 8, chair_phone="+15155550123"),
    "948200": PrecinctInfo("948200", "NO DELEGATES KNOWN", "Adair", None),
    "948201": PrecinctInfo("948201", "A SATELLITE", "Adair", None, is_satellite=True),
    "948202": PrecinctInfo("948202", "ONE DELEGATE", "Adair", 1),
}
PIN = "123456"

JUNK = st.one_of(
    st.text(max_size=30),
    st.text(alphabet="0123456789*#", max_size=20),
    st.text(alphabet="0123456789", min_size=20, max_size=3000),
    st.text(alphabet="*#", min_size=1, max_size=10),
    st.sampled_from(
        ["٣", "\uff11\uff12", "0x10", "1e5", "-1", " 1", "1 ", "+1", "00000000", "#1", "1#"]
    ),
)
"""Keys no keypad sends as well as every keypad string: the flow must refuse them calmly."""


@dataclass
class FakeServices:
    """The outside world with knobs: what a PIN check answers, and a saved report."""

    pin_outcome: PinCheck | None = None
    progress: Progress | None = None
    receipts: int = 0
    checked: list[str] = field(default_factory=list)

    def find_precinct(self, precinct_id: str) -> PrecinctInfo | None:
        return PRECINCTS.get(precinct_id)

    def check_pin(self, precinct_id: str, pin: str, caller: str, attested: bool) -> PinCheck:
        self.checked.append(pin)
        if self.pin_outcome is not None:
            return self.pin_outcome
        return PinCheck.RIGHT if pin == PIN else PinCheck.WRONG

    def new_receipt(self) -> str:
        self.receipts += 1
        return f"{self.receipts:06d}"

    def saved_progress(self, precinct_id: str, caller: str) -> Progress | None:
        return self.progress


def plausible(state: CallState, ballot: Ballot) -> list[str]:
    """Keys a chair might press at the state's step, so that calls get deep into the flow."""
    kind = step_kind(state.step)
    if kind == "precinct":
        return list(PRECINCTS)
    if kind == "pin":
        return [PIN, "000000"]
    if kind in ("resume", "confirm", "fix"):
        return ["1", "2", "3"]
    if kind == "chance":
        return [str(n) for n in range(1, len(ballot.groups) + 1)] + ["12", "21"]
    if kind == "figure":
        return ["0", "1", "5", "9", "30", "9999", "10000", "*"]
    if kind == "total":
        keyed = [v for v in state.figures.get(step_block(state.step), []) if v is not None]
        return [str(sum(keyed)), str(sum(keyed) + 1), "0", "999999", "1000000"]
    return ["1"]


def check_turn(turn: Turn) -> None:
    """What the web tier relies on after every turn."""
    document = ET.fromstring(render_turn(turn))
    assert document.tag == "Response"
    verbs = [child.tag for child in document]
    if turn.prompt is None:
        assert verbs[-1] == "Hangup" and turn.state.step == DONE
    else:
        assert verbs == ["Gather", "Redirect"] and turn.prompt.step == turn.state.step
    assert CallState.from_json(turn.state.to_json()) == turn.state
    if turn.state.step != DONE and holds_figures(turn.state.step):
        assert Progress.from_json(Progress.of(turn.state).to_json()) == Progress.of(turn.state)


def walk(data: st.DataObject, ctx: Context, stir_verstat: str, steps: int) -> Turn:
    turn = flow.start_call("CA" + "0" * 32, "+15155550123", ctx, stir_verstat=stir_verstat)
    check_turn(turn)
    for _ in range(steps):
        keys = data.draw(
            st.one_of(st.none(), st.sampled_from(plausible(turn.state, ctx.ballot)), JUNK),
            label=f"keys at {turn.state.step}",
        )
        finished = data.draw(st.sampled_from(["", "#", "*"]), label="FinishedOnKey")
        before = turn.state.copy()
        if data.draw(st.integers(0, 19), label="retried after a hold") == 0:
            turn = flow.repeat_prompt(turn.state, ctx)  # a step asked again after a hold
        else:
            turn = flow.answer(turn.state, keys, ctx, finished_on_key=finished)
        check_turn(turn)
        assert turn.state.seq == before.seq + 1
        if before.step == DONE:
            assert turn.end_reason == EndReason.ALREADY_ENDED
    return turn


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    ballot=st.sampled_from(BALLOTS),
    pin_outcome=st.sampled_from([None, None, *PinCheck]),
    stir_verstat=st.sampled_from(
        ["", "TN-Validation-Passed-A", "TN-Validation-Passed-B", "No-TN-Validation", "junk"]
    ),
    steps=st.integers(min_value=0, max_value=120),
)
def test_any_keys_at_any_reachable_step_give_a_renderable_turn(
    data: st.DataObject, ballot: Ballot, pin_outcome: PinCheck | None, stir_verstat: str, steps: int
) -> None:
    services = FakeServices(pin_outcome=pin_outcome)
    ctx = Context(ballot, services, "2020-02-03T20:00:00+00:00")
    first = walk(data, ctx, stir_verstat, steps)
    # The same chair calls back: whatever the first call left behind is offered to resume.
    if first.state.authenticated and first.state.step != DONE and holds_figures(first.state.step):
        services.progress = Progress.of(first.state)
        services.pin_outcome = None
        walk(data, ctx, stir_verstat, data.draw(st.integers(0, 80), label="call back's steps"))
    # A PIN is only ever checked as keyed: the flow never invents or pads one.
    assert all(len(pin) == 6 and pin.isdigit() and pin.isascii() for pin in services.checked)
