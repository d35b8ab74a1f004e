"""The stand-in's media CDN: where a Media content URL's redirect leads, as on Twilio.

Twilio does not serve media bytes at a Media's content URI: it answers a redirect (307) to
a short-lived pre-signed URL on its CDN (S3, under media.twiliocdn.com). `MediaCdn` issues
such URLs (`url_for`) and serves them as S3 does, refusals included:

- a request carrying an Authorization header as well as the URL's signature: 400
  InvalidArgument ("Only one auth mechanism allowed"), which is what a client gets when it
  lets its Twilio credentials follow the redirect;
- a URL whose signature does not match, whose token was never issued, or which has
  expired: 403 AccessDenied;
- media deleted through the REST API since the URL was issued: 404 NoSuchKey.

The path is /media.twiliocdn.com/<account sid>/<token>, so that a test can tell a CDN URL
from the API's at a glance; the token is random and maps to the Media it was issued for.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final, NamedTuple
from urllib.parse import urlencode
from wsgiref.types import StartResponse, WSGIEnvironment
from xml.sax.saxutils import escape

from werkzeug.wrappers import Request, Response

from softphone.rest.resources import Account, ApiError, MediaState

CDN_HOST: Final = "media.twiliocdn.com"
MEDIA_URL_SECONDS: Final = 300
"""How long a redirect's pre-signed URL stays valid (Twilio's last a few minutes)."""
ONE_AUTH_MECHANISM: Final = (
    "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature "
    "query string parameter or the Authorization header should be specified"
)
"""S3's message when a pre-signed URL is requested with an Authorization header too."""
_FAILURE_CODES: Final = {503: "SlowDown"}
"""S3's error code for an injected failure's status (InternalError for any other)."""


class CdnRequest(NamedTuple):
    """One request the CDN answered, for assertions."""

    path: str
    had_authorization: bool
    status: int


@dataclass(frozen=True)
class _Grant:
    """What one issued URL's token stands for."""

    message_sid: str
    media_sid: str
    expires: int


class MediaCdn:
    """The CDN's WSGI app: issues pre-signed URLs for media content and serves them."""

    def __init__(self, account: Account, base_url: Callable[[], str]) -> None:
        self.account = account
        self.base_url = base_url
        """The CDN server's origin (http://127.0.0.1:<port>), known once it is listening."""
        self.url_seconds: float = MEDIA_URL_SECONDS
        """How long each issued URL is valid; a test shortens it to see URLs expire."""
        # A fresh key per stand-in: no URL from another run (or made up) can be valid.
        self._key = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._grants: dict[str, _Grant] = {}
        self._failures: list[int] = []
        self._requests: list[CdnRequest] = []

    # -- what the API uses ------------------------------------------------------------------

    def url_for(self, media: MediaState) -> str:
        """A fresh pre-signed URL for `media`'s content, valid for `url_seconds`."""
        token = secrets.token_hex(20)
        path = f"/{CDN_HOST}/{media.account_sid}/{token}"
        now = time.time()
        expires = int(now + self.url_seconds)
        with self._lock:
            # An expired URL is refused before its token is looked up, so its grant can go.
            self._grants = {t: g for t, g in self._grants.items() if g.expires > now}
            self._grants[token] = _Grant(media.parent_sid, media.sid, expires)
        query = urlencode({"Expires": expires, "Signature": self._sign(path, expires)})
        return f"{self.base_url()}{path}?{query}"

    def _sign(self, path: str, expires: int) -> str:
        return hmac.new(self._key, f"GET\n{expires}\n{path}".encode(), hashlib.sha256).hexdigest()

    # -- test knobs and what a test looks at ------------------------------------------------

    def fail_downloads(self, count: int, status: int) -> None:
        with self._lock:
            self._failures.extend([status] * count)

    @property
    def requests(self) -> list[CdnRequest]:
        with self._lock:
            return list(self._requests)

    # -- WSGI -------------------------------------------------------------------------------

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        response = self._answer(request)
        had_authorization = "Authorization" in request.headers
        with self._lock:
            self._requests.append(CdnRequest(request.path, had_authorization, response.status_code))
        return response(environ, start_response)

    def _answer(self, request: Request) -> Response:
        if request.method != "GET":
            return _s3_error(405, "MethodNotAllowed", "The specified method is not allowed.")
        if "Authorization" in request.headers:
            return _s3_error(400, "InvalidArgument", ONE_AUTH_MECHANISM)
        expires_text = request.args.get("Expires", "")
        signature = request.args.get("Signature", "")
        if not (expires_text.isascii() and expires_text.isdigit()) or len(expires_text) > 12:
            return _s3_error(403, "AccessDenied", "Access Denied")
        expires = int(expires_text)
        # Bytes, not str: compare_digest refuses a str that is not ASCII (a forged one may be).
        if not hmac.compare_digest(signature.encode(), self._sign(request.path, expires).encode()):
            return _s3_error(403, "AccessDenied", "Access Denied")
        if time.time() >= expires:
            return _s3_error(403, "AccessDenied", "Request has expired")
        token = request.path.rsplit("/", 1)[-1]
        with self._lock:
            grant = self._grants.get(token)
        if grant is None:
            return _s3_error(403, "AccessDenied", "Access Denied")
        with self.account.lock:
            try:
                media = self.account.medium(grant.message_sid, grant.media_sid)
            except ApiError:
                # Deleted through the REST API since the URL was issued.
                return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
            content, kind = media.content, media.content_type
        if content is None:
            return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
        with self._lock:
            # Only a download that would have succeeded uses up an injected failure.
            failure = self._failures.pop(0) if self._failures else None
        if failure is not None:
            code = _FAILURE_CODES.get(failure, "InternalError")
            return _s3_error(failure, code, "The stand-in was told to fail this download.")
        return Response(content, status=200, content_type=kind)


def _s3_error(status: int, code: str, message: str) -> Response:
    """An error in S3's XML shape."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
        f"<RequestId>{secrets.token_hex(8).upper()}</RequestId></Error>"
    )
    return Response(body, status=status, content_type="application/xml")
