"""The softphone fails as Twilio does: connection overrides (timeouts, retries, total time),
then the Fallback URL, then the application-error message and a hang-up.

A tiny threaded HTTP server on loopback plays the webhook: each request to a path takes the
next scripted behaviour (answer TwiML, answer an HTTP error, or hang past the read timeout);
a port nobody listens on refuses connections.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urljoin

import pytest
from twilio.request_validator import RequestValidator

from softphone import (
    APPLICATION_ERROR,
    APPLICATION_ERROR_MESSAGE,
    COMPLETED,
    ConnectionOverrides,
    HttpTransport,
    Softphone,
    parse_overrides,
    strip_fragment,
)
from softphone.twiml import ERROR_HTTP_RETRIEVAL

AUTH_TOKEN = "0123456789abcdef0123456789abcdef"
CALLER = "+15155551234"
HOTLINE_OVERRIDES = "#ct=1000&rt=4000&tt=6000&rc=1&rp=ct,rt"
"""What `hotline twilio configure` puts on the Voice URL (ivr.twilio_setup)."""


def say(text: str) -> str:
    return f"<Response><Say>{text}</Say><Hangup/></Response>"


@dataclass
class Hang:
    """Answer nothing for this long (the connection stays open)."""

    seconds: float


Behaviour = str | int | Hang
"""A TwiML body to answer 200 with, an HTTP status to answer with, or a Hang."""


@dataclass
class Seen:
    path: str
    form: dict[str, str]
    valid_signature: bool


@dataclass
class Webhook:
    port: int
    scripts: dict[str, list[Behaviour]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def next_behaviour(self, path: str) -> Behaviour:
        with self.lock:
            script = self.scripts.get(path, [])
            return script.pop(0) if len(script) > 1 else (script[0] if script else 404)


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    validator = RequestValidator(AUTH_TOKEN)
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    hook = Webhook(server.server_address[1])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = dict(parse_qsl(self.rfile.read(length).decode()))
            signature = self.headers.get("X-Twilio-Signature", "")
            valid = validator.validate(hook.url(self.path), form, signature)
            with hook.lock:
                hook.seen.append(Seen(self.path, form, valid))
            behaviour = hook.next_behaviour(self.path)
            if isinstance(behaviour, Hang):
                time.sleep(behaviour.seconds)
                self.close_connection = True
                return
            status, body = (200, behaviour) if isinstance(behaviour, str) else (behaviour, "")
            payload = body.encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:
                pass  # the softphone gave up on this request already

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    server.RequestHandlerClass = Handler
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def refusing_url(path: str) -> str:
    """A URL on a port that was free a moment ago: connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"


def call(voice_url: str, fallback_url: str | None = None) -> Softphone:
    return Softphone(
        HttpTransport(), voice_url, AUTH_TOKEN, from_number=CALLER, fallback_url=fallback_url
    )


def retries_in(phone: Softphone) -> list[tuple[object, ...]]:
    return [event[1:] for event in phone.record.transcript if event[0] == "retry"]


# -- parsing ----------------------------------------------------------------------------------


def test_twilio_defaults_without_a_fragment() -> None:
    assert parse_overrides("https://hotline.example/voice") == ConnectionOverrides(
        connect_timeout_ms=5000,
        read_timeout_ms=15000,
        total_timeout_ms=15000,
        retry_count=1,
        retry_policy=frozenset({"ct"}),
    )
    defaults = ConnectionOverrides()
    assert defaults.retries("ct") and not defaults.retries("rt") and not defaults.retries("5xx")


def test_the_hotlines_overrides_parse() -> None:
    found = parse_overrides("https://hotline.example/voice?x=1" + HOTLINE_OVERRIDES)
    assert (found.connect_timeout_ms, found.read_timeout_ms, found.total_timeout_ms) == (
        1000,
        4000,
        6000,
    )
    assert found.retry_count == 1
    assert found.retry_policy == {"ct", "rt"}
    assert not found.retries("5xx")
    assert parse_overrides("http://h/v#rp=all").retries("4xx")


def test_values_are_clamped_to_twilios_ranges_and_junk_ignored() -> None:
    found = parse_overrides("http://h/v#ct=5&rt=99999&tt=0&rc=9&rp=5xx,bogus")
    assert (found.connect_timeout_ms, found.read_timeout_ms, found.total_timeout_ms) == (
        100,
        15000,
        100,
    )
    assert found.retry_count == 5
    assert found.retry_policy == {"5xx"}
    junk = parse_overrides("http://h/v#ct=soon&rc=-3")
    assert junk.connect_timeout_ms == 5000
    assert junk.retry_count == 0


