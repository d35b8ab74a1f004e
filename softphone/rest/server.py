"""The REST stand-in as a live server on loopback: `RestStandIn`, a context manager.

The API runs in werkzeug's threaded server on 127.0.0.1 and a free port; calls created
through it are placed into the hotline over `hotline_transport` (an HttpTransport for a
live hotline), and so are the messages a test sends to the hotline's number
(`send_message`). The media CDN that Media content URLs redirect to (`softphone.rest.cdn`)
runs in a second such server on a port of its own, so that a client following the
redirect goes to another origin, as it does on Twilio. Everything it starts is stopped on
exit.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Sequence
from types import TracebackType
from typing import Any
from wsgiref.types import WSGIApplication

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from softphone.rest.app import StandInApp
from softphone.rest.callees import Callee
from softphone.rest.cdn import CdnRequest, MediaCdn
from softphone.rest.placement import InboundAnswer, Messaging, Placement, Signer
from softphone.rest.resources import (
    Account,
    CallState,
    MessageState,
    NumberState,
    QueueState,
)
from softphone.transport import Transport


class _QuietHandler(WSGIRequestHandler):
    """werkzeug logs every request to stderr; a test's output needs none of them."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class _Served:
    """One WSGI app in werkzeug's threaded server on loopback, with its serving thread."""

    def __init__(self, app: WSGIApplication, port: int, name: str) -> None:
        self.server: BaseWSGIServer = make_server(
            "127.0.0.1", port, app, threaded=True, request_handler=_QuietHandler
        )
        self.thread = threading.Thread(target=self.server.serve_forever, name=name, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


class RestStandIn:
    """Twilio's REST API (the subset the hotline uses) for one account, served live."""

    def __init__(
        self,
        hotline_transport: Transport,
        *,
        auth_token: str,
        account_sid: str,
        numbers: tuple[str, ...] = ("+15155550100",),
        calls_per_second: float = 1,
        max_concurrent_requests: int = 100,
        media_basic_auth: bool = True,
        port: int = 0,
    ) -> None:
        if not re.fullmatch(r"AC[0-9a-f]{32}", account_sid):
            raise ValueError("account_sid must be AC followed by 32 hex digits")
        if calls_per_second <= 0:
            raise ValueError("calls_per_second must be positive")
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.callees: dict[str, Callee] = {}
        """Who answers each number; unregistered numbers ring out (NoAnswer)."""
        self.default_callee: Callee | None = None
        """Who answers a number not in `callees` (None: nobody, NoAnswer)."""
        self.unreachable: set[str] = set()
        """Numbers whose messages end "undelivered" (30003) rather than "delivered"."""
        self.account = Account(account_sid, numbers)
        signer = Signer(hotline_transport, auth_token)
        self.placement = Placement(
            self.account,
            signer,
            auth_token,
            self.callees,
            calls_per_second,
            lambda: self.default_callee,
        )
        self.messaging = Messaging(self.account, signer, lambda: self.base_url, self.unreachable)
        self.cdn = MediaCdn(self.account, lambda: self.cdn_base_url)
        self.app = StandInApp(
            self.account,
            self.placement,
            self.messaging,
            auth_token,
            max_concurrent_requests,
            self.cdn.url_for,
            media_basic_auth,
        )
        self._port = port
        self._api: _Served | None = None
        self._cdn: _Served | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> RestStandIn:
        # The CDN first: the API's first redirect needs its address.
        self._cdn = _Served(self.cdn, 0, "twilio-stand-in-cdn")
        try:
            self._api = _Served(self.app, self._port, "twilio-stand-in-api")
        except BaseException:
            self._cdn.stop()
            self._cdn = None
            raise
        self.placement.start()
        return self

    def stop(self) -> None:
        if self._api is not None:
            self._api.stop()
        if self._cdn is not None:
            self._cdn.stop()
        self.placement.stop()
        self.messaging.stop()
        self._api = self._cdn = None

    def __enter__(self) -> RestStandIn:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """The API's origin (what the twilio Client is pointed at)."""
        if self._api is None:
            raise RuntimeError("the stand-in is not running")
        return self._api.base_url

    @property
    def cdn_base_url(self) -> str:
        """The media CDN's origin: every Media content redirect leads there."""
        if self._cdn is None:
            raise RuntimeError("the stand-in is not running")
        return self._cdn.base_url

    # -- what a test looks at -------------------------------------------------------------

    @property
    def created_calls(self) -> list[CallState]:
        """Every call create accepted, in order (live objects: placed_at fills in later)."""
        with self.account.lock:
            return sorted(self.account.calls.values(), key=lambda c: c.index)

    def call(self, sid: str) -> CallState:
        with self.account.lock:
            return self.account.calls[sid]

    def number(self, phone_number: str) -> NumberState:
        with self.account.lock:
            sid = self.account.number_sid_of(phone_number)
            if sid is None:
                raise KeyError(phone_number)
            return self.account.numbers[sid]

    def queue_named(self, friendly_name: str) -> QueueState | None:
        with self.account.lock:
            return next(
                (q for q in self.account.queues.values() if q.friendly_name == friendly_name),
                None,
            )

    @property
    def sent_messages(self) -> list[MessageState]:
        """Every outbound message (created through the API, or a <Message> reply), in order
        (live objects: status and callbacks fill in as it is sent)."""
        with self.account.lock:
            messages = sorted(self.account.messages.values(), key=lambda m: m.index)
            return [m for m in messages if m.direction != "inbound"]

    @property
    def received_messages(self) -> list[MessageState]:
        """Every message sent to the account's numbers (`send_message`), in order."""
        with self.account.lock:
            messages = sorted(self.account.messages.values(), key=lambda m: m.index)
            return [m for m in messages if m.direction == "inbound"]

    def message(self, sid: str) -> MessageState:
        with self.account.lock:
            return self.account.messages[sid]

    @property
    def cdn_requests(self) -> list[CdnRequest]:
        """Every request the media CDN answered, in order: its path, whether it carried an
        Authorization header (a client that lets its Twilio credentials follow the redirect
        does, and S3 refuses it), and the HTTP status it got (200 for a download served)."""
        return self.cdn.requests

    def wait_until_idle(self, timeout: float = 60) -> None:
        """Wait until every created call has ended and its last status callback has been
        answered, and every message likewise; TimeoutError if one has not in time."""
        deadline = time.monotonic() + timeout
        with self.account.changed:
            while not (
                all(c.settled for c in self.account.calls.values())
                and all(m.settled for m in self.account.messages.values())
            ):
                left = deadline - time.monotonic()
                if left <= 0:
                    calls = self.account.calls.values()
                    busy = [f"{c.sid} {c.status}" for c in calls if not c.settled]
                    messages = self.account.messages.values()
                    busy += [f"{m.sid} {m.status}" for m in messages if not m.settled]
                    raise TimeoutError(f"calls still going after {timeout}s: {', '.join(busy)}")
                self.account.changed.wait(left)

    # -- what a test sends ----------------------------------------------------------------

    def send_message(
        self,
        from_number: str,
        to_number: str,
        body: str = "",
        media: Sequence[tuple[str, bytes]] = (),
    ) -> InboundAnswer:
        """A text (or, with `media` as (content type, bytes) pairs, an MMS) from `from_number`
        to one of the account's numbers, delivered as Twilio delivers it: a signed POST to
        the number's SmsUrl (its SmsFallbackUrl if that fails) with Twilio's parameters,
        each MediaUrlN the stand-in's own URL for the content (basic auth with the REST
        credentials), which redirects to a pre-signed URL on the media CDN. Returns the
        hotline's answer; its <Message> replies are sent as outbound-reply messages
        (`sent_messages`)."""
        if self._api is None:
            raise RuntimeError("the stand-in is not running")
        return self.messaging.receive(from_number, to_number, body, media)

    # -- what a test makes go wrong -------------------------------------------------------

    @property
    def media_basic_auth(self) -> bool:
        """Twilio's "HTTP Basic Authentication for media": on, media content needs the
        account's credentials (401 without); off, anyone with the URL may fetch it."""
        return self.app.media_basic_auth

    @media_basic_auth.setter
    def media_basic_auth(self, required: bool) -> None:
        self.app.media_basic_auth = required

    def delay_requests(self, seconds: float) -> None:
        """Every following API request waits this long before it is answered (its work, a
        call's creation included, is done first)."""
        self.app.delay_requests(seconds)

    def fail_requests(self, count: int, status: int = 503, code: int = 20500) -> None:
        """The next `count` API requests fail with this HTTP status and Twilio error code."""
        self.app.fail_requests(count, status, code)

    def fail_media_downloads(self, count: int, status: int = 500) -> None:
        """The next `count` downloads from the media CDN fail with this HTTP status (and an
        S3 error body). Only a download that would otherwise have succeeded counts: a
        refused one (expired, tampered, with an Authorization header) uses none up."""
        self.cdn.fail_downloads(count, status)

    @property
    def media_url_seconds(self) -> float:
        """How long the pre-signed CDN URL of each Media content redirect stays valid
        (`softphone.rest.cdn.MEDIA_URL_SECONDS`); 0 makes every new URL expired already."""
        return self.cdn.url_seconds

    @media_url_seconds.setter
    def media_url_seconds(self, seconds: float) -> None:
        self.cdn.url_seconds = seconds
