"""Placing calls against the app through the Twilio stand-in, as Twilio would."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence

from flask.testing import FlaskClient
from twilio.request_validator import RequestValidator

from callflows.ballots import Ballot
from callflows.state import BLOCKS
from callflows.trust import FULL_ATTESTATION
from flood.worksheets import Worksheet
from softphone import (
    Answer,
    CallRecord,
    Clock,
    FlaskClientTransport,
    GatherPrompt,
    Keys,
    Softphone,
    Transport,
)
from softphone.caller import never_answers
from tests.conftest import AUTH_TOKEN, PUBLIC_BASE_URL

CALLER = "+15155550123"
"""The number `place_call` calls from unless told otherwise: register it as a precinct's
chair phone (`import_precincts(..., chair_phones={...: CALLER})`) for its reports to commit."""


def place_call(
    client: FlaskClient,
    answer: Answer,
    *,
    from_number: str = CALLER,
    call_sid: str | None = None,
    transport: Transport | None = None,
    stir_verstat: str = FULL_ATTESTATION,
    dial_answers: Callable[[str], bool] | None = None,
    voice_path: str = "/voice",
    clock: Clock | None = None,
) -> CallRecord:
    """One call, as Twilio places it; attested at level A unless `stir_verstat` says
    otherwise ("" sends none). `dial_answers` says which numbers the call <Dial>s answer
    (by default none); `voice_path` is the dialled number's Voice URL ("/voice/drill" for
    the drill line)."""
    phone = Softphone(
        transport or FlaskClientTransport(client),
        f"{PUBLIC_BASE_URL}{voice_path}",
        AUTH_TOKEN,
        from_number=from_number,
        status_callback_url=f"{PUBLIC_BASE_URL}/voice/status",
        fallback_url=f"{PUBLIC_BASE_URL}/voice/fallback",
        call_sid=call_sid,
        extra_params={"StirVerstat": stir_verstat} if stir_verstat else None,
        dial_answers=dial_answers or never_answers,
        clock=clock,
    )
    return phone.call(answer)


def chair(
    precinct_id: str, pin: str, sheet: Worksheet, ballot: Ballot, **overrides: Keys
) -> Answer:
    """A chair who keys the worksheet exactly; `overrides` answers chosen steps differently."""
    figures = {block: sheet.block(ballot, block) for block in BLOCKS}
    return keying_chair(
        precinct_id,
        pin,
        figures,
        lambda: "".join(str(option) for option in sheet.game_winners(ballot)),
        overrides=overrides,
    )


def keying_chair(
    precinct_id: str,
    pin: str,
    figures: Mapping[str, Sequence[int]],
    chance: Callable[[], str],
    *,
    overrides: Mapping[str, Keys] | None = None,
    once: Mapping[str, Keys] | None = None,
) -> Answer:
    """A chair who keys `figures` (block -> one figure per group, in ballot order) and, at a
    game of chance, `chance()`; `overrides` answers chosen steps differently every time,
    `once` only the first time they are asked (a typo the chair then fixes, keying the block
    again)."""
    typos = dict(once or {})
    always = dict(overrides or {})

    def answer(prompt: GatherPrompt) -> Keys:
        step = prompt.step
        if step in typos:
            return typos.pop(step)
        if step in always:
            return always[step]
        kind, _, rest = step.partition("/")
        if kind == "precinct":
            return f"{precinct_id}#"
        if kind == "pin":
            return pin
        if kind == "figure":
            block, position = rest.split("/")
            return f"{figures[block][int(position) - 1]}#"
        if kind == "total":
            return f"{sum(figures[rest])}#"
        if kind == "fix":
            return "1"  # key the block again
        if kind == "chance":
            return chance()
        if kind == "confirm":
            return "1"
        raise AssertionError(f"the chair did not expect step {step!r}: {prompt.text}")

    return answer


def signed_post(
    client: FlaskClient,
    path: str,
    params: Mapping[str, str],
    *,
    token: str = AUTH_TOKEN,
    signature: str | None = None,
) -> tuple[int, str]:
    """POST one webhook as Twilio would, signed with `token` (or with `signature` as given)."""
    if signature is None:
        signature = RequestValidator(token).compute_signature(PUBLIC_BASE_URL + path, dict(params))
    response = client.post(
        path, data=dict(params), headers={"X-Twilio-Signature": signature}, base_url=PUBLIC_BASE_URL
    )
    return response.status_code, response.get_data(as_text=True)


def twiml_root(body: str) -> ET.Element:
    """A TwiML answer parsed, checked to be a <Response>."""
    root = ET.fromstring(body)
    assert root.tag == "Response"
    return root
