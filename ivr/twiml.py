"""TwiML as a value: the flow's turns rendered with twilio's builder, and nothing else.

Every Gather is followed by a Redirect to the same step marked `silence=1`, so a caller
who keys nothing makes a request of its own and the flow can re-prompt (or say goodbye).
A Gather that ends on pound also has actionOnEmptyResult, so pound alone reaches its action
(empty Digits, FinishedOnKey=#) and the flow can tell it from silence (empty Digits, no
FinishedOnKey), which then also reaches the action rather than the Redirect.
"""

from __future__ import annotations

import functools
from urllib.parse import urlencode

from twilio.twiml.voice_response import Gather, VoiceResponse

from callflows.flow import Prompt, Turn

VOICE = "Polly.Joanna"
LANGUAGE = "en-US"


def step_url(step: str, seq: int, **extra: str) -> str:
    """The action URL of a step: /voice/<step>?n=<seq>, relative so Twilio resolves it."""
    return f"/voice/{step}?{urlencode({'n': seq, **extra})}"


def render_turn(turn: Turn) -> str:
    """The TwiML for a turn of the call flow."""
    response = VoiceResponse()
    if turn.prompt is None:
        for text in turn.say:
            _say(response, text)
        response.hangup()
        return str(response)
    gather = _gather(turn.prompt, turn.state.seq)
    for text in (*turn.say, turn.prompt.text):
        _say(gather, text)
    response.append(gather)
    response.redirect(step_url(turn.prompt.step, turn.state.seq, silence="1"), method="POST")
    return str(response)


def _gather(prompt: Prompt, seq: int) -> Gather:
    options: dict[str, object] = {
        "input": "dtmf",
        "action": step_url(prompt.step, seq),
        "method": "POST",
        "timeout": prompt.timeout,
        "finish_on_key": prompt.finish_on_key,
    }
    if prompt.num_digits is not None:
        options["num_digits"] = prompt.num_digits
    if prompt.finish_on_key == "#":
        options["action_on_empty_result"] = True
    return Gather(**options)


def _say(parent: VoiceResponse | Gather, text: str) -> None:
    parent.say(text, voice=VOICE, language=LANGUAGE)


def hold_and_retry(message: str, retry_url: str, pause_seconds: int = 2) -> str:
    """Ask the caller to hold, then request the same step again."""
    response = VoiceResponse()
    _say(response, message)
    response.pause(length=pause_seconds)
    response.redirect(retry_url, method="POST")
    return str(response)


def say_and_hang_up(*texts: str) -> str:
    response = VoiceResponse()
    for text in texts:
        _say(response, text)
    response.hangup()
    return str(response)


# The documents that never change are built once: serializing even an empty one costs a
# status callback more than the rest of its work.
@functools.cache
def reject(reason: str = "rejected") -> str:
    """Refuse the call unanswered (free of charge): `rejected` or `busy`."""
    response = VoiceResponse()
    response.reject(reason=reason)
    return str(response)


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
    response = VoiceResponse()
    _say(response, text)
    response.pause(length=pause_seconds)
    return str(response)


@functools.cache
def leave() -> str:
    response = VoiceResponse()
    response.leave()
    return str(response)


@functools.cache
def empty() -> str:
    """An empty document: the answer to status callbacks."""
    return str(VoiceResponse())
