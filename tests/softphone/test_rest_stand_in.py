"""The REST stand-in as a live server, driven by the real `twilio` Client.

The client comes from `ivr.twilio_api.rest_client`, pointed at the stand-in; calls it places
go to a tiny threaded WSGI app of the test's own on loopback, which checks every request's
X-Twilio-Signature and answers with TwiML.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from wsgiref.types import StartResponse, WSGIEnvironment

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import VoiceResponse
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from ivr.settings import Settings
from ivr.twilio_api import rest_client
from softphone import HttpTransport
from softphone.rest import (
    AnsweringChair,
    Busy,
    NoAnswer,
    RestStandIn,
    Series,
    Voicemail,
)

ACCOUNT_SID = "AC" + "1234abcd" * 4
AUTH_TOKEN = "0123456789abcdef0123456789abcdef"
HOTLINE = "+15155550100"
CHAIR = "+15155550123"
OTHER = "+15155550199"


@dataclass
class Received:
    path: str
    form: dict[str, str]
    valid_signature: bool


class TinyHotline:
    """A threaded WSGI server on loopback answering registered paths, checking signatures."""

    def __init__(self) -> None:
        self.routes: dict[str, Callable[[dict[str, str]], str]] = {}
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._validator = RequestValidator(AUTH_TOKEN)
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self.base_url = f"http://127.0.0.1:{self._server.server_port}"

    def _app(self, environ: WSGIEnvironment, start_response: StartResponse) -> Any:
        request = Request(environ)
        form = request.form.to_dict()
        valid = self._validator.validate(
            request.url, form, request.headers.get("X-Twilio-Signature", "")
        )
        with self._lock:
            self.received.append(Received(request.path, form, valid))
        # Callbacks nobody registered are answered with an empty 200, as a hotline would.
        handler = self.routes.get(request.path)
        if not valid:
            response = Response("bad signature", status=403)
        else:
            body = handler(form) if handler is not None else ""
            response = Response(body, mimetype="text/xml")
        return response(environ, start_response)

    def url(self, path: str) -> str:
        return self.base_url + path

    def twiml(self, path: str, document: VoiceResponse) -> None:
        self.routes[path] = lambda _form: str(document)

    def posts_to(self, path: str) -> list[dict[str, str]]:
        with self._lock:
            return [r.form for r in self.received if r.path == path]

    def paths(self) -> list[str]:
        with self._lock:
            return [r.path for r in self.received]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


@pytest.fixture
def hotline() -> Iterator[TinyHotline]:
    server = TinyHotline()
    server.start()
    yield server
    server.stop()
    assert all(r.valid_signature for r in server.received)


def stand_in(**options: Any) -> RestStandIn:
    return RestStandIn(
        HttpTransport(timeout=5),
        auth_token=AUTH_TOKEN,
        account_sid=ACCOUNT_SID,
        numbers=(HOTLINE,),
        **options,
    )


@pytest.fixture
def twilio() -> Iterator[RestStandIn]:
    with stand_in(calls_per_second=50) as server:
        yield server


def client_for(server: RestStandIn, auth_token: str = AUTH_TOKEN) -> Any:
    settings = Settings(
        profile="test",
        database_url="sqlite://",
        redis_url="redis://127.0.0.1:1/0",
        twilio_auth_token=auth_token,
        public_base_url="http://hotline.test",
        secret_key="test-secret-key",
        pin_key="test-pin-key",
        twilio_account_sid=ACCOUNT_SID,
        twilio_api_base_url=server.base_url,
    )
    return rest_client(settings)


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


# -- the API ----------------------------------------------------------------------------


def test_wrong_credentials_are_refused_with_20003(twilio: RestStandIn) -> None:
    with pytest.raises(TwilioRestException) as refused:
        client_for(twilio, auth_token="wrong-token").queues.create(friendly_name="q")
    assert (refused.value.status, refused.value.code) == (401, 20003)
    assert twilio.queue_named("q") is None


def test_numbers_update_and_fetch_round_trip(twilio: RestStandIn) -> None:
    client = client_for(twilio)
    [number] = client.incoming_phone_numbers.list(phone_number=HOTLINE, limit=50)
    assert number.phone_number == HOTLINE
    assert number.voice_url == ""

    client.incoming_phone_numbers(number.sid).update(
        voice_url="https://hotline.example/voice",
        voice_method="POST",
        voice_fallback_url="https://hotline.example/voice/fallback",
        status_callback="https://hotline.example/voice/status",
        sms_url="https://hotline.example/sms",
    )

    fetched = client.incoming_phone_numbers(number.sid).fetch()
    assert fetched.voice_url == "https://hotline.example/voice"
    assert fetched.voice_fallback_url == "https://hotline.example/voice/fallback"
    assert fetched.status_callback == "https://hotline.example/voice/status"
    assert fetched.sms_url == "https://hotline.example/sms"
    assert fetched.date_updated is not None
    assert twilio.number(HOTLINE).voice_url == "https://hotline.example/voice"
    assert client.incoming_phone_numbers.list(phone_number="+15155559999") == []


def test_queues_create_update_and_twilios_ceiling(twilio: RestStandIn) -> None:
    client = client_for(twilio)
    queue = client.queues.create(friendly_name="hotline-hold", max_size=2000)
    assert queue.max_size == 2000
    assert client.queues(queue.sid).update(max_size=5000).max_size == 5000

    with pytest.raises(TwilioRestException) as refused:
        client.queues(queue.sid).update(max_size=5001)
    assert refused.value.status == 400
    with pytest.raises(TwilioRestException):
        client.queues.create(friendly_name="too-big", max_size=6000)

    state = twilio.queue_named("hotline-hold")
    assert state is not None and state.max_size == 5000
    assert [q.friendly_name for q in client.queues.list()] == ["hotline-hold"]
    with pytest.raises(TwilioRestException) as missing:
        client.queues("QU" + "0" * 32).fetch()
    assert (missing.value.status, missing.value.code) == (404, 20404)


def test_a_call_from_a_number_the_account_does_not_own_is_refused(twilio: RestStandIn) -> None:
    with pytest.raises(TwilioRestException) as refused:
        client_for(twilio).calls.create(to=CHAIR, from_=OTHER, url="http://127.0.0.1:9/x")
    assert (refused.value.status, refused.value.code) == (400, 21210)
    with pytest.raises(TwilioRestException) as no_url:
        client_for(twilio).calls.create(to=CHAIR, from_=HOTLINE)
    assert no_url.value.code == 21205
    assert twilio.created_calls == []


def test_calls_created_faster_than_the_cps_wait_queued() -> None:
    with stand_in(calls_per_second=5) as twilio:
        client = client_for(twilio)
        sids = [
            client.calls.create(to=CHAIR, from_=HOTLINE, url="http://127.0.0.1:9/never").sid
            for _ in range(4)
        ]
        assert client.calls(sids[-1]).fetch().status == "queued"
        twilio.wait_until_idle(timeout=10)

        created = twilio.created_calls
        assert [c.sid for c in created] == sids
        placed = [c.placed_at for c in created if c.placed_at is not None]
        assert len(placed) == 4
        gaps = [b - a for a, b in itertools.pairwise(placed)]
        assert all(gap >= 0.2 - 0.01 for gap in gaps), gaps
        assert [client.calls(sid).fetch().status for sid in sids] == ["no-answer"] * 4


def test_list_filters_by_to_and_start_time_newest_first(twilio: RestStandIn) -> None:
    client = client_for(twilio)
    before = datetime.now(UTC) - timedelta(minutes=1)
    sids = [
        client.calls.create(to=to, from_=HOTLINE, url="http://127.0.0.1:9/never").sid
        for to in (CHAIR, OTHER, CHAIR)
    ]
    twilio.wait_until_idle(timeout=10)

    to_chair = client.calls.list(to=CHAIR, page_size=1)  # two pages, followed by the client
    assert [c.sid for c in to_chair] == [sids[2], sids[0]]
    assert all(c.direction == "outbound-api" and c.to == CHAIR for c in to_chair)
    assert len(client.calls.list(start_time_after=before)) == 3
    assert client.calls.list(start_time_after=datetime.now(UTC) + timedelta(days=1)) == []
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    assert len(client.calls.list(start_time=today, to=OTHER)) == 1
    assert len(client.calls.list(status="no-answer")) == 3


def test_an_update_cancels_a_queued_call(hotline: TinyHotline) -> None:
    with stand_in(calls_per_second=1) as twilio:
        client = client_for(twilio)
        create = {"from_": HOTLINE, "url": hotline.url("/voice/out")}
        first = client.calls.create(to=CHAIR, **create).sid
        second = client.calls.create(
            to=OTHER, status_callback=hotline.url("/voice/status"), **create
        ).sid

        canceled = client.calls(second).update(status="canceled")
        assert canceled.status == "canceled"
        twilio.wait_until_idle(timeout=5)

        assert twilio.call(second).placed_at is None
        assert twilio.call(first).status == "no-answer"
        assert hotline.posts_to("/voice/status") == []  # it was never dialled


def test_too_many_requests_at_once_get_429_with_20429() -> None:
    with stand_in(max_concurrent_requests=2) as twilio:
        client = client_for(twilio)
        twilio.delay_requests(0.5)
        outcomes: list[int] = []

        def create_queue(name: str) -> None:
            # A fetch or create (a list's page raises a plain TwilioException on any error).
            try:
                client.queues.create(friendly_name=name)
                outcomes.append(200)
            except TwilioRestException as error:
                outcomes.append(error.code)

        threads = [threading.Thread(target=create_queue, args=(f"q{i}",)) for i in range(5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)

        assert sorted(outcomes) == [200, 200, 20429, 20429, 20429]


def test_failed_requests_are_answered_as_told(twilio: RestStandIn) -> None:
    client = client_for(twilio)
    twilio.fail_requests(1, status=503, code=20500)
    with pytest.raises(TwilioRestException) as failed:
        client.queues.create(friendly_name="hotline-hold")
    assert (failed.value.status, failed.value.code) == (503, 20500)
    assert twilio.queue_named("hotline-hold") is None
    client.queues.create(friendly_name="hotline-hold")
    assert twilio.queue_named("hotline-hold") is not None


# -- placing calls into the hotline ----------------------------------------------------------


def create_call(twilio: RestStandIn, hotline: TinyHotline, to: str, **options: Any) -> str:
    call = client_for(twilio).calls.create(
        to=to,
        from_=HOTLINE,
        url=hotline.url("/voice/out"),
        method="POST",
        status_callback=hotline.url("/voice/status"),
        status_callback_method="POST",
        status_callback_event=["initiated", "ringing", "answered", "completed"],
        **options,
    )
    return str(call.sid)


def test_busy_then_no_answer_send_status_callbacks_only(
    twilio: RestStandIn, hotline: TinyHotline
) -> None:
    twilio.callees[CHAIR] = Series([Busy(), NoAnswer()])

    busy = create_call(twilio, hotline, CHAIR)
    twilio.wait_until_idle(timeout=5)
    unanswered = create_call(twilio, hotline, CHAIR)
    twilio.wait_until_idle(timeout=5)

    assert (twilio.call(busy).status, twilio.call(unanswered).status) == ("busy", "no-answer")
    assert "/voice/out" not in hotline.paths()  # no TwiML is fetched for an unanswered call
    callbacks = hotline.posts_to("/voice/status")
    assert [(c["CallSid"], c["CallStatus"], c["SequenceNumber"]) for c in callbacks] == [
        (busy, "initiated", "0"),
        (busy, "busy", "1"),
        (unanswered, "initiated", "0"),
        (unanswered, "ringing", "1"),
        (unanswered, "no-answer", "2"),
    ]
    last = callbacks[-1]
    assert last["AccountSid"] == ACCOUNT_SID
    assert (last["From"], last["To"]) == (HOTLINE, CHAIR)
    assert last["Direction"] == "outbound-api"
    assert last["ApiVersion"] == "2010-04-01"
    assert last["CallbackSource"] == "call-progress-events"
    assert last["CallDuration"] == "0"
    assert last["Timestamp"].endswith("+0000")
    assert client_for(twilio).calls(busy).fetch().duration is None


def test_a_chair_answers_and_the_amd_callback_says_human_before_the_keys(
    twilio: RestStandIn, hotline: TinyHotline
) -> None:
    menu = VoiceResponse()
    menu.gather(num_digits=1, action="/voice/out/choice").say("Press 1 to report.")
    hotline.twiml("/voice/out", menu)

    def choice(form: dict[str, str]) -> str:
        response = VoiceResponse()
        response.say(f"You pressed {form['Digits']}.")
        return str(response)

    hotline.routes["/voice/out/choice"] = choice
    hotline.routes["/voice/amd"] = lambda _form: ""
    prompts: list[str] = []

    def chair(prompt: Any) -> str:
        prompts.append(prompt.text)
        return "1"

    twilio.callees[CHAIR] = AnsweringChair(chair)

    sid = create_call(
        twilio,
        hotline,
        CHAIR,
        machine_detection="DetectMessageEnd",
        async_amd="true",
        async_amd_status_callback=hotline.url("/voice/amd"),
        async_amd_status_callback_method="POST",
    )
    twilio.wait_until_idle(timeout=5)

    assert hotline.paths() == [
        "/voice/status",  # initiated
        "/voice/status",  # ringing
        "/voice/status",  # answered
        "/voice/out",
        "/voice/amd",
        "/voice/out/choice",
        "/voice/status",  # completed
    ]
    [fetch] = hotline.posts_to("/voice/out")
    assert (fetch["CallSid"], fetch["From"], fetch["To"]) == (sid, HOTLINE, CHAIR)
    assert (fetch["Direction"], fetch["CallStatus"]) == ("outbound-api", "in-progress")
    [amd] = hotline.posts_to("/voice/amd")
    assert amd["AnsweredBy"] == "human"
    assert amd["AccountSid"] == ACCOUNT_SID
    assert int(amd["MachineDetectionDuration"]) > 0
    statuses = [c["CallStatus"] for c in hotline.posts_to("/voice/status")]
    assert statuses == ["initiated", "ringing", "in-progress", "completed"]
    completed = hotline.posts_to("/voice/status")[-1]
    assert completed["AnsweredBy"] == "human"
    assert int(completed["CallDuration"]) >= 1

    state = twilio.call(sid)
    assert (state.status, state.answered_by) == ("completed", "human")
    assert prompts == ["Press 1 to report."]
    assert "You pressed 1." in state.heard
    fetched = client_for(twilio).calls(sid).fetch()
    assert (fetched.status, fetched.answered_by) == ("completed", "human")
    assert fetched.start_time is not None and fetched.end_time is not None
    assert fetched.duration == completed["CallDuration"]


def test_a_voicemail_is_redirected_by_a_rest_update_after_the_beep(
    twilio: RestStandIn, hotline: TinyHotline
) -> None:
    client = client_for(twilio)
    menu = VoiceResponse()
    menu.gather(num_digits=1, action="/voice/out/choice").say("Press 1 to report.")
    hotline.twiml("/voice/out", menu)
    message = VoiceResponse()
    message.say("This is the caucus hotline. Please call us back.")
    message.hangup()
    hotline.twiml("/voice/message", message)

    def amd(form: dict[str, str]) -> str:
        if form["AnsweredBy"].startswith("machine_end"):
            client.calls(form["CallSid"]).update(url=hotline.url("/voice/message"), method="POST")
        return ""

    hotline.routes["/voice/amd"] = amd
    twilio.callees[CHAIR] = Voicemail(greeting_seconds=4.0)

    sid = create_call(
        twilio,
        hotline,
        CHAIR,
        machine_detection="DetectMessageEnd",
        async_amd="true",
        async_amd_status_callback=hotline.url("/voice/amd"),
    )
    twilio.wait_until_idle(timeout=5)

    [amd_post] = hotline.posts_to("/voice/amd")
    assert amd_post["AnsweredBy"] == "machine_end_beep"
    assert amd_post["MachineDetectionDuration"] == "4000"
    [redirected] = hotline.posts_to("/voice/message")
    assert (redirected["CallStatus"], redirected["Direction"]) == ("in-progress", "outbound-api")
    state = twilio.call(sid)
    assert state.status == "completed"
    assert state.answered_by == "machine_end_beep"
    assert state.voicemail == "This is the caucus hotline. Please call us back."
    assert "/voice/out/choice" not in hotline.paths()
    assert hotline.posts_to("/voice/status")[-1]["AnsweredBy"] == "machine_end_beep"


def test_status_completed_ends_a_call_in_progress(
    twilio: RestStandIn, hotline: TinyHotline
) -> None:
    menu = VoiceResponse()
    menu.gather(num_digits=1, action="/voice/out/choice").say("Press 1 to report.")
    hotline.twiml("/voice/out", menu)
    twilio.callees[CHAIR] = Voicemail()  # waits at the Gather for an update
    sid = create_call(twilio, hotline, CHAIR)
    wait_for(lambda: bool(hotline.posts_to("/voice/out")))

    started = time.monotonic()
    client_for(twilio).calls(sid).update(status="completed")
    twilio.wait_until_idle(timeout=5)

    assert time.monotonic() - started < 2  # not the voicemail's 15-second wait
    assert twilio.call(sid).status == "completed"
    assert hotline.posts_to("/voice/status")[-1]["CallStatus"] == "completed"
    with pytest.raises(TwilioRestException) as refused:
        client_for(twilio).calls(sid).update(url=hotline.url("/voice/out"))
    assert refused.value.code == 21220
