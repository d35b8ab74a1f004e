"""The stand-in's WSGI app: Twilio's REST URL layout, basic auth, errors and paging.

A Media's content URL is its resource's URI without ".json". As on Twilio, it does not
answer the bytes: behind basic auth (unless the account's "HTTP Basic Authentication for
media" is turned off, `media_basic_auth`) it answers a 307 redirect to a fresh pre-signed
URL on the media CDN (`softphone.rest.cdn`), valid for a few minutes, which serves them
only to a request without an Authorization header. A client must send its credentials on
the first hop only.

Plain werkzeug rather than Flask: each request is parsed once here and answered from
`resources` and `placement`, and no Flask request context is involved.
"""

from __future__ import annotations

import hmac
import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Final
from urllib.parse import urlencode
from wsgiref.types import StartResponse, WSGIEnvironment

from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Request, Response

from softphone.caller import new_sid
from softphone.rest.placement import Messaging, Placement
from softphone.rest.resources import (
    API_ROOT,
    IN_PROGRESS,
    NUMBER_FIELDS,
    QUEUE_DEFAULT_SIZE,
    QUEUE_MAX_SIZE,
    Account,
    ApiError,
    CallState,
    Json,
    MediaState,
    QueueState,
    not_found,
    utc_now,
)

# Twilio's error codes the stand-in answers with (twilio.com/docs/errors/<code>).
AUTHENTICATE: Final = 20003
NOT_FOUND: Final = 20404
METHOD_NOT_ALLOWED: Final = 20004
TOO_MANY_REQUESTS: Final = 20429
INVALID_PARAMETER: Final = 20001
"""The stand-in's code for a parameter value it refuses where Twilio's own code for that
case is not documented (Twilio's messages name the parameter, as these do)."""
MISSING_TO: Final = 21201
INVALID_URL: Final = 21205
FROM_NOT_OWNED: Final = 21210
INVALID_TO: Final = 21211
MISSING_FROM: Final = 21213
CALL_NOT_IN_PROGRESS: Final = 21220
MESSAGE_BODY_REQUIRED: Final = 21602
MESSAGE_FROM_REQUIRED: Final = 21603
MESSAGE_TO_REQUIRED: Final = 21604
MESSAGE_FROM_NOT_OWNED: Final = 21606
MESSAGE_INVALID_STATUS_CALLBACK: Final = 21609
MESSAGE_BODY_TOO_LONG: Final = 21617
MESSAGE_INVALID_MEDIA_URL: Final = 21620

DEFAULT_PAGE_SIZE: Final = 50
MAX_PAGE_SIZE: Final = 1000
DEFAULT_RING_TIMEOUT: Final = 60
MAX_RING_TIMEOUT: Final = 600

STATUS_CALLBACK_EVENTS: Final = frozenset({"initiated", "ringing", "answered", "completed"})
MACHINE_DETECTION: Final = frozenset({"Enable", "DetectMessageEnd"})
MAX_BODY_CHARACTERS: Final = 1600
MAX_MEDIA: Final = 10
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")

Handler = Callable[[Request, dict[str, str]], tuple[int, Json | None] | Response]
"""A route's handler: (HTTP status, JSON body; None for no body), or a whole Response."""


@dataclass(frozen=True)
class _Route:
    pattern: re.Pattern[str]
    methods: dict[str, Handler]
    media: bool = False
    """Media content: public when the account does not require basic auth for media."""