def test_the_fragment_is_neither_requested_nor_inherited() -> None:
    url = "https://hotline.example/voice?a=1" + HOTLINE_OVERRIDES
    assert strip_fragment(url) == "https://hotline.example/voice?a=1"
    # A Gather action resolved against the Voice URL does not carry its overrides.
    assert parse_overrides(urljoin(url, "/voice/pin")) == ConnectionOverrides()


# -- failing as Twilio fails ------------------------------------------------------------------


def test_a_read_timeout_is_retried_and_the_retry_answers(webhook: Webhook) -> None:
    webhook.scripts["/voice"] = [Hang(1.5), say("Welcome back.")]
    phone = call(webhook.url("/voice#rt=300&tt=3000&rc=1&rp=ct,rt"))
    record = phone.call(lambda _prompt: None)
    assert record.outcome == COMPLETED
    assert record.heard == ["Welcome back."]
    assert record.statuses == [0, 200]
    assert record.retries == 1
    assert retries_in(phone) == [(webhook.url("/voice"), "rt", 1)]
    assert record.application_errors == 0
    # Both attempts went to the URL without its fragment, signed as such.
    assert [(s.path, s.valid_signature) for s in webhook.seen] == [("/voice", True)] * 2


def test_a_read_timeout_outside_the_policy_goes_to_the_fallback(webhook: Webhook) -> None:
    webhook.scripts["/voice"] = [Hang(1.5)]
    webhook.scripts["/fallback"] = [say("Please hold.")]
    record = call(webhook.url("/voice#rt=300&rc=3&rp=ct"), webhook.url("/fallback")).call(
        lambda _prompt: None
    )
    assert record.statuses == [0, 200]
    assert record.retries == 0
    assert record.heard == ["Please hold."]


def test_connection_failures_are_retried_then_the_fallback_answers(webhook: Webhook) -> None:
    webhook.scripts["/fallback"] = [say("Please hold while we reconnect you.")]
    dead = refusing_url("/voice")
    phone = call(dead + "#ct=500&rc=2&rp=ct", webhook.url("/fallback"))
    record = phone.call(lambda _prompt: None)
    assert record.statuses == [0, 0, 0, 200]
    assert record.retries == 2
    assert [event[1] for event in retries_in(phone)] == ["ct", "ct"]
    assert record.outcome == COMPLETED
    assert record.heard == ["Please hold while we reconnect you."]
    assert record.error_codes == [ERROR_HTTP_RETRIEVAL]
    (fallback,) = webhook.seen
    assert fallback.valid_signature
    assert fallback.form["ErrorCode"] == str(ERROR_HTTP_RETRIEVAL)
    assert fallback.form["ErrorUrl"] == dead  # without the fragment


def test_when_everything_fails_the_caller_hears_the_application_error(
    webhook: Webhook,
) -> None:
    webhook.scripts["/voice"] = [500]
    webhook.scripts["/fallback"] = [503]
    phone = call(webhook.url("/voice#rc=1&rp=5xx"), webhook.url("/fallback"))
    record = phone.call(lambda _prompt: None)
    # The Voice URL's 500 is retried once (rp=5xx); the fallback has Twilio's defaults,
    # which retry only connection failures, so its 503 is final.
    assert record.statuses == [500, 500, 503]
    assert record.retries == 1
    assert record.outcome == APPLICATION_ERROR
    assert record.heard == [APPLICATION_ERROR_MESSAGE]
    assert record.application_errors == 2
    assert phone.record.transcript[-1] == ("say", APPLICATION_ERROR_MESSAGE)


def test_retries_stop_when_the_total_time_is_spent(webhook: Webhook) -> None:
    webhook.scripts["/voice"] = [Hang(3.0)]
    started = time.monotonic()
    phone = call(webhook.url("/voice#rt=1000&tt=1500&rc=5&rp=rt"))
    record = phone.call(lambda _prompt: None)
    elapsed = time.monotonic() - started
    # 1 s for the first attempt, the 0.5 s left for the second, then no more (rc=5 or not).
    assert record.statuses == [0, 0]
    assert record.retries == 1
    assert 1.4 < elapsed < 2.5
    assert record.outcome == APPLICATION_ERROR
    assert record.heard == [APPLICATION_ERROR_MESSAGE]
