"""TwiML as a value: the flow's turns rendered with twilio's builder, and nothing else.

Every Gather is followed by a Redirect to the same step marked `silence=1`, so a caller
who keys nothing makes a request of its own and the flow can re-prompt (or say goodbye).
A Gather that ends on pound also has actionOnEmptyResult, so pound alone reaches its action
(empty Digits, FinishedOnKey=#) and the flow can tell it from silence (empty Digits, no
FinishedOnKey), which then also reaches the action rather than the Redirect.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from urllib.parse import urlencode

from twilio.twiml.voice_response import VoiceResponse

from callflows.flow import Turn
from callflows.phrases import ENGLISH
from ivr import catalogue


def step_url(step: str, seq: int, **extra: str) -> str:
    """The action URL of a step: /voice/<step>?n=<seq>, relative so Twilio resolves it."""
    return f"/voice/{step}?{urlencode({'n': seq, **extra})}"


# The answers every call repeats (a Gather with its Says and a Redirect, a hold, a goodbye)
# are written from strings, byte for byte what twilio's builder gives for them
# (tests/ivr/test_twiml.py compares the two over generated turns): the builder goes through
# ElementTree, which cost about a tenth of a figure's webhook (`hotline capacity --profile`).
# The rarer documents below are still built with it.
_HEADER = '<?xml version="1.0" encoding="UTF-8"?><Response>'


@functools.cache
def _say_attributes(code: str) -> str:
    spoken = catalogue.language(code)
    return f'language="{spoken.say_language}" voice="{spoken.voice}"'


def _text(text: str) -> str:
    """Element text escaped as ElementTree escapes it."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attribute(value: str) -> str:
    """An attribute value escaped as ElementTree escapes it."""
    value = _text(value).replace('"', "&quot;")
    return value.replace("\r", "&#13;").replace("\n", "&#10;").replace("\t", "&#09;")


def _says(texts: Iterable[str], language: str) -> str:
    """Each text in its language (`catalogue.language_of`) and that language's voice."""
    return "".join(_say(text, catalogue.language_of(text, language)) for text in texts)


def _builder_say(response: VoiceResponse, text: str, call_language: str) -> None:
    """`_say` for the documents built with twilio's builder."""
    spoken = catalogue.language(catalogue.language_of(text, call_language))
    words = catalogue.say(text, spoken.code)
    response.say(words, voice=spoken.voice, language=spoken.say_language)


def _say(text: str, language: str) -> str:
    attributes = _say_attributes(language)
    if not text:
        return f"<Say {attributes} />"
    return f"<Say {attributes}>{_text(catalogue.say(text, language))}</Say>"


def _redirect(url: str) -> str:
    return (
        f'<Redirect method="POST">{_text(url)}</Redirect>' if url else '<Redirect method="POST" />'
    )


def render_turn(turn: Turn) -> str:
    """The TwiML for a turn of the call flow."""
    prompt = turn.prompt
    language = turn.state.language
    if prompt is None:
        return f"{_HEADER}{_says(turn.say, language)}<Hangup /></Response>"
    seq = turn.state.seq
    # The call's language rides in its URLs (ivr.voice.twilio_request.StepQuery.language).
    extra = {} if language == ENGLISH else {"l": language}
    attributes = f'action="{_attribute(step_url(prompt.step, seq, **extra))}"'
    if prompt.finish_on_key == "#":
        attributes += ' actionOnEmptyResult="true"'
    attributes += f' finishOnKey="{_attribute(prompt.finish_on_key)}" input="dtmf" method="POST"'
    if prompt.num_digits is not None:
        attributes += f' numDigits="{prompt.num_digits}"'
    attributes += f' timeout="{prompt.timeout}"'
    gather = f"<Gather {attributes}>{_says((*turn.say, prompt.text), language)}</Gather>"
    silence = _redirect(step_url(prompt.step, seq, **extra, silence="1"))
    return f"{_HEADER}{gather}{silence}</Response>"


def hold_and_retry(
    message: str, retry_url: str, pause_seconds: int = 2, *, language: str = ENGLISH
) -> str:
    """Ask the caller to hold, then request the same step again."""
    pause = f'<Pause length="{pause_seconds}" />'
    return f"{_HEADER}{_says((message,), language)}{pause}{_redirect(retry_url)}</Response>"


def say_and_hang_up(*texts: str, language: str = ENGLISH) -> str:
    return f"{_HEADER}{_says(texts, language)}<Hangup /></Response>"


# The documents that never change are built once: serializing even an empty one costs a
# status callback more than the rest of its work.
@functools.cache
def reject(reason: str = "rejected") -> str:
    """Refuse the call unanswered (free of charge): `rejected` or `busy`."""
    response = VoiceResponse()
    response.reject(reason=reason)
    return str(response)


@functools.cache
def enqueue(queue_name: str, wait_url: str, action_url: str) -> str:
    """Put the caller in the hold queue. However they leave it (our <Leave/>, or Twilio
    refusing them because its queue is full), Twilio requests `action_url` with the
    QueueResult, so no outcome falls through to a verb that would let them in unchecked."""
    response = VoiceResponse()
    response.enqueue(
        queue_name, action=action_url, method="POST", wait_url=wait_url, wait_url_method="POST"
    )
    return str(response)


def hold_announcement(text: str, pause_seconds: int) -> str:
    """One round of the wait URL: Twilio requests it again when it has played."""
    return f'{_HEADER}{_says((text,), ENGLISH)}<Pause length="{pause_seconds}" /></Response>'


@functools.cache
def leave() -> str:
    response = VoiceResponse()
    response.leave()
    return str(response)


@functools.cache
def empty() -> str:
    """An empty document: the answer to status callbacks."""
    return str(VoiceResponse())


STAFF_DIAL_TIMEOUT = 20
"""Seconds the staff phone rings before the caller hears that nobody could take the call."""
STAFF_DONE = "staff-done"
"""The <Dial> action: Twilio requests it with DialCallStatus when the call to staff ends."""
WHISPER = "whisper"
"""The <Number url>: what the member of staff hears on answering, before being connected."""


def dial_staff(turn: Turn, staff_number: str) -> str:
    """Say the turn's words, then put the caller through to `staff_number`.

    Twilio requests the <Number url> on the staff member's leg once they answer and plays
    its TwiML to them alone (the whisper: who is calling) before the two are connected;
    when the dialled call ends, or is never answered within STAFF_DIAL_TIMEOUT seconds, it
    requests the <Dial action> with DialCallStatus, carrying the call's sequence number so
    a repeated request is answered as before."""
    response = VoiceResponse()
    for text in turn.say:
        _builder_say(response, text, turn.state.language)
    seq = turn.state.seq
    dial = response.dial(
        action=step_url(STAFF_DONE, seq), method="POST", timeout=STAFF_DIAL_TIMEOUT
    )
    dial.number(staff_number, url=step_url(WHISPER, seq), method="POST")
    return str(response)


def say_only(*texts: str, language: str = ENGLISH) -> str:
    """Say `texts` and nothing else (a whisper: the call goes on when the document ends)."""
    return f"{_HEADER}{_says(texts, language)}</Response>"


def say_and_redirect(text: str, url: str, *, language: str = ENGLISH) -> str:
    """Say `text`, then send the call on to `url` (a POST, as Twilio's Voice URL)."""
    response = VoiceResponse()
    _builder_say(response, text, language)
    response.redirect(url, method="POST")
    return str(response)