class StandInApp:
    """The WSGI application; the knobs a test turns live here too (delays, failures)."""

    def __init__(
        self,
        account: Account,
        placement: Placement,
        messaging: Messaging,
        auth_token: str,
        max_concurrent_requests: int,
        media_redirect: Callable[[MediaState], str],
        media_basic_auth: bool = True,
    ) -> None:
        self.account = account
        self.placement = placement
        self.messaging = messaging
        self.media_basic_auth = media_basic_auth
        """Twilio's "HTTP Basic Authentication for media" setting (on: content needs auth)."""
        self.media_redirect = media_redirect
        """A fresh pre-signed CDN URL for a Media's content (where its content URL redirects)."""
        self.auth_token = auth_token
        self.max_concurrent_requests = max_concurrent_requests
        self._lock = threading.Lock()
        self._in_flight = 0
        self._delay = 0.0
        self._failures: list[ApiError] = []
        prefix = f"^{re.escape(API_ROOT)}/Accounts/(?P<account>[^/]+)"
        self.routes = [
            _Route(
                re.compile(prefix + r"/Calls\.json$"),
                {"GET": self.list_calls, "POST": self.create_call},
            ),
            _Route(
                re.compile(prefix + r"/Calls/(?P<sid>[^/]+)\.json$"),
                {"GET": self.fetch_call, "POST": self.update_call},
            ),
            _Route(
                re.compile(prefix + r"/IncomingPhoneNumbers\.json$"),
                {"GET": self.list_numbers},
            ),
            _Route(
                re.compile(prefix + r"/IncomingPhoneNumbers/(?P<sid>[^/]+)\.json$"),
                {"GET": self.fetch_number, "POST": self.update_number},
            ),
            _Route(
                re.compile(prefix + r"/Queues\.json$"),
                {"GET": self.list_queues, "POST": self.create_queue},
            ),
            _Route(
                re.compile(prefix + r"/Queues/(?P<sid>[^/]+)\.json$"),
                {"GET": self.fetch_queue, "POST": self.update_queue},
            ),
            _Route(
                re.compile(prefix + r"/Messages\.json$"),
                {"GET": self.list_messages, "POST": self.create_message},
            ),
            _Route(
                re.compile(prefix + r"/Messages/(?P<sid>[^/]+)\.json$"),
                {"GET": self.fetch_message},
            ),
            _Route(
                re.compile(prefix + r"/Messages/(?P<message>[^/]+)/Media\.json$"),
                {"GET": self.list_media},
            ),
            _Route(
                re.compile(prefix + r"/Messages/(?P<message>[^/]+)/Media/(?P<sid>[^/]+)\.json$"),
                {"GET": self.fetch_media, "DELETE": self.delete_media},
            ),
            _Route(
                re.compile(prefix + r"/Messages/(?P<message>[^/]+)/Media/(?P<sid>[^/.]+)$"),
                {"GET": self.media_content},
                media=True,
            ),
        ]

    # -- test knobs -----------------------------------------------------------------------

    def delay_requests(self, seconds: float) -> None:
        with self._lock:
            self._delay = max(0.0, seconds)

    def fail_requests(self, count: int, status: int, code: int) -> None:
        error = ApiError(status, code, "Service is unavailable (the stand-in was told to fail)")
        with self._lock:
            self._failures.extend([error] * count)

    # -- WSGI -----------------------------------------------------------------------------

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        with self._lock:
            if self._in_flight >= self.max_concurrent_requests:
                response = _error(ApiError(429, TOO_MANY_REQUESTS, "Too Many Requests"))
                return response(environ, start_response)
            self._in_flight += 1
            failure = self._failures.pop(0) if self._failures else None
            delay = self._delay
        try:
            response = _error(failure) if failure is not None else self._answer(request)
            # The request's work is done before the wait: a client that gives up meanwhile
            # has still created what it asked for, as with a slow Twilio.
            if delay:
                time.sleep(delay)
        finally:
            with self._lock:
                self._in_flight -= 1
        return response(environ, start_response)

    def _answer(self, request: Request) -> Response:
        try:
            for route in self.routes:
                match = route.pattern.match(request.path)
                if match is None:
                    continue
                if not (route.media and not self.media_basic_auth):
                    self._authenticate(request)
                if match["account"] != self.account.sid:
                    raise ApiError(
                        404, NOT_FOUND, f"The requested resource {request.path} was not found"
                    )
                handler = route.methods.get(request.method)
                if handler is None:
                    raise ApiError(405, METHOD_NOT_ALLOWED, "Method not allowed")
                result = handler(request, match.groupdict())
                if isinstance(result, Response):
                    return result
                status, body = result
                if body is None:
                    return Response(status=status)
                return Response(json.dumps(body), status=status, mimetype="application/json")
            self._authenticate(request)
            raise ApiError(404, NOT_FOUND, f"The requested resource {request.path} was not found")
        except ApiError as error:
            return _error(error)

    def _authenticate(self, request: Request) -> None:
        auth = request.authorization
        username = (auth.username or "") if auth is not None else ""
        password = (auth.password or "") if auth is not None else ""
        ok = hmac.compare_digest(username.encode(), self.account.sid.encode())
        ok = hmac.compare_digest(password.encode(), self.auth_token.encode()) and ok
        if not ok:
            raise ApiError(401, AUTHENTICATE, "Authenticate")

    # -- Calls ----------------------------------------------------------------------------

    def create_call(self, request: Request, _: dict[str, str]) -> tuple[int, Json]:
        form = request.form
        to = form.get("To", "")
        from_ = form.get("From", "")
        url = form.get("Url", "")
        twiml = form.get("Twiml") or None
        if not to:
            raise ApiError(400, MISSING_TO, "A 'To' phone number is required.")
        if not _E164.fullmatch(to):
            raise ApiError(400, INVALID_TO, f"The 'To' number {to} is not a valid phone number.")
        if not from_:
            raise ApiError(400, MISSING_FROM, "A 'From' phone number is required.")
        if self.account.number_sid_of(from_) is None:
            raise ApiError(
                400,
                FROM_NOT_OWNED,
                f"The source phone number provided, {from_}, is not yet verified for your "
                "account. You may only make calls from phone numbers that you've verified or "
                "purchased from Twilio.",
            )
        if not url and twiml is None:
            raise ApiError(400, INVALID_URL, "Url parameter is required.")
        if url and not url.startswith(("http://", "https://")):
            raise ApiError(400, INVALID_URL, f"Url is not a valid URL: {url}")
        _post_only(form, "Method")
        _post_only(form, "StatusCallbackMethod")
        _post_only(form, "FallbackMethod")
        _post_only(form, "AsyncAmdStatusCallbackMethod")
        events = frozenset(
            word for value in form.getlist("StatusCallbackEvent") for word in value.split()
        )
        if events - STATUS_CALLBACK_EVENTS:
            raise ApiError(
                400, INVALID_PARAMETER, f"StatusCallbackEvent {sorted(events)} is not valid"
            )
        detection = form.get("MachineDetection") or None
        if detection is not None and detection not in MACHINE_DETECTION:
            raise ApiError(400, INVALID_PARAMETER, f"MachineDetection {detection!r} is not valid")
        async_amd = form.get("AsyncAmd", "false").lower()
        if async_amd not in ("true", "false"):
            raise ApiError(400, INVALID_PARAMETER, f"AsyncAmd {async_amd!r} is not valid")
        timeout = _whole(form, "Timeout", DEFAULT_RING_TIMEOUT)
        with self.account.lock:
            sid = new_sid("CA")
            call = CallState(
                sid=sid,
                account_sid=self.account.sid,
                to=to,
                from_=from_,
                # Inline TwiML is served to the softphone by the stand-in itself (placement).
                url=url or f"http://twiml.stand-in.invalid/{sid}",
                method="POST",
                fallback_url=form.get("FallbackUrl") or None,
                status_callback=form.get("StatusCallback") or None,
                status_callback_events=events,
                machine_detection=detection,
                async_amd=async_amd == "true",
                async_amd_status_callback=form.get("AsyncAmdStatusCallback") or None,
                # Twilio caps the ring time at 600 seconds rather than refusing more.
                timeout=min(timeout, MAX_RING_TIMEOUT),
                twiml=twiml,
                created_at=time.monotonic(),
                date_created=utc_now(),
                index=len(self.account.calls),
            )
            self.account.calls[sid] = call
            body = self.account.call_json(call)
        self.placement.enqueue(call)
        return 201, body

    def fetch_call(self, _: Request, match: dict[str, str]) -> tuple[int, Json]:
        call = self.account.call(match["sid"])
        return 200, self.account.call_json(call)

    def update_call(self, request: Request, match: dict[str, str]) -> tuple[int, Json]:
        call = self.account.call(match["sid"])
        form = request.form
        status = form.get("Status")
        url = form.get("Url")
        if form.get("Twiml"):
            raise ApiError(400, INVALID_PARAMETER, "Twiml updates are not simulated; use Url")
        _post_only(form, "Method")
        if status is not None:
            if status == "canceled":
                self.placement.cancel(call)
            elif status == "completed":
                self.placement.hang_up(call)
            else:
                raise ApiError(400, INVALID_PARAMETER, f"Status {status!r} is not valid")
        elif url:
            if not url.startswith(("http://", "https://")):
                raise ApiError(400, INVALID_URL, f"Url is not a valid URL: {url}")
            with self.account.lock:
                phone = call.softphone if call.status == IN_PROGRESS else None
            if phone is None:
                raise ApiError(
                    400, CALL_NOT_IN_PROGRESS, "Call is not in-progress. Cannot redirect."
                )
            phone.redirect(url)
        return 200, self.account.call_json(call)

    def list_calls(self, request: Request, _: dict[str, str]) -> tuple[int, Json]:
        args = request.args
        with self.account.lock:
            calls = sorted(
                self.account.calls.values(),
                key=lambda c: (c.date_created.replace(microsecond=0), c.index),
                reverse=True,
            )
            if to := args.get("To"):
                calls = [c for c in calls if c.to == to]
            if from_ := args.get("From"):
                calls = [c for c in calls if c.from_ == from_]
            if status := args.get("Status"):
                calls = [c for c in calls if c.status == status]
            for name in ("StartTime", "StartTime>", "StartTime<"):
                if value := args.get(name):
                    moment = _moment(name, value)
                    calls = [c for c in calls if _on(c.start_time, name, moment)]
            records = [(c.sid, self.account.call_json(c)) for c in calls]
        return 200, _page(request, "calls", records)

    # -- IncomingPhoneNumbers --------------------------------------------------------------

    def list_numbers(self, request: Request, _: dict[str, str]) -> tuple[int, Json]:
        wanted = request.args.get("PhoneNumber", "")
        # Twilio matches PhoneNumber as a pattern within the number; digits are enough here.
        digits = re.sub(r"[^0-9]", "", wanted)
        with self.account.lock:
            records = [
                (n.sid, n.to_json())
                for n in self.account.numbers.values()
                if digits in n.phone_number
            ]
        return 200, _page(request, "incoming_phone_numbers", records)

    def fetch_number(self, _: Request, match: dict[str, str]) -> tuple[int, Json]:
        with self.account.lock:
            return 200, self.account.number(match["sid"]).to_json()

    def update_number(self, request: Request, match: dict[str, str]) -> tuple[int, Json]:
        form = request.form
        for name in NUMBER_FIELDS:
            if name.endswith("Method") and form.get(name, "POST").upper() not in ("GET", "POST"):
                raise ApiError(400, INVALID_PARAMETER, f"{name} {form[name]!r} is not valid")
        with self.account.lock:
            number = self.account.number(match["sid"])
            for name, attribute in NUMBER_FIELDS.items():
                if name in form:
                    value = form[name].upper() if name.endswith("Method") else form[name]
                    setattr(number, attribute, value)
            number.date_updated = utc_now()
            return 200, number.to_json()

    # -- Queues ---------------------------------------------------------------------------

    def list_queues(self, request: Request, _: dict[str, str]) -> tuple[int, Json]:
        with self.account.lock:
            queues = sorted(self.account.queues.values(), key=lambda q: q.date_created)
            records = [(q.sid, q.to_json()) for q in queues]
        return 200, _page(request, "queues", records)

    def create_queue(self, request: Request, _: dict[str, str]) -> tuple[int, Json]:
        name = request.form.get("FriendlyName", "")
        if not name or len(name) > 64:
            raise ApiError(400, INVALID_PARAMETER, "FriendlyName is required (64 characters)")
        max_size = _queue_size(request.form, QUEUE_DEFAULT_SIZE)
        with self.account.lock:
            if any(q.friendly_name == name for q in self.account.queues.values()):
                # Twilio keeps queue names unique within an account.
                raise ApiError(400, INVALID_PARAMETER, f"A queue named {name!r} already exists")
            now = utc_now()
            queue = QueueState(new_sid("QU"), self.account.sid, name, max_size, now, now)
            self.account.queues[queue.sid] = queue
            return 201, queue.to_json()

    def fetch_queue(self, _: Request, match: dict[str, str]) -> tuple[int, Json]:
        with self.account.lock:
            return 200, self.account.queue(match["sid"]).to_json()

    def update_queue(self, request: Request, match: dict[str, str]) -> tuple[int, Json]:
        with self.account.lock:
            queue = self.account.queue(match["sid"])
            queue.max_size = _queue_size(request.form, queue.max_size)
            if name := request.form.get("FriendlyName"):
                queue.friendly_name = name[:64]
            queue.date_updated = utc_now()
            return 200, queue.to_json()

    # -- Messages and their Media ------------------------------------------------------------

    def create_message(self, request: Request, _: dict[str, str]) -> tuple[int, Json]:
        form = request.form
        to = form.get("To", "")
        from_ = form.get("From", "")
        body = form.get("Body", "")
        media_urls = [url for url in form.getlist("MediaUrl") if url]
        callback = form.get("StatusCallback") or None
        if not to:
            raise ApiError(
                400, MESSAGE_TO_REQUIRED, "A 'To' phone number is required to send a Message."
            )
        if not _E164.fullmatch(to):
            raise ApiError(400, INVALID_TO, f"The 'To' number {to} is not a valid phone number.")
        if form.get("MessagingServiceSid"):
            raise ApiError(400, INVALID_PARAMETER, "MessagingServiceSid is not simulated")
        if not from_:
            raise ApiError(
                400,
                MESSAGE_FROM_REQUIRED,
                "A 'From' or 'MessagingServiceSid' parameter is required to send a message",
            )
        if self.account.number_sid_of(from_) is None:
            raise ApiError(
                400,
                MESSAGE_FROM_NOT_OWNED,
                f"The 'From' number {from_} is not a valid message-capable Twilio phone number "
                "for this destination/account",
            )
        if not body and not media_urls:
            raise ApiError(400, MESSAGE_BODY_REQUIRED, "Message body is required.")
        if len(body) > MAX_BODY_CHARACTERS:
            raise ApiError(
                400,
                MESSAGE_BODY_TOO_LONG,
                "The concatenated message body exceeds the 1600 character limit.",
            )
        if len(media_urls) > MAX_MEDIA:
            raise ApiError(
                400, INVALID_PARAMETER, f"A message may have at most {MAX_MEDIA} MediaUrl"
            )
        for url in media_urls:
            if not url.startswith(("http://", "https://")):
                raise ApiError(400, MESSAGE_INVALID_MEDIA_URL, f"Invalid media URL: {url}")
        if callback is not None and not callback.startswith(("http://", "https://")):
            raise ApiError(
                400, MESSAGE_INVALID_STATUS_CALLBACK, f"Invalid StatusCallback url: {callback}"
            )
        message = self.messaging.create_outbound(
            to=to, from_=from_, body=body, media_urls=media_urls, status_callback=callback
        )
        with self.account.lock:
            # The answer shows the message as created: "queued", whatever its thread did since.
            return 201, {**message.to_json(), "status": "queued", "date_sent": None}

    def fetch_message(self, _: Request, match: dict[str, str]) -> tuple[int, Json]:
        with self.account.lock:
            return 200, self.account.message(match["sid"]).to_json()

    def list_messages(self, request: Request, _: dict[str, str]) -> tuple[int, Json]:
        args = request.args
        with self.account.lock:
            messages = sorted(
                self.account.messages.values(),
                key=lambda m: (m.date_created.replace(microsecond=0), m.index),
                reverse=True,
            )
            if to := args.get("To"):
                messages = [m for m in messages if m.to == to]
            if from_ := args.get("From"):
                messages = [m for m in messages if m.from_ == from_]
            for name in ("DateSent", "DateSent>", "DateSent<"):
                if value := args.get(name):
                    moment = _moment(name, value)
                    messages = [m for m in messages if _on(m.date_sent, name, moment)]
            records = [(m.sid, m.to_json()) for m in messages]
        return 200, _page(request, "messages", records)

    def list_media(self, request: Request, match: dict[str, str]) -> tuple[int, Json]:
        with self.account.lock:
            message = self.account.message(match["message"])
            records = [(m.sid, m.to_json()) for m in message.media]
        return 200, _page(request, "media_list", records)

    def fetch_media(self, _: Request, match: dict[str, str]) -> tuple[int, Json]:
        with self.account.lock:
            return 200, self.account.medium(match["message"], match["sid"]).to_json()

    def delete_media(self, _: Request, match: dict[str, str]) -> tuple[int, None]:
        with self.account.lock:
            media = self.account.medium(match["message"], match["sid"])
            self.account.messages[match["message"]].media.remove(media)
        return 204, None

    def media_content(self, _: Request, match: dict[str, str]) -> Response:
        with self.account.lock:
            media = self.account.medium(match["message"], match["sid"])
            content = media.content
        if content is None:
            # An outbound message's media not fetched (yet, or ever): nothing stored to serve.
            raise not_found(media.content_path())
        # Twilio's answer: a temporary redirect to a short-lived signed URL on its CDN.
        return Response(status=307, headers={"Location": self.media_redirect(media)})


