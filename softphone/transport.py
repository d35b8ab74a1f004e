"""How the softphone's webhook requests reach the application: over HTTP, or in-process."""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Protocol, runtime_checkable
from urllib.parse import urlsplit

import requests
from flask.testing import FlaskClient
from urllib3.exceptions import ConnectTimeoutError

# Twilio gives a webhook 15 seconds to answer before it logs error 11200 and gives up on it.
TWILIO_TIMEOUT_SECONDS = 15.0

# Status a transport reports when no HTTP answer arrived at all (refused, reset, timed out).
NO_RESPONSE = 0

# How a transport's NO_RESPONSE body starts, so that the softphone can tell the failures
# apart as Twilio's retry policy does (softphone.overrides): never connected, or sent and
# not answered. A NO_RESPONSE body with neither counts as never connected.
CONNECT_FAILED = "connect failed: "
NOT_ANSWERED = "not answered: "


def sent_unanswered(status: int, body: str) -> bool:
    """Whether a failed request was sent but not answered (rather than never connected)."""
    return status == NO_RESPONSE and body.startswith(NOT_ANSWERED)


class Transport(Protocol):
    """Sends one form-encoded POST and returns (HTTP status, body); NO_RESPONSE if none came."""

    def post(
        self, url: str, params: Mapping[str, str], headers: Mapping[str, str]
    ) -> tuple[int, str]: ...


@runtime_checkable
class TimedTransport(Transport, Protocol):
    """A transport that can also wait a given time to connect and to read the answer
    (seconds), as Twilio's connection overrides set them; transports without it (in-process
    ones) are used through `post`, and never time out."""

    def post_within(
        self,
        url: str,
        params: Mapping[str, str],
        headers: Mapping[str, str],
        *,
        connect_timeout: float,
        read_timeout: float,
    ) -> tuple[int, str]: ...


class HttpTransport:
    """Real HTTP with keep-alive, for the terminal softphone and the load tester."""

    def __init__(
        self,
        *,
        timeout: float = TWILIO_TIMEOUT_SECONDS,
        session: requests.Session | None = None,
    ) -> None:
        self.timeout = timeout
        self.session = session if session is not None else requests.Session()

    def post(
        self, url: str, params: Mapping[str, str], headers: Mapping[str, str]
    ) -> tuple[int, str]:
        return self.post_within(
            url, params, headers, connect_timeout=self.timeout, read_timeout=self.timeout
        )

    def post_within(
        self,
        url: str,
        params: Mapping[str, str],
        headers: Mapping[str, str],
        *,
        connect_timeout: float,
        read_timeout: float,
    ) -> tuple[int, str]:
        try:
            # Redirects are not followed: a webhook answering 3xx is treated as a failed fetch,
            # which is stricter than Twilio but keeps every request a signed POST we chose.
            response = self.session.post(
                url,
                data=dict(params),
                headers=dict(headers),
                # The transport's own timeout caps the overrides' (a test's short one wins).
                timeout=(min(connect_timeout, self.timeout), min(read_timeout, self.timeout)),
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            prefix = CONNECT_FAILED if _never_connected(exc) else NOT_ANSWERED
            return NO_RESPONSE, f"{prefix}{type(exc).__name__}: {exc}"
        return response.status_code, response.text

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> HttpTransport:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _never_connected(exc: requests.RequestException) -> bool:
    """Whether the request failed before it was sent: a connect timeout, or requests'
    ConnectionError wrapping urllib3's NewConnectionError (refused, unreachable: a subclass
    of ConnectTimeoutError); a reset or close after sending wraps a ProtocolError instead."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if not isinstance(exc, requests.ConnectionError):
        return False
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, ConnectTimeoutError)


class FlaskClientTransport:
    """In-process requests through a Flask test client, for tests.

    The absolute URL is split so that the application sees the same scheme, host (with port)
    and path+query that it would behind a real server, which is what its signature check uses.
    """

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def post(
        self, url: str, params: Mapping[str, str], headers: Mapping[str, str]
    ) -> tuple[int, str]:
        parts = urlsplit(url)
        path = parts.path or "/"
        if parts.query:
            path = f"{path}?{parts.query}"
        response = self.client.post(
            path,
            data=dict(params),
            headers=dict(headers),
            base_url=f"{parts.scheme}://{parts.netloc}",
        )
        return response.status_code, response.get_data(as_text=True)
