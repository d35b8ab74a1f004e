"""The calls the hotline places during a flood, answered by the plan's chairs.

In the flood of 2020's night, pranksters spoof chairs' numbers; when they use up an
unattested chair phone's PIN tries, the hotline calls that phone back (queues.outbound,
`Purpose.CALLBACK`), and only the real chair can answer. A started stack's hotline places
those calls through the Twilio REST stand-in (softphone.rest), served here in the flood's
own process, where every chair of the plan answers a call to their phone and keys their
worksheet as they would have on their own call. What the stand-in created tells the
correctness check which reports came on a callback.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator, Sequence

from flood.personas import Chair
from ivr.settings import DEV_ACCOUNT_SID, DEV_DRILL_NUMBER, DEV_HOTLINE_NUMBER
from softphone import Answer, GatherPrompt, HttpTransport, Keys
from softphone.rest import AnsweringChair, RestStandIn
from softphone.transport import Transport

CALLS_PER_SECOND = 5
"""The stand-in account's rate of call creation (the hotline's own cap is lower)."""


@contextlib.contextmanager
def callback_line(
    auth_token: str, port: int, transport: Transport | None = None
) -> Iterator[RestStandIn]:
    """The REST stand-in on 127.0.0.1:`port` for the dev account, signing its webhooks with
    the hotline's `auth_token`; chairs answer once `answer_as` registers them."""
    with contextlib.ExitStack() as stack:
        hotline = transport or stack.enter_context(HttpTransport())
        stand_in = RestStandIn(
            hotline,
            auth_token=auth_token,
            account_sid=DEV_ACCOUNT_SID,
            numbers=(DEV_HOTLINE_NUMBER, DEV_DRILL_NUMBER),
            calls_per_second=CALLS_PER_SECOND,
            port=port,
        )
        yield stack.enter_context(stand_in)


def answer_as(stand_in: RestStandIn, chairs: Sequence[Chair]) -> None:
    """Each chair answers a call to their phone: presses 1 at the offer, then keys the PIN
    and the worksheet. A fresh copy of the chair (no typos, no dropped line), so a callback
    never shares state with the chair's own calls in progress."""
    for chair in chairs:
        keyer = Chair(
            chair.precinct_id, chair.pin, chair.sheet, chair.ballot, chair.phone,
            random.Random(0),
        )  # fmt: skip
        stand_in.callees[chair.phone] = AnsweringChair(_accepting_the_offer(keyer))


def _accepting_the_offer(chair: Chair) -> Answer:
    def answer(prompt: GatherPrompt) -> Keys:
        return "1" if prompt.step == "offer" else chair.answer(prompt)

    return answer


def called_back(stand_in: RestStandIn) -> frozenset[str]:
    """The SIDs of every call the hotline placed through the stand-in."""
    return frozenset(call.sid for call in stand_in.created_calls)