# -- helpers ----------------------------------------------------------------------------


def _error(error: ApiError) -> Response:
    response = Response(json.dumps(error.body()), status=error.status, mimetype="application/json")
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
    return response


def _post_only(form: MultiDict[str, str], name: str) -> None:
    method = form.get(name, "POST").upper()
    if method == "GET":
        # The softphone only POSTs (as the hotline only answers POSTs): refusing here keeps
        # a GET from being silently played as a POST.
        raise ApiError(400, INVALID_PARAMETER, f"{name}=GET is not simulated (POST only)")
    if method != "POST":
        raise ApiError(400, INVALID_PARAMETER, f"{name} {method!r} is not valid")


def _whole(form: MultiDict[str, str], name: str, default: int) -> int:
    raw = form.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9:
        raise ApiError(400, INVALID_PARAMETER, f"{name} {raw[:20]!r} is not a whole number")
    return int(raw)


def _queue_size(form: MultiDict[str, str], default: int) -> int:
    size = _whole(form, "MaxSize", default)
    if not 1 <= size <= QUEUE_MAX_SIZE:
        raise ApiError(
            400, INVALID_PARAMETER, f"MaxSize {size} is not valid: it must be 1 to {QUEUE_MAX_SIZE}"
        )
    return size


def _moment(name: str, raw: str) -> date | datetime:
    """A StartTime or DateSent filter: a date (YYYY-MM-DD, the form Twilio documents) or a
    datetime (the form twilio-python sends for a datetime: 2024-01-01T12:00:00Z)."""
    raw = raw.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            return date.fromisoformat(raw)
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, INVALID_PARAMETER, f"{name} {raw[:40]!r} is not a date") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _on(when: datetime | None, name: str, moment: date | datetime) -> bool:
    """Whether a call's start (StartTime) or a message's DateSent matches the filter `name`;
    a call not yet dialed or a message not yet sent has none and matches none (as on Twilio).
    ">" is on or after, "<" on or before (a date: that day)."""
    if when is None:
        return False
    if isinstance(moment, datetime):
        value: date | datetime = when.replace(microsecond=0)
        moment = moment.replace(microsecond=0)
    else:
        value = when.date()
    if name.endswith(">"):
        return value >= moment
    if name.endswith("<"):
        return value <= moment
    return value == moment


