"""Placing created calls into the hotline, as Twilio would.

A dispatcher takes queued calls in order at no more than the account's calls per second
(queued -> initiated); each call then runs in its own thread: it rings the persona
registered for its number, sends the status callbacks asked for, and, once answered,
plays the call's TwiML with the softphone (Direction "outbound-api"), sending the AMD
result to AsyncAmdStatusCallback when asynchronous detection was asked for.

Messages go their own way (`Messaging`): an outbound one is sent in its own thread (queued
-> sent -> delivered, with its StatusCallbacks), and an inbound one is posted to the
number's SmsUrl, whose <Message> replies become outbound-reply messages.
"""

from __future__ import annotations

import math
import mimetypes
import threading
import time
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Callable, Collection, Mapping, Sequence
from email.utils import format_datetime
from typing import TypedDict
from urllib.parse import urljoin, urlsplit

import requests
from twilio.request_validator import RequestValidator

from softphone.caller import (
    API_VERSION,
    USER_AGENT,
    GatherPrompt,
    Keys,
    Softphone,
    new_sid,
    signature_url,
)
from softphone.overrides import strip_fragment
from softphone.rest.callees import (
    VOICEMAIL_WAIT_SECONDS,
    AnsweringChair,
    Busy,
    Callee,
    Fails,
    NoAnswer,
    Persona,
    Voicemail,
    persona_for,
)
from softphone.rest.resources import (
    BUSY,
    CANCELED,
    COMPLETED,
    DELIVERED,
    FAILED,
    IN_PROGRESS,
    INITIATED,
    NO_ANSWER,
    QUEUED,
    RECEIVED,
    RINGING,
    SENT,
    UNDELIVERED,
    Account,
    CallbackSent,
    CallState,
    MediaState,
    MessageState,
    utc_now,
)
from softphone.transport import TimedTransport, Transport

MAX_REQUESTS_PER_CALL = 500
"""The softphone's safety bound on one call's webhook requests."""


class Signer:
    """Signs and sends the stand-in's own webhooks exactly as the softphone signs its own."""

    def __init__(self, transport: Transport, auth_token: str) -> None:
        self.transport = transport
        self.validator = RequestValidator(auth_token)

    def post(self, url: str, params: Mapping[str, str]) -> int:
        status, _ = self.send(url, params)
        return status

    def send(self, url: str, params: Mapping[str, str]) -> tuple[int, str]:
        """POST the signed parameters; the answer's HTTP status (0 when none) and body."""
        signature = str(self.validator.compute_signature(signature_url(url), dict(params)))
        headers = {"X-Twilio-Signature": signature, "User-Agent": USER_AGENT}
        return self.transport.post(url, params, headers)


