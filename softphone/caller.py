"""The softphone: plays Twilio's side of an inbound call against the hotline's webhooks.

Every request is what Twilio itself would send: a form POST, signed with X-Twilio-Signature,
to the configured Voice URL or to a URL that the TwiML names (Gather/Enqueue action, Redirect,
waitUrl), or to the Fallback URL and the status callback. Behaviour follows Twilio's TwiML
reference; where it is silent, the choice made here is commented. A failed request is
retried as the URL's connection overrides say (softphone.overrides), then the Fallback URL
is fetched, then the caller hears the application-error message and the call ends.
"""

from __future__ import annotations

import enum
import fnmatch
import math
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Final, NamedTuple
from urllib.parse import urljoin, urlsplit, urlunsplit

from twilio.request_validator import RequestValidator

from softphone.overrides import (
    ConnectionOverrides,
    failure_class,
    parse_overrides,
    strip_fragment,
)
from softphone.transport import TimedTransport, Transport, sent_unanswered
from softphone.twiml import (
    DTMF_KEYS,
    ERROR_HTTP_RETRIEVAL,
    ERROR_SCHEMA,
    Dial,
    Enqueue,
    Gather,
    Hangup,
    Leave,
    Pause,
    Play,
    Redirect,
    Reject,
    Say,
    TwimlError,
    Verb,
    parse_twiml,
)

# Outcomes of a call, as recorded in CallRecord.outcome.
COMPLETED: Final = "completed"  # <Hangup/> or the end of a document
REJECTED: Final = "rejected"  # <Reject/> before answering
BUSY: Final = "busy"  # <Reject reason="busy"/> before answering
CALLER_HUNG_UP: Final = "caller-hung-up"  # the answer callback returned HANGUP
APPLICATION_ERROR: Final = "application-error"  # a failed fetch with no (working) fallback
REQUEST_LIMIT: Final = "request-limit"  # the softphone's safety bound cut the call

# What Twilio's caller hears when a fetch fails and there is no Fallback URL.
APPLICATION_ERROR_MESSAGE: Final = "We are sorry, an application error has occurred. Goodbye."

DEFAULT_QUEUE_SIZE: Final = 1000
"""A Twilio queue's maximum size unless raised through the REST API (Twilio's <Enqueue>
reference)."""

API_VERSION: Final = "2010-04-01"
USER_AGENT: Final = "TwilioProxy/1.1"


class Queues:
    """Twilio's call queues as the softphones see them: who waits in which, up to a size.

    Share one between the softphones of a test or a load run so that their calls wait in
    the same queues; when a queue is at `max_size`, <Enqueue> refuses the next call as
    Twilio does (QueueResult "queue-full")."""

    def __init__(self, max_size: int = DEFAULT_QUEUE_SIZE) -> None:
        self.max_size = max_size
        self._members: dict[str, list[str]] = {}
        self._lock = threading.Lock()

    def join(self, queue_name: str, call_sid: str) -> bool:
        """Put the call at the end of the queue; False (and nothing changes) when full."""
        with self._lock:
            members = self._members.setdefault(queue_name, [])
            if call_sid in members:
                return True
            if len(members) >= self.max_size:
                return False
            members.append(call_sid)
            return True

    def leave(self, queue_name: str, call_sid: str) -> None:
        with self._lock:
            members = self._members.get(queue_name, [])
            if call_sid in members:
                members.remove(call_sid)

    def place(self, queue_name: str, call_sid: str) -> tuple[int, int]:
        """(the call's 1-based position, the queue's size)."""
        with self._lock:
            members = self._members.get(queue_name, [])
            position = members.index(call_sid) + 1 if call_sid in members else 0
            return position, len(members)


class HangUp(enum.Enum):
    """The caller's alternative to pressing keys: putting the phone down."""

    HANGUP = "hangup"


HANGUP: Final = HangUp.HANGUP

# What the caller does at a Gather: keys such as "12#", None for silence, or HANGUP.
Keys = str | HangUp | None