def _page(request: Request, key: str, records: Sequence[tuple[str, Json]]) -> Json:
    """One page of a list, in Twilio's shape (the records under `key`, and the paging URIs).

    PageToken names the last record of the previous page ("PA" + its SID), so that records
    created between two page requests do not shift the next page; Page and PageSize alone
    count from the start."""
    args = request.args
    size = _whole(args, "PageSize", DEFAULT_PAGE_SIZE)
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise ApiError(400, INVALID_PARAMETER, f"PageSize {size} is not valid (1 to 1000)")
    number = _whole(args, "Page", 0)
    start = number * size
    token = args.get("PageToken", "")
    if token.startswith("PA"):
        sids = [sid for sid, _ in records]
        if token[2:] in sids:
            start = sids.index(token[2:]) + 1
    chunk = records[start : start + size]
    paging = ("Page", "PageSize", "PageToken")
    filters = [(k, v) for k, v in args.items(multi=True) if k not in paging]

    def uri(page: int, token: str | None = None) -> str:
        query = [*filters, ("PageSize", str(size)), ("Page", str(page))]
        if token:
            query.append(("PageToken", token))
        return f"{request.path}?{urlencode(query)}"

    has_next = start + size < len(records)
    return {
        key: [body for _, body in chunk],
        "end": start + max(len(chunk) - 1, 0),
        "first_page_uri": uri(0),
        "next_page_uri": uri(number + 1, "PA" + chunk[-1][0]) if has_next and chunk else None,
        "page": number,
        "page_size": size,
        "previous_page_uri": uri(number - 1) if number > 0 else None,
        "start": start,
        "uri": uri(number, token or None),
    }
