"""The softphone against a tiny stand-alone Flask app (not the hotline) that checks signatures.

Each test registers the TwiML its scenario needs on FakeHotline, places a call and asserts on
what the app received and what the caller heard.
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from flask import Flask, Response, request
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import VoiceResponse
from werkzeug.serving import make_server

from softphone import (
    APPLICATION_ERROR,
    APPLICATION_ERROR_MESSAGE,
    BUSY,
    CALLER_HUNG_UP,
    COMPLETED,
    HANGUP,
    REQUEST_LIMIT,
    Clock,
    FlaskClientTransport,
    GatherPrompt,
    HttpTransport,
    Keys,
    Queues,
    Softphone,
    UnsupportedTwimlError,
    gather_digits,
    keypad,
    signature_url,
    voice_step,
)

AUTH_TOKEN = "0123456789abcdef0123456789abcdef"
BASE = "http://hotline.test"
CALLER = "+15155551234"

Handler = Callable[[dict[str, str]], str | tuple[int, str]]


@dataclass
class Received:
    path: str  # path and query, as requested
    form: dict[str, str]
    valid_signature: bool


class FakeHotline:
    """A Flask app that answers TwiML registered per path and rejects bad signatures (403)."""

    def __init__(self) -> None:
        self.app = Flask(__name__)
        self.routes: dict[str, Handler] = {}
        self.received: list[Received] = []
        validator = RequestValidator(AUTH_TOKEN)

        @self.app.post("/<path:path>")
        def dispatch(path: str) -> Response:
            form = request.form.to_dict()
            valid = validator.validate(
                request.url, request.form, request.headers.get("X-Twilio-Signature", "")
            )
            query = request.query_string.decode()
            self.received.append(Received(f"/{path}" + (f"?{query}" if query else ""), form, valid))
            if not valid:
                return Response("bad signature", status=403)
            answer = self.routes[f"/{path}"](form)
            status, body = answer if isinstance(answer, tuple) else (200, answer)
            return Response(body, status=status, content_type="text/xml")

    def route(self, path: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.routes[path] = handler
            return handler

        return register

    def twiml(self, path: str, response: VoiceResponse) -> None:
        """Serve a fixed document at path."""
        self.routes[path] = lambda _form: str(response)

    def phone(self, path: str, **options: object) -> Softphone:
        client = self.app.test_client()
        return Softphone(
            FlaskClientTransport(client),
            BASE + path,
            AUTH_TOKEN,
            from_number=CALLER,
            **options,  # type: ignore[arg-type]
        )

    def posts_to(self, path: str) -> list[dict[str, str]]:
        return [r.form for r in self.received if r.path.split("?")[0] == path]


@pytest.fixture
def hotline() -> FakeHotline:
    return FakeHotline()


def silent(_prompt: GatherPrompt) -> Keys:
    return None


def recording(prompts: list[GatherPrompt], keys: Keys) -> Callable[[GatherPrompt], Keys]:
    """An answer that notes the prompt and presses keys."""

    def answer(prompt: GatherPrompt) -> Keys:
        prompts.append(prompt)
        return keys

    return answer


def say_and_hang_up(*lines: str) -> VoiceResponse:
    response = VoiceResponse()
    for line in lines:
        response.say(line)
    response.hangup()
    return response


# -- signatures and request parameters --------------------------------------------------------


def test_requests_are_signed_over_the_url_with_its_query(hotline: FakeHotline) -> None:
    menu = VoiceResponse()
    menu.gather(num_digits=1, action="/voice/menu?attempt=2&precinct=Ames%201-1").say("Press 1.")
    hotline.twiml("/voice/start", menu)
    hotline.twiml("/voice/menu", say_and_hang_up("Thanks."))

    record = hotline.phone(
        "/voice/start?campaign=caucus&lang=en",
        extra_params={"StirVerstat": "TN-Validation-Passed-A"},
    ).call(lambda _p: "1")

    assert record.outcome == COMPLETED
    assert [r.path for r in hotline.received] == [
        "/voice/start?campaign=caucus&lang=en",
        "/voice/menu?attempt=2&precinct=Ames%201-1",
    ]
    assert all(r.valid_signature for r in hotline.received)
    assert record.statuses == [200, 200]


def test_standard_voice_parameters(hotline: FakeHotline) -> None:
    menu = VoiceResponse()
    menu.gather(num_digits=1, action="/voice/menu")
    hotline.twiml("/voice/start", menu)
    hotline.twiml("/voice/menu", say_and_hang_up("Bye."))

    phone = hotline.phone("/voice/start", extra_params={"StirVerstat": "TN-Validation-Passed-A"})
    phone.call(lambda _p: "7")

    first, second = (r.form for r in hotline.received)
    assert re.fullmatch(r"CA[0-9a-f]{32}", first["CallSid"])
    assert re.fullmatch(r"AC[0-9a-f]{32}", first["AccountSid"])
    assert first["From"] == first["Caller"] == CALLER
    assert first["To"] == first["Called"] == "+15155550100"
    assert first["Direction"] == "inbound"
    assert first["ApiVersion"] == "2010-04-01"
    assert first["StirVerstat"] == "TN-Validation-Passed-A"
    assert "Digits" not in first
    # The Voice URL request is made while the call rings; later ones are in progress.
    assert (first["CallStatus"], second["CallStatus"]) == ("ringing", "in-progress")
    assert second["CallSid"] == first["CallSid"] == phone.call_sid
    assert second["Digits"] == "7"


def test_a_wrong_auth_token_is_refused_by_the_app(hotline: FakeHotline) -> None:
    hotline.twiml("/voice/start", say_and_hang_up("Hello."))
    client = hotline.app.test_client()
    phone = Softphone(
        FlaskClientTransport(client), BASE + "/voice/start", "wrong-token", from_number=CALLER
    )

    record = phone.call(silent)

    assert record.statuses == [403]
    assert record.outcome == APPLICATION_ERROR
    assert record.error_codes == [11200]


def test_signature_url_follows_twilios_notes() -> None:
    assert signature_url("https://user:pw@hotline.test:8443/voice/a?b=1") == (
        "https://hotline.test/voice/a?b=1"
    )
    assert signature_url("http://localhost:5000/voice/a?b=1") == "http://localhost:5000/voice/a?b=1"
    # The worked example in Twilio's security guide signs to this value.
    example = RequestValidator("12345").compute_signature(
        signature_url("https://mycompany.com/myapp.php?foo=1&bar=2"),
        {
            "CallSid": "CA1234567890ABCDE",
            "Caller": "+12349013030",
            "Digits": "1234",
            "From": "+12349013030",
            "To": "+18005551212",
        },
    )
    assert example == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def test_over_real_http_with_a_port_in_the_url(hotline: FakeHotline) -> None:
    menu = VoiceResponse()
    menu.gather(num_digits=2, action="/voice/menu")
    hotline.twiml("/voice/start", menu)
    hotline.twiml("/voice/menu", say_and_hang_up("Got it."))
    server = make_server("127.0.0.1", 0, hotline.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with HttpTransport() as transport:
            phone = Softphone(
                transport,
                f"http://127.0.0.1:{server.port}/voice/start",
                AUTH_TOKEN,
                from_number=CALLER,
            )
            record = phone.call(lambda _p: "42")
    finally:
        server.shutdown()
        thread.join()
    assert record.outcome == COMPLETED
    assert record.heard == ["Got it."]
    assert all(r.valid_signature for r in hotline.received)


def test_connection_failure_is_an_application_error() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago refuses connections
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with HttpTransport(timeout=2) as transport:
        record = Softphone(
            transport, f"http://127.0.0.1:{port}/voice/start", AUTH_TOKEN, from_number=CALLER
        ).call(silent)
    # Twilio's defaults (no connection overrides) retry a connection failure once.
    assert record.statuses == [0, 0]
    assert record.retries == 1
    assert record.outcome == APPLICATION_ERROR
    assert record.heard == [APPLICATION_ERROR_MESSAGE]


# -- Gather -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "num_digits", "finish", "expected"),
    [
        ("123#", None, "#", ("123", "#", False, 4)),
        ("123#45", None, "#", ("123", "#", False, 4)),  # keys after the finish key are ignored
        ("25#", 1, "#", ("2", "", False, 1)),  # numDigits ends entry
        ("12", 4, "#", ("12", "", True, 2)),  # partial digits, then the timeout
        ("#", None, "#", ("", "#", False, 1)),  # the finish key alone: an empty result
        (None, None, "#", ("", "", True, 0)),  # silence
        ("1#2*", None, "*", ("1#2", "*", False, 4)),  # "#" is a digit when "*" finishes
        ("12#", None, "", ("12#", "", True, 3)),  # finishOnKey="" disables the finish key
    ],
)
def test_gather_digits(
    keys: str | None, num_digits: int | None, finish: str, expected: tuple[str, str, bool, int]
) -> None:
    assert tuple(gather_digits(keys, num_digits, finish)) == expected


def test_gather_digits_refuses_keys_a_keypad_lacks() -> None:
    with pytest.raises(ValueError, match="not keypad keys"):
        gather_digits("12a", None, "#")


def test_gather_posts_digits_and_finished_on_key(hotline: FakeHotline) -> None:
    pin = VoiceResponse()
    pin.gather(action="/voice/pin", timeout=7).say("Enter your PIN, then pound.")
    hotline.twiml("/voice/start", pin)
    hotline.twiml("/voice/pin", say_and_hang_up("Thank you."))

    prompts: list[GatherPrompt] = []
    record = hotline.phone("/voice/start").call(recording(prompts, "4321#9"))

    (posted,) = hotline.posts_to("/voice/pin")
    assert (posted["Digits"], posted["FinishedOnKey"]) == ("4321", "#")
    (prompt,) = prompts
    assert prompt.step == "pin"
    assert prompt.action_url == BASE + "/voice/pin"
    assert (prompt.num_digits, prompt.finish_on_key, prompt.timeout) == (None, "#", 7)
    assert prompt.action_on_empty_result is False
    assert ("keys", "pin", "4321#9") in record.transcript


def test_num_digits_ends_entry_without_the_finish_key(hotline: FakeHotline) -> None:
    menu = VoiceResponse()
    menu.gather(num_digits=1, action="/voice/menu")
    hotline.twiml("/voice/start", menu)
    hotline.twiml("/voice/menu", say_and_hang_up("OK."))

    hotline.phone("/voice/start").call(lambda _p: "25#")

    (posted,) = hotline.posts_to("/voice/menu")
    assert (posted["Digits"], posted["FinishedOnKey"]) == ("2", "")


def test_partial_digits_are_submitted_on_timeout(hotline: FakeHotline) -> None:
    figure = VoiceResponse()
    figure.gather(num_digits=4, timeout=5, action="/voice/figure")
    hotline.twiml("/voice/start", figure)
    hotline.twiml("/voice/figure", say_and_hang_up())

    record = hotline.phone("/voice/start").call(lambda _p: "12")

    (posted,) = hotline.posts_to("/voice/figure")
    assert (posted["Digits"], posted["FinishedOnKey"]) == ("12", "")
    # Two keys at 0.3 s, then the 5 s wait for a third that never comes.
    assert record.duration_seconds == pytest.approx(5.6)


def test_no_input_falls_through_to_the_next_verb(hotline: FakeHotline) -> None:
    menu = VoiceResponse()
    menu.gather(num_digits=1, action="/voice/menu").say("Press 1 to report.")
    menu.say("We did not get your choice.")
    menu.redirect("/voice/start?retry=1")
    hotline.twiml("/voice/start", menu)

    answers = iter([None, "#", HANGUP])
    record = hotline.phone("/voice/start").call(lambda _p: next(answers))

    # Silence, then the finish key alone: both are no input, so the Redirect runs each time;
    # Redirect posts only the standard parameters.
    assert hotline.posts_to("/voice/menu") == []
    assert [r.path for r in hotline.received] == [
        "/voice/start",
        "/voice/start?retry=1",
        "/voice/start?retry=1",
    ]
    assert all("Digits" not in r.form for r in hotline.received)
    assert record.heard.count("We did not get your choice.") == 2
    assert record.outcome == CALLER_HUNG_UP


def test_action_on_empty_result_posts_empty_digits(hotline: FakeHotline) -> None:
    menu = VoiceResponse()
    menu.gather(num_digits=1, action="/voice/menu", action_on_empty_result=True)
    menu.say("Never heard: the action is always requested.")
    hotline.twiml("/voice/start", menu)
    hotline.twiml("/voice/menu", say_and_hang_up("Nothing pressed."))

    record = hotline.phone("/voice/start").call(silent)

    (posted,) = hotline.posts_to("/voice/menu")
    assert (posted["Digits"], posted["FinishedOnKey"]) == ("", "")
    assert record.heard == ["Nothing pressed."]


def test_pound_alone_posts_empty_digits_finished_on_pound(hotline: FakeHotline) -> None:
    menu = VoiceResponse()
    menu.gather(action="/voice/entry", action_on_empty_result=True)
    hotline.twiml("/voice/start", menu)
    hotline.twiml("/voice/entry", say_and_hang_up("Got it."))

    hotline.phone("/voice/start").call(lambda _prompt: "#")

    (posted,) = hotline.posts_to("/voice/entry")
    assert (posted["Digits"], posted["FinishedOnKey"]) == ("", "#")


def test_relative_urls_resolve_against_the_current_document(hotline: FakeHotline) -> None:
    first = VoiceResponse()
    first.gather(num_digits=1, action="3")  # relative to /voice/figure/first/
    hotline.twiml("/voice/figure/first/", first)
    done = VoiceResponse()
    done.redirect("../../done")
    hotline.twiml("/voice/figure/first/3", done)
    hotline.twiml("/voice/done", say_and_hang_up("Done."))

    prompts: list[GatherPrompt] = []
    record = hotline.phone("/voice/figure/first/").call(recording(prompts, "9"))

    assert [p.step for p in prompts] == ["figure/first/3"]
    assert [r.path for r in hotline.received] == [
        "/voice/figure/first/",
        "/voice/figure/first/3",
        "/voice/done",
    ]
    assert record.heard == ["Done."]


def test_gather_action_defaults_to_the_current_document_url(hotline: FakeHotline) -> None:
    def pin(form: dict[str, str]) -> str:
        response = VoiceResponse()
        if "Digits" in form:
            response.say(f"You entered {form['Digits']}.")
            response.hangup()
        else:
            response.gather(num_digits=3)
        return str(response)

    hotline.route("/voice/pin")(pin)

    record = hotline.phone("/voice/pin?try=1").call(lambda _p: "123")

    assert [r.path for r in hotline.received] == ["/voice/pin?try=1", "/voice/pin?try=1"]
    assert record.heard == ["You entered 123."]


def test_prompt_speech_is_everything_said_since_the_previous_gather(hotline: FakeHotline) -> None:
    start = VoiceResponse()
    start.say("Welcome to the caucus hotline.")
    start.redirect("/voice/menu")
    hotline.twiml("/voice/start", start)
    menu = VoiceResponse()
    gather = menu.gather(num_digits=1, action="/voice/figure/first/1")
    gather.say("Press 1 to report.")
    gather.pause(length=1)
    gather.say("Press 2 to hear the rules.")
    hotline.twiml("/voice/menu", menu)
    figure = VoiceResponse()
    figure.gather(action="/voice/figure/first/2").say("Enter the first figure.")
    hotline.twiml("/voice/figure/first/1", figure)
    hotline.twiml("/voice/figure/first/2", say_and_hang_up("Saved."))

    prompts: list[GatherPrompt] = []
    record = hotline.phone("/voice/start").call(
        keypad(
            {
                "figure/first/1": recording(prompts, "1"),
                "figure/first/*": recording(prompts, "12#"),
            }
        )
    )

    assert [p.speech for p in prompts] == [
        ("Welcome to the caucus hotline.", "Press 1 to report.", "Press 2 to hear the rules."),
        ("Enter the first figure.",),
    ]
    assert record.outcome == COMPLETED
    assert record.heard[-1] == "Saved."


def test_keypad_matches_exact_steps_before_patterns_and_refuses_unknown_ones() -> None:
    def prompt(step: str) -> GatherPrompt:
        return GatherPrompt(step, BASE + "/voice/" + step, ("Say it.",), None, "#", 5, False)

    answer = keypad({"figure/first/3": "3#", "figure/first/*": "0#", "figure/*": None})
    assert answer(prompt("figure/first/3")) == "3#"
    assert answer(prompt("figure/first/4")) == "0#"
    assert answer(prompt("figure/second/1")) is None
    with pytest.raises(LookupError, match="menu"):
        answer(prompt("menu"))


def test_voice_step() -> None:
    assert voice_step("http://hotline.test/voice/figure/first/3?x=1") == "figure/first/3"
    assert voice_step("http://hotline.test/status") == "status"


def test_caller_hanging_up_at_a_gather_posts_nothing(hotline: FakeHotline) -> None:
    menu = VoiceResponse()
    menu.gather(num_digits=1, action="/voice/menu").say("Press 1.")
    hotline.twiml("/voice/start", menu)

    record = hotline.phone("/voice/start", status_callback_url=BASE + "/status").call(
        lambda _p: HANGUP
    )

    assert record.outcome == CALLER_HUNG_UP
    assert hotline.posts_to("/voice/menu") == []
    (status,) = hotline.posts_to("/status")
    assert status["CallStatus"] == "completed"


# -- Hangup, Reject ---------------------------------------------------------------------------


def test_hangup_ends_the_call(hotline: FakeHotline) -> None:
    response = say_and_hang_up("Goodbye.")
    response.say("Never said.")
    hotline.twiml("/voice/start", response)

    record = hotline.phone("/voice/start").call(silent)

    assert record.outcome == COMPLETED
    assert record.heard == ["Goodbye."]
    assert ("hangup",) in record.transcript


def test_end_of_document_completes_the_call(hotline: FakeHotline) -> None:
    response = VoiceResponse()
    response.say("That is all.")
    hotline.twiml("/voice/start", response)

    assert hotline.phone("/voice/start").call(silent).outcome == COMPLETED


def test_reject_busy_is_never_answered(hotline: FakeHotline) -> None:
    response = VoiceResponse()
    response.reject(reason="busy")
    response.say("Unreachable.")
    hotline.twiml("/voice/start", response)
    hotline.twiml("/status", VoiceResponse())

    record = hotline.phone("/voice/start", status_callback_url=BASE + "/status").call(silent)

    assert record.outcome == BUSY
    assert record.heard == []
    assert record.requests == 1
    assert record.duration_seconds == 0
    assert hotline.posts_to("/status") == []


# -- Enqueue ----------------------------------------------------------------------------------


def enqueue_document(action: str | None = None) -> VoiceResponse:
    response = VoiceResponse()
    response.say("Please hold for a volunteer.")
    response.enqueue("chairs", wait_url="/voice/wait", action=action)
    response.say("Back from the queue.")
    response.hangup()
    return response


def wait_then_leave(after_polls: int) -> Handler:
    polls: list[dict[str, str]] = []

    def wait(form: dict[str, str]) -> str:
        polls.append(form)
        response = VoiceResponse()
        if len(polls) > after_polls:
            response.leave()
        else:
            response.say(f"You are caller number {form['QueuePosition']}.")
            response.pause(length=10)
        return str(response)

    return wait


def test_enqueue_polls_the_wait_url_until_leave_then_continues(hotline: FakeHotline) -> None:
    hotline.twiml("/voice/start", enqueue_document())
    hotline.route("/voice/wait")(wait_then_leave(after_polls=2))

    record = hotline.phone("/voice/start").call(silent)

    waits = hotline.posts_to("/voice/wait")
    assert len(waits) == 3  # the document ends, Twilio requests it again
    assert {w["QueueSid"] for w in waits} == {waits[0]["QueueSid"]}
    assert re.fullmatch(r"QU[0-9a-f]{32}", waits[0]["QueueSid"])
    assert [w["QueuePosition"] for w in waits] == ["1", "1", "1"]
    assert all(w["CurrentQueueSize"] == "1" and "AvgQueueTime" in w for w in waits)
    # Each wait document speaks 5 words (2 s) and pauses 10 s.
    assert [w["QueueTime"] for w in waits] == ["0", "12", "24"]
    assert record.heard == [
        "Please hold for a volunteer.",
        "You are caller number 1.",
        "You are caller number 1.",
        "Back from the queue.",
    ]
    assert record.outcome == COMPLETED


def test_leave_with_an_enqueue_action_requests_the_action(hotline: FakeHotline) -> None:
    hotline.twiml("/voice/start", enqueue_document(action="/voice/after-queue"))
    hotline.route("/voice/wait")(wait_then_leave(after_polls=0))
    hotline.twiml("/voice/after-queue", say_and_hang_up("Nobody is free; call back later."))

    record = hotline.phone("/voice/start").call(silent)

    (posted,) = hotline.posts_to("/voice/after-queue")
    assert posted["QueueResult"] == "leave"
    assert posted["QueueSid"].startswith("QU")
    assert posted["QueueTime"] == "0"
    assert "Back from the queue." not in record.heard
    assert record.heard[-1] == "Nobody is free; call back later."


def test_hanging_up_in_the_queue_reports_to_the_action(hotline: FakeHotline) -> None:
    hotline.twiml("/voice/start", enqueue_document(action="/voice/after-queue"))
    wait = VoiceResponse()
    wait.gather(num_digits=1, action="/voice/wait-key").say("Press star to leave a message.")
    hotline.twiml("/voice/wait", wait)
    hotline.twiml("/voice/after-queue", VoiceResponse())

    record = hotline.phone("/voice/start").call(lambda _p: HANGUP)

    assert record.outcome == CALLER_HUNG_UP
    (posted,) = hotline.posts_to("/voice/after-queue")
    assert posted["QueueResult"] == "hangup"


def test_the_queue_wait_is_bounded(hotline: FakeHotline) -> None:
    hotline.twiml("/voice/start", enqueue_document())
    hotline.route("/voice/wait")(wait_then_leave(after_polls=1_000))

    record = hotline.phone("/voice/start", max_queue_polls=3).call(silent)

    assert record.outcome == REQUEST_LIMIT
    assert len(hotline.posts_to("/voice/wait")) == 3


def test_a_full_queue_refuses_the_call_to_the_enqueue_action(hotline: FakeHotline) -> None:
    hotline.twiml("/voice/start", enqueue_document(action="/voice/after-queue"))
    hotline.route("/voice/wait")(wait_then_leave(after_polls=1_000))
    hotline.twiml("/voice/after-queue", say_and_hang_up("All lines are busy."))
    queues = Queues(max_size=1)
    assert queues.join("chairs", "CA-already-waiting")

    record = hotline.phone("/voice/start", queues=queues).call(silent)

    (posted,) = hotline.posts_to("/voice/after-queue")
    assert posted["QueueResult"] == "queue-full"
    assert hotline.posts_to("/voice/wait") == [], "a refused call never waits"
    assert ("queue-full", "chairs") in record.transcript
    assert record.heard[-1] == "All lines are busy." and "Back from the queue." not in record.heard


def test_a_full_queue_without_an_action_goes_on_to_the_next_verb(hotline: FakeHotline) -> None:
    hotline.twiml("/voice/start", enqueue_document())
    queues = Queues(max_size=0)

    record = hotline.phone("/voice/start", queues=queues).call(silent)

    assert record.heard == ["Please hold for a volunteer.", "Back from the queue."]


def test_calls_sharing_queues_see_their_place_and_leave_room(hotline: FakeHotline) -> None:
    queues = Queues(max_size=2)
    assert queues.join("chairs", "CA-first")
    hotline.twiml("/voice/start", enqueue_document(action="/voice/after-queue"))
    hotline.route("/voice/wait")(wait_then_leave(after_polls=0))
    hotline.twiml("/voice/after-queue", say_and_hang_up("Welcome."))

    hotline.phone("/voice/start", queues=queues).call(silent)

    (wait,) = hotline.posts_to("/voice/wait")
    assert (wait["QueuePosition"], wait["CurrentQueueSize"]) == ("2", "2")
    assert queues.place("chairs", "CA-first") == (1, 1), "the call left the queue"


def test_leave_outside_a_queue_is_invalid(hotline: FakeHotline) -> None:
    response = VoiceResponse()
    response.leave()
    hotline.twiml("/voice/start", response)

    record = hotline.phone("/voice/start").call(silent)

    assert record.outcome == APPLICATION_ERROR
    assert record.error_codes == [12200]


# -- failures and the fallback URL ------------------------------------------------------------


def test_fallback_url_after_a_500(hotline: FakeHotline) -> None:
    menu = VoiceResponse()
    menu.gather(num_digits=1, action="/voice/broken")
    hotline.twiml("/voice/start", menu)
    hotline.route("/voice/broken")(lambda _form: (500, "Internal Server Error"))
    hotline.route("/voice/fallback")(
        lambda form: str(say_and_hang_up(f"Sorry, error {form['ErrorCode']}."))
    )

    record = hotline.phone("/voice/start", fallback_url=BASE + "/voice/fallback").call(
        lambda _p: "1"
    )

    (fallback,) = hotline.posts_to("/voice/fallback")
    assert fallback["ErrorCode"] == "11200"
    assert fallback["ErrorUrl"] == BASE + "/voice/broken"
    assert fallback["Digits"] == "1"
    assert record.statuses == [200, 500, 200]
    assert record.application_errors == 1
    assert record.outcome == COMPLETED
    assert record.heard == ["Sorry, error 11200."]


def test_fallback_url_after_invalid_twiml(hotline: FakeHotline) -> None:
    hotline.route("/voice/start")(lambda _form: "<Response><Say>unclosed</Response>")
    hotline.twiml("/voice/fallback", say_and_hang_up("Fallback speaking."))

    record = hotline.phone("/voice/start", fallback_url=BASE + "/voice/fallback").call(silent)

    (fallback,) = hotline.posts_to("/voice/fallback")
    assert fallback["ErrorCode"] == "12100"
    # The call was still ringing when the fallback was asked.
    assert fallback["CallStatus"] == "ringing"
    assert record.heard == ["Fallback speaking."]
    assert record.application_errors == 1


def test_application_error_without_a_fallback_ends_the_call(hotline: FakeHotline) -> None:
    hotline.route("/voice/start")(lambda _form: "<Gather/>")  # root is not <Response>
    hotline.twiml("/status", VoiceResponse())

    record = hotline.phone("/voice/start", status_callback_url=BASE + "/status").call(silent)

    assert record.outcome == APPLICATION_ERROR
    assert record.error_codes == [12102]
    assert "an application error has occurred" in record.spoken
    # The call was answered to say so, and it still ends with a status callback.
    assert record.status_callback_status == 200
    assert record.duration_seconds > 0


def test_a_failing_fallback_is_an_application_error_too(hotline: FakeHotline) -> None:
    hotline.route("/voice/start")(lambda _form: (503, ""))
    hotline.route("/voice/fallback")(lambda _form: (500, ""))

    record = hotline.phone("/voice/start", fallback_url=BASE + "/voice/fallback").call(silent)

    assert record.outcome == APPLICATION_ERROR
    assert record.application_errors == 2
    assert record.heard == [APPLICATION_ERROR_MESSAGE]


def test_unsimulated_verbs_raise(hotline: FakeHotline) -> None:
    response = VoiceResponse()
    response.record()
    hotline.twiml("/voice/start", response)

    with pytest.raises(UnsupportedTwimlError, match="Record"):
        hotline.phone("/voice/start").call(silent)


# -- the end of the call ----------------------------------------------------------------------


def test_status_callback_reports_the_duration(hotline: FakeHotline) -> None:
    response = VoiceResponse()
    response.say("one two three four five")  # 2 s at 2.5 words a second
    response.pause(length=3)
    response.hangup()
    hotline.twiml("/voice/start", response)
    hotline.twiml("/status", VoiceResponse())

    record = hotline.phone("/voice/start", status_callback_url=BASE + "/status").call(silent)

    (status,) = hotline.posts_to("/status")
    assert status["CallStatus"] == "completed"
    assert status["CallDuration"] == "5"
    assert status["CallSid"] == record.call_sid
    assert all(r.valid_signature for r in hotline.received)
    assert record.duration_seconds == pytest.approx(5.0)
    assert record.status_callback_status == 200


def test_the_clock_is_configurable(hotline: FakeHotline) -> None:
    hotline.twiml("/voice/start", say_and_hang_up("one two three four"))

    record = hotline.phone("/voice/start", clock=Clock(words_per_second=1)).call(silent)

    assert record.duration_seconds == pytest.approx(4.0)


def test_a_redirect_loop_stops_at_the_request_limit(hotline: FakeHotline) -> None:
    loop = VoiceResponse()
    loop.redirect("/voice/loop")
    hotline.twiml("/voice/loop", loop)
    hotline.twiml("/status", VoiceResponse())

    record = hotline.phone(
        "/voice/loop", max_requests=10, status_callback_url=BASE + "/status"
    ).call(silent)

    assert record.outcome == REQUEST_LIMIT
    assert len(hotline.posts_to("/voice/loop")) == 10
    # The status callback is still sent once the limit cut the call.
    assert len(hotline.posts_to("/status")) == 1
    assert record.requests == 11


def test_a_softphone_places_one_call(hotline: FakeHotline) -> None:
    hotline.twiml("/voice/start", say_and_hang_up("Hi."))
    phone = hotline.phone("/voice/start")
    phone.call(silent)
    with pytest.raises(RuntimeError):
        phone.call(silent)


def test_the_virtual_clock_never_sleeps(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(_seconds: float) -> None:
        raise AssertionError("the softphone slept")

    monkeypatch.setattr("softphone.caller.time.sleep", refuse)
    clock = Clock()
    clock.advance(30)
    assert clock.now == 30
