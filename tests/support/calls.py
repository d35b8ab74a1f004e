"""Placing calls against the app through the Twilio stand-in, as Twilio would."""

from __future__ import annotations

from flask.testing import FlaskClient

from callflows.ballots import Ballot
from flood.worksheets import Worksheet
from softphone import (
    Answer,
    CallRecord,
    FlaskClientTransport,
    GatherPrompt,
    Keys,
    Softphone,
    Transport,
)
from tests.conftest import AUTH_TOKEN, PUBLIC_BASE_URL


def place_call(
    client: FlaskClient,
    answer: Answer,
    *,
    from_number: str = "+15155550123",
    call_sid: str | None = None,
    transport: Transport | None = None,
    stir_verstat: str = "",
) -> CallRecord:
    phone = Softphone(
        transport or FlaskClientTransport(client),
        f"{PUBLIC_BASE_URL}/voice",
        AUTH_TOKEN,
        from_number=from_number,
        status_callback_url=f"{PUBLIC_BASE_URL}/voice/status",
        fallback_url=f"{PUBLIC_BASE_URL}/voice/fallback",
        call_sid=call_sid,
        extra_params={"StirVerstat": stir_verstat} if stir_verstat else None,
    )
    return phone.call(answer)


def chair(
    precinct_id: str, pin: str, sheet: Worksheet, ballot: Ballot, **overrides: Keys
) -> Answer:
    """A chair who keys the worksheet exactly; `overrides` answers chosen steps differently."""

    def answer(prompt: GatherPrompt) -> Keys:
        step = prompt.step
        if step in overrides:
            return overrides[step]
        kind, _, rest = step.partition("/")
        if kind == "precinct":
            return f"{precinct_id}#"
        if kind == "pin":
            return pin
        if kind == "figure":
            block, position = rest.split("/")
            return f"{sheet.block(ballot, block)[int(position) - 1]}#"
        if kind == "total":
            return f"{sum(sheet.block(ballot, rest))}#"
        if kind == "chance":
            return "".join(str(option) for option in sheet.game_winners(ballot))
        if kind == "confirm":
            return "1"
        raise AssertionError(f"the chair did not expect step {step!r}: {prompt.text}")

    return answer