# Transcript entries: ("say", text), ("play", url), ("pause", seconds),
# ("keys", step, keys), ("no-input", step), ("request", url, status, seconds),
# ("application-error", code, url), ("enqueue", name), ("queue-full", name),
# ("leave", name), ("hangup",), ("reject", reason), ("limit", what),
# ("retry", url, failure class, retry number) before each retry of a failed request,
# ("redirected", url) and ("ended-by-api",) for REST updates of an outbound call.
Event = tuple[str | int | float | None, ...]


@dataclass
class Clock:
    """Virtual call time: advanced by speech, pauses, key presses and Gather timeouts.

    The time webhooks take to answer is recorded in the transcript but not added, so that
    durations in tests do not depend on the machine. With realtime=True each advance also
    sleeps, for a softphone a person listens to.
    """

    words_per_second: float = 2.5
    seconds_per_key: float = 0.3
    seconds_per_play: float = 0.0  # audio length is unknown without fetching the file
    realtime: bool = False
    now: float = 0.0
    time_scale: float = 0.0
    """Sleep this fraction of each advance (a load test's compressed think time)."""

    def advance(self, seconds: float) -> None:
        if seconds <= 0:
            return
        self.now += seconds
        if self.realtime:
            time.sleep(seconds)
        elif self.time_scale > 0:
            time.sleep(seconds * self.time_scale)

    def speech_seconds(self, text: str) -> float:
        return len(text.split()) / self.words_per_second


@dataclass(frozen=True)
class GatherPrompt:
    """What the caller faces at a <Gather>, given to the answer callback."""

    step: str  # the action URL's path after "/voice/", e.g. "figure/first/3"
    action_url: str  # absolute
    speech: tuple[str, ...]  # everything said since the previous Gather, in order
    num_digits: int | None
    finish_on_key: str
    timeout: int
    action_on_empty_result: bool

    @property
    def text(self) -> str:
        return " ".join(self.speech)


@dataclass
class CallRecord:
    """Everything observable about one call, for assertions and reports."""

    call_sid: str
    outcome: str = COMPLETED
    transcript: list[Event] = field(default_factory=list)
    heard: list[str] = field(default_factory=list)
    heard_in: list[tuple[str, str]] = field(default_factory=list)
    """The language and voice of each of `heard`, as each <Say> gave them."""
    statuses: list[int] = field(default_factory=list)  # every request's, in order; 0: no answer
    requests: int = 0  # every HTTP request made, the status callback included
    application_errors: int = 0  # failed fetches, whether or not a fallback recovered them
    retries: int = 0  # requests repeated under a URL's connection overrides (rc, rp)
    error_codes: list[int] = field(default_factory=list)
    duration_seconds: float = 0.0
    status_callback_status: int | None = None  # None: no status callback was sent
    dialed: list[str] = field(default_factory=list)  # every <Dial>'s numbers, in order
    callee_heard: list[str] = field(default_factory=list)  # what answering callees heard

    @property
    def spoken(self) -> str:
        """All heard text as one string, for substring assertions."""
        return " ".join(self.heard)


class GatherResult(NamedTuple):
    digits: str
    finished_on_key: str  # "" unless the finish key ended the entry
    timed_out: bool  # keys ran out before the finish key or numDigits
    keys_used: int  # keys actually pressed (those after the end are never sent)


def gather_digits(keys: str | None, num_digits: int | None, finish_on_key: str) -> GatherResult:
    """Twilio's digit collection: consume keys left to right until the finish key or numDigits.

    The finish key is not part of Digits. Keys left over after entry ended are ignored, since
    a real caller would be pressing them into the next prompt's audio at best.
    """
    keys = keys or ""
    bad = set(keys) - DTMF_KEYS
    if bad:
        raise ValueError(f"not keypad keys: {''.join(sorted(bad))!r} in {keys!r}")
    digits = ""
    for used, key in enumerate(keys, start=1):
        if finish_on_key and key == finish_on_key:
            return GatherResult(digits, key, timed_out=False, keys_used=used)
        digits += key
        if num_digits is not None and len(digits) >= num_digits:
            return GatherResult(digits, "", timed_out=False, keys_used=used)
    return GatherResult(digits, "", timed_out=True, keys_used=len(keys))


