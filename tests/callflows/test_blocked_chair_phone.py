"""A chair's registered phone blocked from keying PINs on calls the carrier did not attest
(spoofers of its number used up its tries): the flow asks the hotline to call it back, and
PINs keyed on a call the hotline placed count apart, with attested calls."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pytest

from callflows import flow, prompts
from callflows.events import CallbackRequested
from callflows.flow import Context, EndReason, PinCheck, PrecinctInfo
from callflows.trust import FULL_ATTESTATION
from tests.callflows.test_flow import ADAIR_1NW, BALLOT, FakeServices

CHAIR = "+15155550123"
ADAIR_WITH_PHONE = replace(ADAIR_1NW, chair_phone=CHAIR)


@dataclass
class BlockedServices(FakeServices):
    """Every PIN is refused: the caller's number has used up its tries. Records whether each
    try was counted as attested."""

    attested_tries: list[bool] = field(default_factory=list)
    refusal: PinCheck = PinCheck.NUMBER_BLOCKED

    def find_precinct(self, precinct_id: str) -> PrecinctInfo | None:
        return ADAIR_WITH_PHONE if precinct_id == ADAIR_1NW.precinct_id else None

    def check_pin(self, precinct_id: str, pin: str, caller: str, attested: bool) -> PinCheck:
        self.attested_tries.append(attested)
        return self.refusal


def _blocked_call(
    caller: str,
    *,
    stir_verstat: str = "",
    drill: bool = False,
    services: BlockedServices | None = None,
) -> flow.Turn:
    """A call that keys Adair 1NW's ID, then a PIN that `services` refuses."""
    ctx = Context(BALLOT, services or BlockedServices(), "2020-02-03T21:00:00+00:00")
    begin = flow.start_drill if drill else flow.start_call
    turn = begin("CA9", caller, ctx, stir_verstat=stir_verstat)
    turn = flow.answer(turn.state, ADAIR_1NW.precinct_id, ctx)
    return flow.answer(turn.state, "123456", ctx)


def test_the_chairs_unattested_phone_once_blocked_is_called_back() -> None:
    turn = _blocked_call(CHAIR)
    assert turn.end_reason is EndReason.NUMBER_BLOCKED
    assert turn.say[-1] == prompts.NUMBER_BLOCKED_CALL_BACK
    (requested,) = turn.events
    assert requested == CallbackRequested(
        call_sid="CA9",
        precinct_id=ADAIR_1NW.precinct_id,
        chair_phone=CHAIR,
        at="2020-02-03T21:00:00+00:00",
    )


@pytest.mark.parametrize(
    ("caller", "stir_verstat"),
    [
        # Blocked on attested calls: the chair's own wrong PINs, and a callback counts with them.
        (CHAIR, FULL_ATTESTATION),
        # Another number: calling the chair would reward a prankster with a ringing phone.
        ("+15155550999", ""),
    ],
)
def test_no_callback_for_an_attested_call_or_another_number_yet_the_same_words(
    caller: str, stir_verstat: str
) -> None:
    turn = _blocked_call(caller, stir_verstat=stir_verstat)
    assert turn.end_reason is EndReason.NUMBER_BLOCKED
    # The words do not tell a prankster whether the number they show is the chair's.
    assert turn.say[-1] == prompts.NUMBER_BLOCKED_CALL_BACK
    assert turn.events == ()


def test_the_drill_line_keeps_its_plain_refusal_and_calls_nobody() -> None:
    turn = _blocked_call(CHAIR, drill=True)
    assert turn.say[-1] == prompts.NUMBER_BLOCKED
    assert turn.events == ()


def test_pins_on_a_call_the_hotline_placed_count_as_attested() -> None:
    placed = BlockedServices(refusal=PinCheck.WRONG)
    ctx = Context(BALLOT, placed, "2020-02-03T21:00:00+00:00")
    turn = flow.start_offer("CA2", CHAIR, ADAIR_WITH_PHONE, ctx)
    turn = flow.answer(turn.state, "1", ctx)
    flow.answer(turn.state, "123456", ctx)
    inbound = BlockedServices(refusal=PinCheck.WRONG)
    _blocked_call(CHAIR, services=inbound)
    assert placed.attested_tries == [True]
    assert inbound.attested_tries == [False]
