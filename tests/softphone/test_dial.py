"""<Dial> with <Number url>: the softphone calls the number, plays the whisper to whoever
answers, and reports the outcome to the Dial's action as Twilio does."""

from __future__ import annotations

import re

import pytest
from twilio.twiml.voice_response import VoiceResponse

from softphone import COMPLETED
from softphone.twiml import Dial, Number, TwimlError, UnsupportedTwimlError, parse_twiml
from tests.softphone.test_softphone import (
    CALLER,
    FakeHotline,
    say_and_hang_up,
    silent,
)

STAFF = "+15155550199"


@pytest.fixture(name="hotline")
def fake_hotline() -> FakeHotline:
    return FakeHotline()


def dial_document(*, url: str | None = "/voice/whisper?n=3", action: str | None = None) -> str:
    response = VoiceResponse()
    response.say("Connecting you.")
    dial = response.dial(action=action, timeout=20, caller_id="+15155550100")
    dial.number(STAFF, url=url)
    response.say("After the dial.")
    return str(response)


def test_dial_with_nested_numbers_is_parsed() -> None:
    verbs = parse_twiml(dial_document(action="/voice/staff-done?n=3"))
    assert verbs[1] == Dial(
        numbers=(Number(STAFF, "/voice/whisper?n=3"),),
        action="/voice/staff-done?n=3",
        timeout=20,
        caller_id="+15155550100",
    )


def test_a_bare_number_is_one_number_and_other_nouns_are_not_simulated() -> None:
    (dial,) = parse_twiml("<Response><Dial> +15155550199 </Dial></Response>")
    assert dial == Dial(numbers=(Number(STAFF),))
    with pytest.raises(UnsupportedTwimlError, match="Conference"):
        parse_twiml("<Response><Dial><Conference>room</Conference></Dial></Response>")
    with pytest.raises(TwimlError):
        parse_twiml("<Response><Dial></Dial></Response>")
    with pytest.raises(TwimlError):
        parse_twiml('<Response><Dial timeout="x">+15155550199</Dial></Response>')


def test_an_answered_dial_plays_the_whisper_to_the_callee_then_reports_completed(
    hotline: FakeHotline,
) -> None:
    hotline.routes["/voice/start"] = lambda _form: dial_document(action="/voice/done")
    whisper = VoiceResponse()
    whisper.say("A chair needs help.")
    hotline.twiml("/voice/whisper", whisper)
    hotline.twiml("/voice/done", say_and_hang_up("Thanks for calling."))

    record = hotline.phone("/voice/start", dial_answers=lambda number: number == STAFF).call(silent)

    assert record.outcome == COMPLETED
    assert record.dialed == [STAFF]
    assert record.callee_heard == ["A chair needs help."]
    assert record.heard == ["Connecting you.", "Thanks for calling."]
    (leg,) = hotline.posts_to("/voice/whisper")
    assert leg["ParentCallSid"] == record.call_sid
    assert re.fullmatch(r"CA[0-9a-f]{32}", leg["CallSid"]) and leg["CallSid"] != record.call_sid
    assert leg["To"] == STAFF and leg["From"] == "+15155550100"
    assert leg["Direction"] == "outbound-dial"
    (done,) = hotline.posts_to("/voice/done")
    assert done["CallSid"] == record.call_sid
    assert done["DialCallStatus"] == "completed"
    assert done["DialCallSid"] == leg["CallSid"]
    assert int(done["DialCallDuration"]) > 0
    assert all(r.valid_signature for r in hotline.received)


def test_by_default_nobody_answers_and_the_action_hears_no_answer(hotline: FakeHotline) -> None:
    hotline.routes["/voice/start"] = lambda _form: dial_document(action="/voice/done")
    hotline.twiml("/voice/done", say_and_hang_up("Nobody answered."))

    record = hotline.phone("/voice/start").call(silent)

    assert hotline.posts_to("/voice/whisper") == []
    (done,) = hotline.posts_to("/voice/done")
    assert done["DialCallStatus"] == "no-answer" and "DialCallDuration" not in done
    assert done["From"] == CALLER
    assert record.callee_heard == []
    assert record.heard[-1] == "Nobody answered."
    # The caller heard it ring for the whole timeout.
    assert record.duration_seconds >= 20


def test_a_dial_without_an_action_goes_on_to_the_next_verb(hotline: FakeHotline) -> None:
    hotline.routes["/voice/start"] = lambda _form: dial_document(url=None)
    record = hotline.phone("/voice/start", dial_answers=lambda _number: True).call(silent)
    assert record.heard == ["Connecting you.", "After the dial."]
    assert record.outcome == COMPLETED
