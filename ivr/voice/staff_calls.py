"""A caller put through to staff: the whisper the member of staff hears, and the <Dial>
action that brings the caller back to their question (or ends the call) afterwards.

A caller who presses 0 at a menu gets a turn that asks for staff (callflows.flow); while
a staff number is configured, `calls.render` answers it with a <Dial> to that number whose
<Number url> is `whisper` and whose action is `done`. Both are signed Twilio webhooks
answered by the same WSGI layer as the rest (ivr.voice.routes). Like every webhook they
write Redis only: the request is counted in Redis and logged to the call log, which the
workers write to the database.
"""

from __future__ import annotations

from callflows import prompts
from callflows.flow import staff_call_ended
from ivr import twiml
from ivr.callstore import Writes
from ivr.hotline import Hotline
from ivr.voice import calls
from ivr.voice.twilio_request import VoiceRequest
from queues import admission, counters

ANSWERED = frozenset({"completed", "answered"})
"""DialCallStatus values of a call to staff that was answered and bridged."""


def whisper(hotline: Hotline, req: VoiceRequest, writes: Writes) -> str:
    """The <Number url>: requested on the staff member's leg once they answer (its CallSid
    is that leg's; ParentCallSid the caller's). Says who is calling, then the two are
    connected as the document ends. Reads Redis only, writes nothing."""
    loaded = hotline.store.load(req.parent_call_sid) if req.parent_call_sid else None
    name = county = ""
    if loaded is not None and loaded.state.precinct_id:
        entry = hotline.directory.get(loaded.state.precinct_id)
        name = loaded.state.precinct_name or loaded.state.precinct_id
        county = entry.info.county if entry else ""
    return twiml.say_only(prompts.staff_whisper(name, county))


def done(hotline: Hotline, req: VoiceRequest, writes: Writes) -> str:
    """The <Dial> action, with DialCallStatus: after a conversation with staff the call
    ends with thanks; if staff did not answer (no-answer, busy, failed, canceled), the
    caller hears so and is asked the same question again."""
    if not req.call_sid:
        return twiml.say_and_hang_up(prompts.TROUBLE_CALL_BACK)
    with hotline.store.locked(req.call_sid, writes) as loaded:
        if loaded is None:
            # The call's state expired during a long conversation: nothing to return to.
            return twiml.say_and_hang_up(prompts.STAFF_CALL_OVER)
        state = loaded.state
        if req.query.seq != state.seq:
            return loaded.twiml  # a repeated request (or a stale one): answered as before
        admission.touch(writes.pipe, req.call_sid)
        answered = req.dial_call_status in ANSWERED
        counters.add_event(writes.pipe, "staff_put_through" if answered else "staff_no_answer")
        ctx = calls.context(hotline, writes, drill=state.drill)
        turn = staff_call_ended(state, ctx, answered=answered)
        body = calls.render(hotline, turn)
        hotline.store.save(writes.pipe, turn.state, body)
        if turn.end_reason is not None:
            counters.count_screening(writes.pipe, "ended", turn.end_reason.value)
            admission.release(writes.pipe, req.call_sid)
        return body