class Placement:
    """The dispatcher and the calls' threads of one stand-in."""

    def __init__(
        self,
        account: Account,
        signer: Signer,
        auth_token: str,
        callees: Mapping[str, Callee],
        calls_per_second: float,
        default_callee: Callable[[], Callee | None],
    ) -> None:
        self.account = account
        self.signer = signer
        self.auth_token = auth_token
        self.callees = callees
        self.interval = 1.0 / calls_per_second
        self.default_callee = default_callee
        self._queued: deque[CallState] = deque()
        self._wake = threading.Condition(account.lock)
        self._stopping = False
        self._threads: list[threading.Thread] = []
        self._dispatcher = threading.Thread(
            target=self._dispatch, name="twilio-stand-in-dispatcher", daemon=True
        )

    def start(self) -> None:
        self._dispatcher.start()

    def enqueue(self, call: CallState) -> None:
        with self._wake:
            self._queued.append(call)
            self._wake.notify_all()

    def stop(self, timeout: float = 5.0) -> None:
        """Cancel what is still queued, hang up what is in progress, and join the threads."""
        with self._wake:
            self._stopping = True
            for call in self._queued:
                if call.status == QUEUED:
                    self._end(call, CANCELED)
            self._queued.clear()
            for call in self.account.calls.values():
                call.cancel_requested = True
                if call.softphone is not None:
                    call.softphone.end()
            self._wake.notify_all()
        deadline = time.monotonic() + timeout
        for thread in [self._dispatcher, *self._threads]:
            if thread.is_alive():
                thread.join(max(0.0, deadline - time.monotonic()))

    # -- the dispatcher -----------------------------------------------------------------

    def _dispatch(self) -> None:
        # Twilio queues calls created faster than the account's CPS and dials them in order;
        # a call canceled while it waits never takes a slot.
        next_slot = time.monotonic()
        while True:
            with self._wake:
                while not self._stopping and not self._queued:
                    self._wake.wait()
                if self._stopping:
                    return
                now = time.monotonic()
                if now < next_slot:
                    self._wake.wait(next_slot - now)
                    continue
                call = self._queued.popleft()
                if call.status != QUEUED:
                    continue
                now = time.monotonic()
                call.placed_at = now
                call.start_time = utc_now()
                self.account.set_status(call, INITIATED)
                next_slot = max(next_slot + self.interval, now)
                thread = threading.Thread(
                    target=self._run, args=(call,), name=f"twilio-call-{call.sid}", daemon=True
                )
                self._threads.append(thread)
            thread.start()

    # -- one call -----------------------------------------------------------------------

    def _run(self, call: CallState) -> None:
        try:
            self._place(call)
        finally:
            # Whatever happened (an exception in a persona's answer included), the call ends:
            # wait_until_idle must not wait for a call whose thread is gone.
            if not call.ended:
                self._finish(call, FAILED if call.status != IN_PROGRESS else COMPLETED)
            self._settle(call)

    def _settle(self, call: CallState) -> None:
        with self.account.lock:
            call.settled = True
            self.account.changed.notify_all()

    def _place(self, call: CallState) -> None:
        persona = self._persona(call)
        call.persona = type(persona).__name__
        self._status_event(call, "initiated", INITIATED)
        if self._canceled(call):
            return
        if isinstance(persona, Busy):
            self._finish(call, BUSY)
            return
        if isinstance(persona, Fails):
            self._finish(call, FAILED)
            return
        self.account.set_status(call, RINGING)
        self._status_event(call, "ringing", RINGING)
        if self._canceled(call):
            return
        if isinstance(persona, NoAnswer):
            # Twilio rings for Timeout seconds first; nothing here depends on that wait.
            self._finish(call, NO_ANSWER)
            return
        self._answer(call, persona)

    def _persona(self, call: CallState) -> Persona:
        with self.account.lock:
            callee = self.callees.get(call.to)
            if callee is None:
                callee = self.default_callee()
        return persona_for(callee)

    def _canceled(self, call: CallState) -> bool:
        with self.account.lock:
            cancel = call.cancel_requested and not call.ended
        if cancel:
            self._finish(call, CANCELED)
        return call.status == CANCELED

    # -- REST updates -------------------------------------------------------------------

    def cancel(self, call: CallState) -> None:
        """Status=canceled (or completed before answering): a queued call never leaves the
        queue, a ringing one stops ringing; an answered call is not affected."""
        with self.account.lock:
            if call.status == QUEUED:
                self._end(call, CANCELED)
            elif not call.ended and call.status != IN_PROGRESS:
                call.cancel_requested = True

    def hang_up(self, call: CallState) -> None:
        """Status=completed: an answered call ends at once; one not yet answered is canceled."""
        with self.account.lock:
            phone = call.softphone if call.status == IN_PROGRESS else None
        if phone is None:
            self.cancel(call)
        else:
            phone.end()

    def _answer(self, call: CallState, persona: AnsweringChair | Voicemail) -> None:
        answered_by = self._amd_result(call, persona)
        extra: dict[str, str] = {}
        if call.amd_requested and not call.async_amd:
            # Synchronous detection: Twilio fetches the URL only once it knows, with the answer.
            assert answered_by is not None
            call.answered_by = answered_by
            extra["AnsweredBy"] = answered_by
        phone = Softphone(
            _CallTransport(self.signer.transport, call),
            call.url,
            self.auth_token,
            from_number=call.from_,
            to_number=call.to,
            fallback_url=call.fallback_url,
            extra_params=extra,
            call_sid=call.sid,
            account_sid=call.account_sid,
            max_requests=MAX_REQUESTS_PER_CALL,
            direction="outbound-api",
        )
        if isinstance(persona, Voicemail) and call.amd_requested and not call.async_amd:
            phone.clock.advance(persona.greeting_seconds)  # detection waited for the beep
        call_transport = phone.transport
        assert isinstance(call_transport, _CallTransport)
        call_transport.after_first_fetch = lambda: self._after_first_fetch(
            call, phone, persona, answered_by
        )
        with self.account.lock:
            canceled = call.cancel_requested
            if not canceled:
                call.softphone = phone
                call.record = phone.record
                self.account.set_status(call, IN_PROGRESS)
        if canceled:
            self._finish(call, CANCELED)
            return
        self._status_event(call, "answered", IN_PROGRESS)
        answer = persona.answer if isinstance(persona, AnsweringChair) else _voicemail_answer(phone)
        record = phone.call(answer)
        call.duration = math.ceil(record.duration_seconds)
        self._finish(call, COMPLETED)

    def _amd_result(self, call: CallState, persona: AnsweringChair | Voicemail) -> str | None:
        if not call.amd_requested:
            return None
        if isinstance(persona, AnsweringChair):
            return "human"
        # Enable reports as soon as it hears a machine; DetectMessageEnd waits for the beep.
        return "machine_start" if call.machine_detection == "Enable" else "machine_end_beep"

    def _after_first_fetch(
        self,
        call: CallState,
        phone: Softphone,
        persona: AnsweringChair | Voicemail,
        answered_by: str | None,
    ) -> None:
        if isinstance(persona, Voicemail):
            # What the first document says plays over the greeting; the recording starts with
            # the next document (Twilio's beep comes while the first one plays).
            call.voicemail_from = -1
        if not (call.amd_requested and call.async_amd and answered_by is not None):
            return
        seconds = persona.greeting_seconds if isinstance(persona, Voicemail) else 1.5
        if isinstance(persona, Voicemail):
            phone.clock.advance(seconds)
        call.answered_by = answered_by
        if not call.async_amd_status_callback:
            return  # Twilio warns (21262) and keeps the result on the call
        params = {
            "CallSid": call.sid,
            "AccountSid": call.account_sid,
            "AnsweredBy": answered_by,
            "MachineDetectionDuration": str(round(seconds * 1000)),
        }
        status = self.signer.post(call.async_amd_status_callback, params)
        with self.account.lock:
            call.amd_callbacks.append(CallbackSent(call.async_amd_status_callback, params, status))

    # -- the end and the status callbacks -------------------------------------------------

    def _finish(self, call: CallState, status: str) -> None:
        """End the call and send its "completed" callback (never while holding the lock: the
        hotline may call the API back while it answers)."""
        if self._end(call, status) and call.start_time is not None:
            self._status_event(call, "completed", status)

    def _end(self, call: CallState, status: str) -> bool:
        with self.account.lock:
            if call.ended:
                return False
            call.end_time = utc_now() if call.start_time is not None else None
            if status != COMPLETED:
                # Twilio leaves the duration empty for calls that were never answered.
                call.duration = None
            call.softphone = None
            self.account.set_status(call, status)
            if call.start_time is None:
                self._settle(call)  # never dialled: no thread, no callback to wait for
            return True

    def _status_event(self, call: CallState, event: str, status: str) -> None:
        # "completed" is sent whether asked for or not, with the call's final status.
        if not call.status_callback or (
            event != "completed" and event not in call.status_callback_events
        ):
            return
        with self.account.lock:
            sequence = len(call.callbacks)
        params = {
            "CallSid": call.sid,
            "AccountSid": call.account_sid,
            "From": call.from_,
            "To": call.to,
            "Caller": call.from_,
            "Called": call.to,
            "CallStatus": status,
            "Direction": "outbound-api",
            "ApiVersion": API_VERSION,
            "CallbackSource": "call-progress-events",
            "SequenceNumber": str(sequence),
            "Timestamp": format_datetime(utc_now()),
        }
        if event == "completed":
            params["CallDuration"] = str(call.duration or 0)  # 0 for an unanswered call
        if call.answered_by is not None:
            params["AnsweredBy"] = call.answered_by
        http_status = self.signer.post(call.status_callback, params)
        with self.account.lock:
            call.callbacks.append(CallbackSent(call.status_callback, params, http_status))


