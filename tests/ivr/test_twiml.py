"""The TwiML written from strings is byte for byte what twilio's builder gives.

The builder is the reference: each function below is what ivr/twiml.py did with it before
the repeating answers were written from strings, and the two are compared over generated
turns, texts and URLs (any printable text, quotes, ampersands, angle brackets, tabs,
newlines and empty strings included).
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from twilio.twiml.voice_response import Gather, VoiceResponse

from callflows.flow import Prompt, Turn
from callflows.state import CallState
from ivr import catalogue, twiml

texts = st.text(max_size=40)
languages = st.sampled_from(sorted(catalogue.LANGUAGES))


def say(parent: VoiceResponse | Gather, text: str, language: str = "en") -> None:
    """What the builder is given: the text in the call's language, with its voice."""
    spoken = catalogue.language(language)
    words = catalogue.say(text, language)
    parent.say(words, voice=spoken.voice, language=spoken.say_language)


steps = st.sampled_from(["precinct", "pin", "figure/first/2", "total/final", "confirm", "fix/x"])


def builder_turn(turn: Turn) -> str:
    response = VoiceResponse()
    if turn.prompt is None:
        for text in turn.say:
            say(response, text, turn.state.language)
        response.hangup()
        return str(response)
    prompt = turn.prompt
    extra = {} if turn.state.language == "en" else {"l": turn.state.language}
    options: dict[str, object] = {
        "input": "dtmf",
        "action": twiml.step_url(prompt.step, turn.state.seq, **extra),
        "method": "POST",
        "timeout": prompt.timeout,
        "finish_on_key": prompt.finish_on_key,
    }
    if prompt.num_digits is not None:
        options["num_digits"] = prompt.num_digits
    if prompt.finish_on_key == "#":
        options["action_on_empty_result"] = True
    gather = Gather(**options)
    for text in (*turn.say, prompt.text):
        say(gather, text, turn.state.language)
    response.append(gather)
    silence = twiml.step_url(prompt.step, turn.state.seq, **extra, silence="1")
    response.redirect(silence, method="POST")
    return str(response)


def builder_hold_and_retry(message: str, url: str, pause: int) -> str:
    response = VoiceResponse()
    say(response, message)
    response.pause(length=pause)
    response.redirect(url, method="POST")
    return str(response)


@st.composite
def turns(draw: st.DrawFn) -> Turn:
    state = CallState(
        call_sid="CA" + "0" * 32,
        caller="+15155550123",
        seq=draw(st.integers(0, 999)),
        language=draw(languages),
    )
    say = tuple(draw(st.lists(texts, max_size=3)))
    if draw(st.booleans()):
        return Turn(state=state, say=say, prompt=None)
    prompt = Prompt(
        step=draw(steps),
        text=draw(texts),
        num_digits=draw(st.none() | st.integers(1, 12)),
        finish_on_key=draw(st.sampled_from(["#", "", "*"])),
        timeout=draw(st.integers(1, 30)),
    )
    return Turn(state=state, say=say, prompt=prompt)


@settings(max_examples=400)
@given(turns())
def test_turns_are_written_as_the_builder_writes_them(turn: Turn) -> None:
    assert twiml.render_turn(turn) == builder_turn(turn)


@settings(max_examples=200)
@given(texts, st.text(max_size=60), st.integers(1, 9))
def test_holds_and_goodbyes_are_written_as_the_builder_writes_them(
    message: str, url: str, pause: int
) -> None:
    assert twiml.hold_and_retry(message, url, pause) == builder_hold_and_retry(message, url, pause)
    goodbye = VoiceResponse()
    say(goodbye, message)
    say(goodbye, url)
    goodbye.hangup()
    assert twiml.say_and_hang_up(message, url) == str(goodbye)
    announcement = VoiceResponse()
    say(announcement, message)
    announcement.pause(length=pause)
    assert twiml.hold_announcement(message, pause) == str(announcement)