def voice_step(url: str) -> str:
    """The hotline names protocol steps by path: "/voice/figure/first/3" -> "figure/first/3"."""
    path = urlsplit(url).path
    marker = "/voice/"
    index = path.find(marker)
    return path[index + len(marker) :] if index >= 0 else path.lstrip("/")


def signature_url(url: str) -> str:
    """The URL as Twilio signs it.

    Twilio's security notes: credentials are dropped from the URL before signing, and for
    HTTPS the port as well. twilio-python's RequestValidator accepts a URL with or without the
    port, so either form validates.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal keeps its brackets
    if parts.port is not None and parts.scheme != "https":
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, ""))


def new_sid(prefix: str) -> str:
    """A Twilio-shaped SID: two letters and 32 hex digits."""
    return prefix + secrets.token_hex(16)


Answer = Callable[[GatherPrompt], Keys]


def keypad(answers: Mapping[str, Keys | Answer]) -> Answer:
    """An answer callback from a table of step -> keys (or step -> callback).

    A step matches exactly first, then by shell pattern ("figure/first/*"), the longest
    pattern winning. A step with no entry raises LookupError: a script that meets a prompt it
    did not expect should fail, not press nothing.
    """
    patterns = sorted((p for p in answers if any(c in p for c in "*?[")), key=len, reverse=True)

    def answer(prompt: GatherPrompt) -> Keys:
        entry: Keys | Answer
        if prompt.step in answers:
            entry = answers[prompt.step]
        else:
            match = next((p for p in patterns if fnmatch.fnmatchcase(prompt.step, p)), None)
            if match is None:
                raise LookupError(f"no keys scripted for step {prompt.step!r}: {prompt.text!r}")
            entry = answers[match]
        return entry(prompt) if callable(entry) else entry

    return answer


class _Redirected(Exception):
    """Unwinds the TwiML being played when a REST update redirects the call."""

    def __init__(self, fetch: _Fetch) -> None:
        super().__init__(fetch.url)
        self.fetch = fetch


class _EndedByApi:
    """A REST update ended the call (Status=completed)."""


_ENDED_BY_API: Final = _EndedByApi()


class _CallEnded(Exception):
    """Unwinds the call from wherever it ends (hangups, rejects, errors, limits)."""

    def __init__(self, outcome: str) -> None:
        super().__init__(outcome)
        self.outcome = outcome


@dataclass(frozen=True)
class _Fetch:
    url: str
    params: Mapping[str, str]


class _Left:
    """<Leave/> ran in a waitUrl document."""


_LEAVE: Final = _Left()

# Verbs Twilio allows in a waitUrl document (TwiML <Enqueue> reference); <Leave> makes sense
# only there, and <Reject>/<Enqueue> only in the call's own documents.
_WAIT_VERBS = (Say, Play, Pause, Gather, Redirect, Hangup, Leave)
_CALL_VERBS = (Say, Play, Pause, Gather, Redirect, Hangup, Reject, Enqueue, Dial)
# Verbs a <Number url> document (played to the called party) may hold, as this stand-in
# plays it: words, and <Hangup> for a callee who declines.
_WHISPER_VERBS = (Say, Play, Pause, Hangup)
DIAL_CONVERSATION_SECONDS: Final = 60.0
"""How long an answered <Dial> talks, on the virtual clock, before the callee hangs up."""


def never_answers(number: str) -> bool:
    """The default for dialled numbers: nobody picks up (DialCallStatus no-answer)."""
    return False


class Softphone:
    """One inbound call, played against the application as Twilio would play it."""

    def __init__(
        self,
        transport: Transport,
        voice_url: str,
        auth_token: str,
        *,
        from_number: str,
        to_number: str = "+15155550100",
        status_callback_url: str | None = None,
        fallback_url: str | None = None,
        extra_params: Mapping[str, str] | None = None,
        call_sid: str | None = None,
        account_sid: str | None = None,
        clock: Clock | None = None,
        max_requests: int = 500,
        max_queue_polls: int = 100,
        queues: Queues | None = None,
        dial_answers: Callable[[str], bool] = never_answers,
        direction: str = "inbound",
    ) -> None:
        self.transport = transport
        self.direction = direction
        self.voice_url = voice_url
        self.validator = RequestValidator(auth_token)
        self.from_number = from_number
        self.to_number = to_number
        self.status_callback_url = status_callback_url
        self.fallback_url = fallback_url
        self.extra_params = dict(extra_params or {})
        self.call_sid = call_sid or new_sid("CA")
        self.account_sid = account_sid or new_sid("AC")
        self.clock = clock or Clock()
        self.max_requests = max_requests
        self.max_queue_polls = max_queue_polls
        self.queues = queues if queues is not None else Queues()
        self.dial_answers = dial_answers
        """Whether a number the call <Dial>s answers (by default none does)."""
        self.record = CallRecord(self.call_sid)
        self._answer: Answer | None = None
        self._answered_at: float | None = None
        self._pending_speech: list[str] = []
        self._queue_sids: dict[str, str] = {}
        self._placed = False
        self._wall_start = datetime.now(UTC)
        # A REST update waiting to be acted on (a new URL, or the end of the call): set from
        # the API server's thread, acted on by the call's own thread at its next verb.
        self._update: _Fetch | _EndedByApi | None = None
        self._update_lock = threading.Lock()
        self._updated = threading.Event()

    # -- REST updates (outbound calls placed through the REST stand-in) ----------------------

    def redirect(self, url: str) -> None:
        """A call update with Url: Twilio abandons the TwiML it is playing and fetches `url`."""
        with self._update_lock:
            if not isinstance(self._update, _EndedByApi):  # an ended call stays ended
                self._update = _Fetch(url, {})
        self._updated.set()

    def end(self) -> None:
        """A call update with Status=completed: Twilio hangs up at once."""
        with self._update_lock:
            self._update = _ENDED_BY_API
        self._updated.set()

    def wait_for_update(self, timeout: float) -> bool:
        """Block until a REST update is pending (True) or `timeout` seconds pass (False)."""
        return self._updated.wait(timeout)

    def _act_on_update(self) -> None:
        with self._update_lock:
            update, self._update = self._update, None
            self._updated.clear()
        if isinstance(update, _EndedByApi):
            self._event("ended-by-api")
            raise _CallEnded(COMPLETED)
        if update is not None:
            self._event("redirected", update.url)
            raise _Redirected(update)

    # -- the call -------------------------------------------------------------------------

    def call(self, answer: Answer) -> CallRecord:
        """Place the call, answering each Gather with ``answer``; return what happened."""
        if self._placed:
            raise RuntimeError("a Softphone places one call; make another for the next")
        self._placed = True
        self._answer = answer
        started = self.clock.now
        self._wall_start = datetime.now(UTC)
        if self.direction != "inbound":
            # An outbound call fetches its URL only once the callee has answered.
            self._answered_at = self.clock.now
        try:
            self._play(_Fetch(self.voice_url, {}))
        except _CallEnded as ended:
            self.record.outcome = ended.outcome
        if self._answered_at is not None:
            self.record.duration_seconds = self.clock.now - self._answered_at
        # A rejected call was never answered; the brief for this stand-in is to send no status
        # callback for it (Twilio itself may report busy/no-answer there: unconfirmed).
        if self.record.outcome not in (REJECTED, BUSY) and self.status_callback_url:
            self._status_callback(started)
        return self.record

    def _play(self, first: _Fetch) -> None:
        fetch: _Fetch | None = first
        while fetch is not None:
            try:
                self._act_on_update()
                url, verbs = self._fetch(fetch, wait_document=False)
                step = self._execute(url, verbs)
            except _Redirected as redirected:
                step = redirected.fetch
            assert not isinstance(step, _Left)  # <Leave> is refused outside a queue
            fetch = step
        raise _CallEnded(COMPLETED)

    def _execute(self, url: str, verbs: tuple[Verb, ...]) -> _Fetch | _Left | None:
        """Run one document; return the next fetch, a <Leave>, or None when it runs out."""
        if self._answered_at is None:
            # "If the first verb in a TwiML document is <Reject>, Twilio will not pick up the
            # call"; anything else answers it.
            if verbs and isinstance(verbs[0], Reject):
                self._event("reject", verbs[0].reason)
                raise _CallEnded(BUSY if verbs[0].reason == "busy" else REJECTED)
            self._answered_at = self.clock.now
        for verb in verbs:
            self._act_on_update()
            if isinstance(verb, Say | Play | Pause):
                self._prompt(verb)
            elif isinstance(verb, Gather):
                gathered = self._gather(url, verb)
                if gathered is not None:
                    return gathered
            elif isinstance(verb, Redirect):
                # Redirect posts the standard parameters only (no Digits), default method POST.
                return _Fetch(urljoin(url, verb.url), {})
            elif isinstance(verb, Hangup):
                self._event("hangup")
                raise _CallEnded(COMPLETED)
            elif isinstance(verb, Reject):
                # The call is already answered, so Reject can only end it.
                self._event("reject", verb.reason)
                raise _CallEnded(COMPLETED)
            elif isinstance(verb, Leave):
                return _LEAVE
            elif isinstance(verb, Enqueue):
                queued = self._enqueue(url, verb)
                if queued is not None:
                    return queued
            elif isinstance(verb, Dial):
                dialed = self._dial(url, verb)
                if dialed is not None:
                    return dialed
        return None

    def _prompt(self, verb: Say | Play | Pause) -> None:
        if isinstance(verb, Say):
            if not verb.text:
                return
            # loop="0" means "until the call ends" on Twilio; once is enough to hear it.
            for _ in range(max(verb.loop, 1)):
                self.record.heard.append(verb.text)
                self.record.heard_in.append((verb.language, verb.voice))
                self._pending_speech.append(verb.text)
                self._event("say", verb.text)
                self.clock.advance(self.clock.speech_seconds(verb.text))
        elif isinstance(verb, Play):
            for _ in range(max(verb.loop, 1)):
                self._event("play", verb.url)
                self.clock.advance(self.clock.seconds_per_play)
        else:
            self._event("pause", verb.length)
            self.clock.advance(verb.length)

    def _gather(self, url: str, verb: Gather) -> _Fetch | None:
        for nested in verb.prompts:
            self._prompt(nested)
        # The action defaults to the current document's URL; relative URLs resolve against it.
        action = urljoin(url, verb.action) if verb.action else url
        prompt = GatherPrompt(
            step=voice_step(action),
            action_url=action,
            speech=tuple(self._pending_speech),
            num_digits=verb.num_digits,
            finish_on_key=verb.finish_on_key,
            timeout=verb.timeout,
            action_on_empty_result=verb.action_on_empty_result,
        )
        self._pending_speech.clear()
        assert self._answer is not None
        keys = self._answer(prompt)
        # An update that came while the caller listened wins over the keys: Twilio stopped
        # the Gather, so they were never sent.
        self._act_on_update()
        if isinstance(keys, HangUp):
            self._event("keys", prompt.step, keys.value)
            raise _CallEnded(CALLER_HUNG_UP)
        result = gather_digits(keys, verb.num_digits, verb.finish_on_key)
        self._event("keys", prompt.step, keys)
        # The whole prompt is heard before the first key (no barge-in in this model); a
        # timeout costs the full wait after the last key, or after the prompt if none came.
        self.clock.advance(result.keys_used * self.clock.seconds_per_key)
        if result.timed_out:
            self.clock.advance(verb.timeout)
        if result.digits or verb.action_on_empty_result:
            # Partial digits on timeout are submitted; FinishedOnKey is "" unless the key ended
            # entry, and "msg" is what Twilio's own Gather requests have been seen to carry.
            return _Fetch(
                action,
                {
                    "Digits": result.digits,
                    "FinishedOnKey": result.finished_on_key,
                    "msg": "Gather End",
                },
            )
        # No input (silence, or the finish key alone): Twilio goes on to the next verb.
        self._event("no-input", prompt.step)
        return None

    def _dial(self, url: str, verb: Dial) -> _Fetch | None:
        """Call the <Dial>'s numbers: the first that answers (`dial_answers`) hears its
        <Number url> (the whisper) and is connected; then Twilio requests the action with
        DialCallStatus, or without an action goes on to the next verb."""
        self.record.dialed.extend(number.number for number in verb.numbers)
        self._event("dial", ",".join(number.number for number in verb.numbers))
        answering = next((n for n in verb.numbers if self.dial_answers(n.number)), None)
        dial_sid = new_sid("CA")
        params: dict[str, str] = {"DialCallSid": dial_sid}
        if answering is None:
            # Every number rang out: the caller heard ringing for the whole timeout.
            self.clock.advance(verb.timeout)
            params["DialCallStatus"] = "no-answer"
        else:
            connected = True
            if answering.url:
                caller_id = verb.caller_id or self.from_number
                whisper = urljoin(url, answering.url)
                connected = self._whisper(whisper, dial_sid, answering.number, caller_id)
            # The stand-in's choice: a callee who hangs up in the whisper, or whose whisper
            # fails, ends the dialled call unbridged, reported as "completed" after 0 s.
            talked = DIAL_CONVERSATION_SECONDS if connected else 0.0
            self.clock.advance(talked)
            params["DialCallStatus"] = "completed"
            params["DialCallDuration"] = str(math.ceil(talked))
        self._event("dial-ended", params["DialCallStatus"])
        return _Fetch(urljoin(url, verb.action), params) if verb.action else None

    def _whisper(self, url: str, dial_sid: str, number: str, caller_id: str) -> bool:
        """Play the <Number url>'s TwiML to the called party (its leg: its own CallSid,
        the caller's as ParentCallSid). False if the callee hangs up or it cannot be had."""
        leg = {
            "CallSid": dial_sid,
            "ParentCallSid": self.call_sid,
            "Direction": "outbound-dial",
            "From": caller_id,
            "Caller": caller_id,
            "To": number,
            "Called": number,
            "CallStatus": "in-progress",
        }
        status, body = self._request(url, leg, limited=True)
        try:
            verbs = parse_twiml(body) if 200 <= status < 300 else None
        except TwimlError as exc:
            self._application_error(exc.code, url)
            return False
        if verbs is None or any(not isinstance(verb, _WHISPER_VERBS) for verb in verbs):
            self._application_error(ERROR_HTTP_RETRIEVAL if verbs is None else ERROR_SCHEMA, url)
            return False
        for verb in verbs:
            if isinstance(verb, Hangup):
                return False
            if isinstance(verb, Say):
                self.record.callee_heard.append(verb.text)
                self._event("callee-say", verb.text)
                self.clock.advance(self.clock.speech_seconds(verb.text))
            elif isinstance(verb, Pause):
                self.clock.advance(verb.length)
        return True

    def _enqueue(self, url: str, verb: Enqueue) -> _Fetch | None:
        """Wait in a queue that nobody dequeues until the waitUrl TwiML says <Leave/>."""
        queue_sid = self._queue_sids.setdefault(verb.queue_name, new_sid("QU"))
        entered = self.clock.now
        action = urljoin(url, verb.action) if verb.action else None
        if not self.queues.join(verb.queue_name, self.call_sid):
            # Twilio refuses a call to a full queue: it requests the action with
            # QueueResult=queue-full or, without an action, goes on to the next verb.
            self._event("queue-full", verb.queue_name)
            if action:
                return _Fetch(
                    action, {"QueueResult": "queue-full", "QueueSid": queue_sid, "QueueTime": "0"}
                )
            return None
        self._event("enqueue", verb.queue_name)
        try:
            return self._wait_in_queue(url, verb, queue_sid, entered, action)
        finally:
            self.queues.leave(verb.queue_name, self.call_sid)

    def _wait_in_queue(
        self, url: str, verb: Enqueue, queue_sid: str, entered: float, action: str | None
    ) -> _Fetch | None:
        def queue_params(result: str | None = None) -> dict[str, str]:
            waited = str(int(self.clock.now - entered))
            if result is not None:
                return {"QueueResult": result, "QueueSid": queue_sid, "QueueTime": waited}
            position, size = self.queues.place(verb.queue_name, self.call_sid)
            # Average wait: this call's own (the stand-in keeps no history of others').
            return {
                "QueuePosition": str(position),
                "QueueSid": queue_sid,
                "QueueTime": waited,
                "AvgQueueTime": waited,
                "CurrentQueueSize": str(size),
            }

        if verb.wait_url is None:
            # Twilio plays hold music until someone dequeues the call; nobody will here.
            self._event("limit", "hold music without a waitUrl")
            raise _CallEnded(REQUEST_LIMIT)
        wait_url = urljoin(url, verb.wait_url)
        try:
            for _ in range(self.max_queue_polls):
                fetch: _Fetch | None = _Fetch(wait_url, queue_params())
                while fetch is not None:
                    doc_url, verbs = self._fetch(fetch, wait_document=True)
                    step = self._execute(doc_url, verbs)
                    if isinstance(step, _Left):
                        self._event("leave", verb.queue_name)
                        # With an action, Twilio requests it at once; without, it goes on
                        # with the verb after <Enqueue> in the original document.
                        return _Fetch(action, queue_params("leave")) if action else None
                    fetch = step
                # The wait document ran out: Twilio requests the waitUrl again.
        except _CallEnded as ended:
            if action and ended.outcome in (COMPLETED, CALLER_HUNG_UP):
                # The call left the queue by hanging up; Twilio reports that to the action
                # (QueueResult=hangup) and, the call being over, ignores what it answers.
                params = {**queue_params("hangup"), "CallStatus": "completed"}
                self._request(action, params, limited=False)
            raise
        self._event("limit", "waitUrl polls")
        raise _CallEnded(REQUEST_LIMIT)

    # -- requests -------------------------------------------------------------------------

    def _fetch(self, fetch: _Fetch, *, wait_document: bool) -> tuple[str, tuple[Verb, ...]]:
        """Request TwiML; on failure go to the Fallback URL as Twilio does, or end the call."""
        error = self._try_fetch(fetch.url, fetch.params, wait_document)
        if isinstance(error, tuple):
            return fetch.url, error
        failed_url = strip_fragment(fetch.url)
        self._application_error(error, failed_url)
        if self.fallback_url and fetch.url != self.fallback_url:
            # Twilio adds ErrorCode and ErrorUrl; the failed request's own parameters (e.g.
            # Digits) are kept so the fallback can recover the step. The fallback is fetched
            # under its own connection overrides (Twilio's defaults unless it has some).
            params = {**fetch.params, "ErrorCode": str(error), "ErrorUrl": failed_url}
            fallback = self._try_fetch(self.fallback_url, params, wait_document)
            if isinstance(fallback, tuple):
                return self.fallback_url, fallback
            self._application_error(fallback, strip_fragment(self.fallback_url))
        if self._answered_at is None:
            self._answered_at = self.clock.now  # Twilio answers to play the error message
        self._speak(APPLICATION_ERROR_MESSAGE)
        raise _CallEnded(APPLICATION_ERROR)

    def _try_fetch(
        self, url: str, params: Mapping[str, str], wait_document: bool
    ) -> tuple[Verb, ...] | int:
        """The parsed document, or the Twilio error code the fetch failed with."""
        status, body = self._request(url, params, limited=True)
        if not 200 <= status < 300:
            return ERROR_HTTP_RETRIEVAL
        try:
            verbs = parse_twiml(body)
        except TwimlError as exc:
            return exc.code
        allowed = _WAIT_VERBS if wait_document else _CALL_VERBS
        if any(not isinstance(verb, allowed) for verb in verbs):
            return ERROR_SCHEMA
        return verbs

    def _request(self, url: str, params: Mapping[str, str], *, limited: bool) -> tuple[int, str]:
        """Request `url` as Twilio does under its connection overrides (softphone.overrides):
        each attempt within the connect and read timeouts, a failed one retried at once while
        the retry policy names its failure, `rc` allows, and the total time `tt` lasts; the
        last attempt's answer is returned. The fragment is neither sent nor signed."""
        overrides = parse_overrides(url)
        target = strip_fragment(url)
        form = {**self.extra_params, **self._standard_params(), **params}
        signature = str(self.validator.compute_signature(signature_url(target), form))
        headers = {"X-Twilio-Signature": signature, "User-Agent": USER_AGENT}
        # The budget is wall time: the timeouts are real waits on the network, not call time.
        budget_ends = time.monotonic() + overrides.total_timeout_ms / 1000
        retries = 0
        while True:
            if limited and self.record.requests >= self.max_requests:
                self._event("limit", "requests")
                raise _CallEnded(REQUEST_LIMIT)
            started = time.perf_counter()
            status, body = self._send(target, form, headers, overrides, budget_ends)
            self.record.requests += 1
            self.record.statuses.append(status)
            self._event("request", target, status, round(time.perf_counter() - started, 6))
            failure = failure_class(status, connect_failed=not sent_unanswered(status, body))
            if (
                failure is None
                or not overrides.retries(failure)
                or retries >= overrides.retry_count
                or time.monotonic() >= budget_ends
            ):
                return status, body
            retries += 1
            self.record.retries += 1
            self._event("retry", target, failure, retries)

    def _send(
        self,
        url: str,
        form: Mapping[str, str],
        headers: Mapping[str, str],
        overrides: ConnectionOverrides,
        budget_ends: float,
    ) -> tuple[int, str]:
        """One attempt, its timeouts cut to what is left of the total time; a transport that
        cannot time out (in-process) just posts."""
        if not isinstance(self.transport, TimedTransport):
            return self.transport.post(url, form, headers)
        left = budget_ends - time.monotonic()
        return self.transport.post_within(
            url,
            form,
            headers,
            connect_timeout=max(min(overrides.connect_timeout_ms / 1000, left), 0.001),
            read_timeout=max(min(overrides.read_timeout_ms / 1000, left), 0.001),
        )

    def _standard_params(self) -> dict[str, str]:
        return {
            "CallSid": self.call_sid,
            "AccountSid": self.account_sid,
            "From": self.from_number,
            "To": self.to_number,
            "Caller": self.from_number,
            "Called": self.to_number,
            # The first request rings; once a document is executed the call is answered.
            "CallStatus": "ringing" if self._answered_at is None else "in-progress",
            "Direction": self.direction,
            "ApiVersion": API_VERSION,
        }

    def _status_callback(self, started: float) -> None:
        assert self.status_callback_url is not None
        ended_at = self._wall_start + timedelta(seconds=self.clock.now - started)
        params = {
            "CallStatus": "completed",
            # Whole seconds, rounded up (Twilio's exact rounding is not documented).
            "CallDuration": str(math.ceil(self.record.duration_seconds)),
            "Timestamp": format_datetime(ended_at),
            "CallbackSource": "call-progress-events",
            "SequenceNumber": "0",
        }
        status, _ = self._request(self.status_callback_url, params, limited=False)
        self.record.status_callback_status = status

    # -- bookkeeping ----------------------------------------------------------------------

    def _application_error(self, code: int, url: str) -> None:
        self.record.application_errors += 1
        self.record.error_codes.append(code)
        self._event("application-error", code, url)

    def _speak(self, text: str) -> None:
        self._prompt(Say(text))

    def _event(self, *event: str | int | float | None) -> None:
        self.record.transcript.append(event)