class _CallTransport:
    """The hotline's transport for one call's requests: serves inline Twiml, and runs a hook
    once the first document has been fetched (async AMD reports after answering)."""

    def __init__(self, inner: Transport, call: CallState) -> None:
        self.inner = inner
        self.call = call
        self.after_first_fetch: Callable[[], None] | None = None
        self._fetches = 0

    def post(
        self, url: str, params: Mapping[str, str], headers: Mapping[str, str]
    ) -> tuple[int, str]:
        return self._send(url, params, headers, None)

    def post_within(
        self,
        url: str,
        params: Mapping[str, str],
        headers: Mapping[str, str],
        *,
        connect_timeout: float,
        read_timeout: float,
    ) -> tuple[int, str]:
        """As `post`, within the URL's connection overrides when the inner transport can."""
        return self._send(url, params, headers, (connect_timeout, read_timeout))

    def _send(
        self,
        url: str,
        params: Mapping[str, str],
        headers: Mapping[str, str],
        timeouts: tuple[float, float] | None,
    ) -> tuple[int, str]:
        self._fetches += 1
        if self.call.voicemail_from == -1 and self.call.record is not None:
            self.call.voicemail_from = len(self.call.record.heard)
        first = self._fetches == 1 and url == strip_fragment(self.call.url)  # as requested
        if first and self.call.twiml is not None:
            result = (200, self.call.twiml)
        elif timeouts is not None and isinstance(self.inner, TimedTransport):
            connect, read = timeouts
            result = self.inner.post_within(
                url, params, headers, connect_timeout=connect, read_timeout=read
            )
        else:
            result = self.inner.post(url, params, headers)
        if self._fetches == 1 and self.after_first_fetch is not None:
            self.after_first_fetch()
        return result


def _voicemail_answer(phone: Softphone) -> Callable[[GatherPrompt], Keys]:
    def answer(_prompt: GatherPrompt) -> Keys:
        # A machine presses nothing: it waits for the hotline to redirect or end the call
        # (the softphone acts on that update), else the Gather times out as Twilio's would.
        phone.wait_for_update(VOICEMAIL_WAIT_SECONDS)
        return None

    return answer


# -- messages -------------------------------------------------------------------------------

HTTP_RETRIEVAL_FAILURE = 11200
"""Twilio's error when a URL it requests (a MediaUrl, an SmsUrl) does not answer 2xx."""
UNREACHABLE_HANDSET = 30003
"""Twilio's error for a message the carrier could not deliver (the handset is unreachable)."""
MEDIA_FETCH_SECONDS = 10.0


class InboundAnswer(TypedDict):
    """What `RestStandIn.send_message` returns: the hotline's answer to the message."""

    message_sid: str
    http_status: int  # softphone.NO_RESPONSE (0) when nothing answered
    body: str


class Messaging:
    """The stand-in's messages: outbound ones sent (each in its own thread), inbound ones
    delivered to the number's SmsUrl."""

    def __init__(
        self,
        account: Account,
        signer: Signer,
        base_url: Callable[[], str],
        unreachable: Collection[str],
    ) -> None:
        self.account = account
        self.signer = signer
        self.base_url = base_url
        self.unreachable = unreachable
        self._threads: list[threading.Thread] = []

    def stop(self, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        with self.account.lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def create(
        self,
        *,
        to: str,
        from_: str,
        body: str,
        direction: str,
        status: str,
        media: Sequence[tuple[str, bytes | None, str | None]] = (),
        status_callback: str | None = None,
    ) -> MessageState:
        """A new message in the account; `media` holds (content type, content, MediaUrl)."""
        with self.account.lock:
            now = utc_now()
            sid = new_sid("MM" if media else "SM")
            message = MessageState(
                sid=sid,
                account_sid=self.account.sid,
                to=to,
                from_=from_,
                body=body,
                direction=direction,
                status=status,
                date_created=now,
                index=len(self.account.messages),
                status_callback=status_callback,
                num_media=len(media),
            )
            message.media = [
                MediaState(new_sid("ME"), self.account.sid, sid, kind, now, content, url)
                for kind, content, url in media
            ]
            self.account.messages[sid] = message
            return message

    def create_outbound(
        self,
        *,
        to: str,
        from_: str,
        body: str,
        media_urls: Sequence[str],
        status_callback: str | None,
        direction: str = "outbound-api",
    ) -> MessageState:
        """A message to send: queued now, sent and delivered by its own thread."""
        media = [(_guess_type(url), None, url) for url in media_urls]
        message = self.create(
            to=to,
            from_=from_,
            body=body,
            direction=direction,
            status=QUEUED,
            media=media,
            status_callback=status_callback,
        )
        thread = threading.Thread(
            target=self._send, args=(message,), name=f"twilio-message-{message.sid}", daemon=True
        )
        with self.account.lock:
            self._threads.append(thread)
        thread.start()
        return message

    # -- outbound -----------------------------------------------------------------------

    def _send(self, message: MessageState) -> None:
        try:
            # Twilio fetches each MediaUrl before sending (and fails the message if it cannot).
            for media in list(message.media):
                if not self._fetch_media(media):
                    self._end(message, FAILED, HTTP_RETRIEVAL_FAILURE, "HTTP retrieval failure")
                    return
            with self.account.lock:
                message.date_sent = utc_now()
                self.account.set_message_status(message, SENT)
            self._status_callback(message)
            if message.to in self.unreachable:
                self._end(message, UNDELIVERED, UNREACHABLE_HANDSET, "Unreachable destination")
            else:
                self._end(message, DELIVERED)
        finally:
            with self.account.lock:
                if not message.ended:
                    self.account.set_message_status(message, FAILED)
                message.settled = True
                self.account.changed.notify_all()

    def _fetch_media(self, media: MediaState) -> bool:
        assert media.source_url is not None
        try:
            response = requests.get(media.source_url, timeout=MEDIA_FETCH_SECONDS)
        except requests.RequestException:
            return False
        if not 200 <= response.status_code < 300:
            return False
        with self.account.lock:
            media.content = response.content
            kind = response.headers.get("Content-Type", "").split(";")[0].strip()
            if kind:
                media.content_type = kind
        return True

    def _end(
        self,
        message: MessageState,
        status: str,
        error_code: int | None = None,
        error_message: str | None = None,
    ) -> None:
        with self.account.lock:
            message.error_code = error_code
            message.error_message = error_message
            self.account.set_message_status(message, status)
        self._status_callback(message)

    def _status_callback(self, message: MessageState) -> None:
        # Twilio sends none for the initial "queued", and one for each later status.
        if not message.status_callback:
            return
        params = {
            "MessageSid": message.sid,
            "SmsSid": message.sid,
            "AccountSid": message.account_sid,
            "From": message.from_,
            "To": message.to,
            "MessageStatus": message.status,
            "SmsStatus": message.status,
            "ApiVersion": API_VERSION,
        }
        if message.error_code is not None:
            params["ErrorCode"] = str(message.error_code)
        http_status = self.signer.post(message.status_callback, params)
        with self.account.lock:
            message.callbacks.append(CallbackSent(message.status_callback, params, http_status))

    # -- inbound ------------------------------------------------------------------------

    def receive(
        self,
        from_number: str,
        to_number: str,
        body: str,
        media: Sequence[tuple[str, bytes]],
    ) -> InboundAnswer:
        """A message to one of the account's numbers, posted to its SmsUrl as Twilio posts
        it; the answer's <Message> verbs are sent back as outbound-reply messages."""
        with self.account.lock:
            sid = self.account.number_sid_of(to_number)
            if sid is None:
                raise ValueError(f"{to_number} is not one of the account's numbers")
            number = self.account.numbers[sid]
            url, method = number.sms_url, number.sms_method
            fallback_url, fallback_method = number.sms_fallback_url, number.sms_fallback_method
        if not url:
            raise RuntimeError(f"{to_number} has no SmsUrl: set it through the REST API first")
        if method != "POST" or (fallback_url and fallback_method != "POST"):
            raise RuntimeError("SmsMethod GET is not simulated (POST only)")
        message = self.create(
            to=to_number,
            from_=from_number,
            body=body,
            direction="inbound",
            status=RECEIVED,
            media=[(kind, content, None) for kind, content in media],
        )
        with self.account.lock:
            message.date_sent = utc_now()  # for an inbound message: when the webhook went
        params = {
            "MessageSid": message.sid,
            "SmsSid": message.sid,
            "SmsMessageSid": message.sid,
            "AccountSid": message.account_sid,
            "From": from_number,
            "To": to_number,
            "Body": body,
            "NumMedia": str(message.num_media),
            "NumSegments": str(message.num_segments),
            "SmsStatus": RECEIVED,
            "ApiVersion": API_VERSION,
        }
        base = self.base_url()
        for i, item in enumerate(message.media):
            params[f"MediaContentType{i}"] = item.content_type
            params[f"MediaUrl{i}"] = base + item.content_path()
        answered_url = url
        status, answer = self.signer.send(url, params)
        if not 200 <= status < 300 and fallback_url:
            # As for a call: the fallback gets the same parameters, and the error.
            fallback = {**params, "ErrorCode": str(HTTP_RETRIEVAL_FAILURE), "ErrorUrl": url}
            answered_url = fallback_url
            status, answer = self.signer.send(fallback_url, fallback)
        with self.account.lock:
            message.webhook_status, message.webhook_answer = status, answer
        try:
            if 200 <= status < 300:
                self._reply(message, answered_url, answer)
        finally:
            with self.account.lock:
                message.settled = True
                self.account.changed.notify_all()
        return {"message_sid": message.sid, "http_status": status, "body": answer}

    def _reply(self, inbound: MessageState, url: str, answer: str) -> None:
        """Send the <Message> verbs of the hotline's answer (to the sender, from the number
        unless the verb says otherwise); an answer that is not TwiML sends nothing."""
        try:
            root = ET.fromstring(answer) if answer.strip() else None
        except ET.ParseError:
            return  # Twilio logs 12100 (document parse failure) and sends nothing
        if root is None or root.tag != "Response":
            return
        for verb in root.iter("Message"):
            body_element = verb.find("Body")
            if body_element is not None:
                text = body_element.text or ""
            elif len(verb) == 0:
                text = verb.text or ""
            else:
                text = (verb.text or "").strip()
            media_urls = [urljoin(url, (m.text or "").strip()) for m in verb.iter("Media")]
            callback = verb.get("statusCallback") or verb.get("action")
            self.create_outbound(
                to=verb.get("to") or inbound.from_,
                from_=verb.get("from") or inbound.to,
                body=text,
                media_urls=media_urls,
                status_callback=urljoin(url, callback) if callback else None,
                direction="outbound-reply",
            )


def _guess_type(url: str) -> str:
    """A MediaUrl's content type until the fetch says (by its path's extension)."""
    kind, _ = mimetypes.guess_type(urlsplit(url).path)
    return kind or "application/octet-stream"
