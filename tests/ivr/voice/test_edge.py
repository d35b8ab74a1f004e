"""The webhook edge under odd input: no 5xx, no PIN in a URL or a log, no limit passed."""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from flask.testing import FlaskClient, FlaskCliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.exc import OperationalError

from callflows import prompts
from ivr import hotline as hotline_module
from ivr import twilio_signature
from ivr.callstore import Writes
from ivr.hotline import Hotline, UnsupportedRedis, check_redis_version
from ivr.services import WebServices
from ivr.voice import twilio_request
from ivr.voice.twilio_request import MAX_RETRY_URL
from queues import admission, counters, pin_guard
from queues.defaults import PRECINCT_PIN_FAILURE_LIMIT
from softphone import HANGUP, Keys
from tests.conftest import PUBLIC_BASE_URL
from tests.support.calls import place_call
from tests.support.calls import signed_post as post
from tests.support.calls import twiml_root as parse
from tests.support.data import import_precincts

SID = "CA" + "1" * 32
CALL = {"CallSid": SID, "AccountSid": "AC" + "2" * 32, "From": "+15155550123",
        "To": "+15155550100"}  # fmt: skip
PIN = "123456"


def spoken(body: str) -> str:
    return " ".join(el.text or "" for el in parse(body).iter("Say"))


@pytest.fixture
def precincts(runner: FlaskCliRunner, tmp_path: Path) -> dict[str, str]:
    return import_precincts(runner, tmp_path)


def at_pin(client: FlaskClient) -> None:
    post(client, "/voice", CALL)
    post(client, "/voice/precinct?n=1", {**CALL, "Digits": "948199"})


# --- item 5: a PIN never reaches a URL or a log -------------------------------------------


@pytest.mark.parametrize(
    "error_url",
    [
        f"{PUBLIC_BASE_URL}/voice/pin?n=2",
        f"{PUBLIC_BASE_URL}/voice/pin/?n=2",  # the same step spelled another way
        f"{PUBLIC_BASE_URL}/voice/PIN?n=2",  # not a path of ours: retried as /voice
        f"{PUBLIC_BASE_URL}/voice/pin/../figure?n=2",
        "https://elsewhere.example/voice/figure/first/1?n=2",  # a stale or foreign URL
        "http://[::1/voice/figure/first/1",  # not even a URL
    ],
)
def test_the_fallback_never_carries_a_pin(
    client: FlaskClient, error_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    params = {**CALL, "ErrorCode": "11200", "ErrorUrl": error_url, "Digits": PIN}
    status, body = post(client, "/voice/fallback", params)
    assert status == 200
    redirect = parse(body)[-1]
    assert redirect.tag == "Redirect" and PIN not in (redirect.text or "")
    assert "d=" not in (redirect.text or "")
    assert PIN not in caplog.text


def test_a_failed_pin_step_holds_without_the_pin_in_its_retry_or_the_log(
    client: FlaskClient,
    precincts: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    at_pin(client)
    caplog.set_level(logging.DEBUG)

    def broken(*args: object) -> None:
        raise RuntimeError("the PIN check failed")

    monkeypatch.setattr(WebServices, "check_pin", broken)
    status, body = post(client, "/voice/pin?n=2", {**CALL, "Digits": precincts["948199"]})
    assert status == 200 and spoken(body) == prompts.HOLD_ON
    assert parse(body)[-1].text == "/voice/pin?n=2&r=1"
    assert precincts["948199"] not in caplog.text


def test_a_figure_step_still_carries_its_keys(client: FlaskClient) -> None:
    error_url = f"{PUBLIC_BASE_URL}/voice/figure/first/2?n=4"
    params = {**CALL, "ErrorCode": "11200", "ErrorUrl": error_url, "Digits": "12"}
    _, body = post(client, "/voice/fallback", params)
    assert parse(body)[-1].text == "/voice/figure/first/2?n=4&r=1&d=12"


# --- item 7: no 5xx from any input --------------------------------------------------------


@pytest.mark.parametrize("signature", ["é", "\u00e9" * 28, "ÿ" * 27 + "=", "", "a" * 10_000])
def test_a_signature_that_is_not_ascii_or_base64_is_refused(
    client: FlaskClient, signature: str
) -> None:
    status, _ = post(client, "/voice", CALL, signature=signature)
    assert status == 403


def test_a_signature_check_that_raises_is_a_403(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explodes(*args: object) -> bool:
        raise ValueError("a header nobody foresaw")

    monkeypatch.setattr(twilio_signature, "is_valid", explodes)
    assert post(client, "/voice", CALL)[0] == 403


def test_a_retry_count_that_is_not_ascii_gets_twiml(client: FlaskClient) -> None:
    post(client, "/voice", CALL)
    path = "/voice/precinct?" + urlencode({"n": "1", "r": "²"})
    status, body = post(client, path, CALL)
    assert status == 200 and parse(body) is not None


@pytest.mark.parametrize("digits", ["9" * 5000, "1" * 4301, "0" * 4000 + "5"])
def test_thousands_of_digits_get_a_specific_reprompt(
    client: FlaskClient, precincts: dict[str, str], digits: str
) -> None:
    at_pin(client)
    post(client, "/voice/pin?n=2", {**CALL, "Digits": precincts["948199"]})
    status, body = post(client, "/voice/figure/first/1?n=3", {**CALL, "Digits": digits})
    assert status == 200
    assert "That is more than 9,999." in spoken(body), "refused, never cut to a figure"


def test_a_retry_url_stays_far_below_the_request_line_limit(client: FlaskClient) -> None:
    step = "figure/first/" + "1" * 3
    error_url = f"{PUBLIC_BASE_URL}/voice/{step}?n=999999999&d={'9' * 5000}&{'x' * 5000}=1"
    params = {**CALL, "ErrorCode": "11200", "ErrorUrl": error_url + "x" * 10_000,
              "Digits": "9" * 5000}  # fmt: skip
    status, body = post(client, "/voice/fallback", params)
    assert status == 200
    redirect = parse(body)[-1].text or ""
    assert len(redirect) <= MAX_RETRY_URL < 4094


def test_a_request_parse_request_cannot_read_still_gets_twiml(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explodes(text: str) -> object:
        raise RuntimeError("libphonenumber met something new")

    monkeypatch.setattr(twilio_request, "read_number", explodes)
    status, body = post(client, "/voice/figure/first/1?n=3", {**CALL, "Digits": "5"})
    assert status == 200
    assert parse(body)[-1].tag == "Redirect"


@pytest.mark.parametrize("path", ["/voice/", "/voice//pin?n=2", "/voice//", "/voice/a//b"])
def test_a_voice_path_no_route_matches_is_still_a_webhook(client: FlaskClient, path: str) -> None:
    status, body = post(client, path, {**CALL, "Digits": PIN})
    assert status == 200 and parse(body) is not None
    assert PIN not in body
    assert post(client, path, CALL, signature="x" * 28)[0] == 403


# --- item 12: the request-size limit ------------------------------------------------------


def test_an_oversized_request_is_refused_before_any_hmac(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[str] = []
    real = twilio_signature.is_valid

    def counting(*args: Any) -> bool:
        checked.append("hmac")
        return real(*args)

    monkeypatch.setattr(twilio_signature, "is_valid", counting)
    status, _ = post(client, "/voice", {**CALL, "Padding": "x" * 100_000})
    assert status == 413 and checked == []
    assert post(client, "/voice", CALL)[0] == 200 and checked == ["hmac"]


def test_an_oversized_chunked_request_is_refused_too(client: FlaskClient) -> None:
    body = urlencode({**CALL, "Padding": "x" * 100_000}).encode()
    response = client.post(
        "/voice",
        input_stream=io.BytesIO(body),  # no Content-Length: a chunked body, as a server sees it
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": "x" * 28},
        environ_overrides={"wsgi.input_terminated": True},
        base_url=PUBLIC_BASE_URL,
    )
    assert response.status_code == 413


# --- item 9: a full Twilio queue ----------------------------------------------------------


def test_the_hold_queue_names_its_action(client: FlaskClient, hotline: Hotline) -> None:
    admission.admit(hotline.redis, "CA-occupier")
    hotline.settings = hotline.settings.__class__(**{**vars(hotline.settings), "ivr_capacity": 1})
    _, body = post(client, "/voice", CALL)
    (enqueue,) = parse(body)
    assert enqueue.tag == "Enqueue" and enqueue.get("action", "").startswith("/voice/dequeued")


@pytest.mark.parametrize("result", ["queue-full", "error", "system-shutdown", "nonsense"])
def test_a_call_twilio_would_not_queue_hears_busy_and_is_not_let_in(
    client: FlaskClient, hotline: Hotline, result: str
) -> None:
    status, body = post(client, "/voice/dequeued?p=1", {**CALL, "QueueResult": result})
    assert status == 200
    assert spoken(body) == prompts.LINE_BUSY and parse(body)[-1].tag == "Hangup"
    assert admission.occupancy(hotline.redis) == 0
    (reason,) = counters.screening_counts(hotline.redis)
    assert reason in ("busy:queue_full", "busy:queue_error")


def test_a_held_caller_let_out_continues_into_the_flow(
    client: FlaskClient, hotline: Hotline
) -> None:
    assert admission.hold_poll(hotline.redis, SID, 1, capacity=5) == 0  # given a slot
    _, body = post(client, "/voice/dequeued?p=1", {**CALL, "QueueResult": "leave"})
    assert parse(body)[0].get("action") == "/voice/precinct?n=1"


def test_a_let_out_caller_whose_request_was_retried_is_not_turned_away(
    client: FlaskClient, hotline: Hotline
) -> None:
    assert admission.hold_poll(hotline.redis, SID, 1, capacity=5) == 0
    _, body = post(client, "/voice/dequeued?p=1&r=1", CALL)  # the QueueResult is lost
    assert parse(body)[0].get("action") == "/voice/precinct?n=1"


def test_leaving_the_queue_never_lets_anyone_in_past_capacity(
    client: FlaskClient, hotline: Hotline
) -> None:
    hotline.settings = hotline.settings.__class__(**{**vars(hotline.settings), "ivr_capacity": 1})
    admission.admit(hotline.redis, "CA-occupier")
    for path in ("/voice/dequeued?p=1", "/voice/admitted"):
        _, body = post(client, path, {**CALL, "QueueResult": "leave"})
        assert parse(body)[0].tag == "Enqueue", "back into the queue"
    assert admission.occupancy(hotline.redis) == 1


def test_only_the_first_hold_announcement_greets(client: FlaskClient, hotline: Hotline) -> None:
    admission.admit(hotline.redis, "CA-occupier")
    hotline.settings = hotline.settings.__class__(**{**vars(hotline.settings), "ivr_capacity": 1})
    _, first = post(client, "/voice/hold?p=1", {**CALL, "QueueTime": "0", "QueuePosition": "1"})
    _, later = post(client, "/voice/hold?p=1", {**CALL, "QueueTime": "8", "QueuePosition": "1"})
    assert spoken(first) == f"{prompts.HOLD_GREETING} You are next. Please stay on the line."
    assert spoken(later) == "You are next. Please stay on the line."


# --- item 14: pound alone -----------------------------------------------------------------


def test_pound_alone_is_not_silence(client: FlaskClient) -> None:
    _, body = post(client, "/voice", CALL)
    assert parse(body)[0].get("actionOnEmptyResult") == "true"
    _, body = post(client, "/voice/precinct?n=1", {**CALL, "Digits": "", "FinishedOnKey": "#"})
    assert spoken(body).startswith(prompts.POUND_ONLY)
    assert prompts.NO_INPUT not in spoken(body)


def test_a_chair_who_presses_pound_alone_through_the_softphone_is_told_what_to_key(
    client: FlaskClient, precincts: dict[str, str]
) -> None:
    keys: Iterator[Keys] = iter(["#", "948199#", HANGUP])
    record = place_call(client, lambda prompt: next(keys))
    assert prompts.POUND_ONLY in record.heard
    assert prompts.NO_INPUT not in record.spoken
    assert "1 Northwest Adair, Adair County." in record.heard  # its spoken name


# --- item 13: the database stays off the call path ----------------------------------------


def test_a_retried_pin_step_is_asked_again_never_counted_as_silence(
    client: FlaskClient, hotline: Hotline, precincts: dict[str, str]
) -> None:
    at_pin(client)
    seq = 2
    for retry in range(1, 5):
        status, body = post(client, f"/voice/pin?n={seq}&r={retry}", CALL)
        assert status == 200 and parse(body)[-1].tag != "Hangup"
        assert prompts.THANKS_FOR_HOLDING in spoken(body) and prompts.ASK_PIN in spoken(body)
        seq += 1
    loaded = hotline.store.load(SID)
    assert loaded is not None and loaded.state.silences == 0 and loaded.state.step == "pin"


def test_a_right_pin_with_the_database_down_goes_on_without_the_resume_offer(
    client: FlaskClient,
    hotline: Hotline,
    precincts: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    at_pin(client)  # the directory is loaded

    def database_down() -> object:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(hotline, "sessions", database_down)
    monkeypatch.setattr(hotline.directory, "_sessions", database_down)
    status, body = post(client, "/voice/pin?n=2", {**CALL, "Digits": precincts["948199"]})
    assert status == 200
    assert prompts.block_intro("first") in spoken(body) and prompts.HOLD_ON not in spoken(body)
    assert parse(body)[0].get("action", "").startswith("/voice/figure/first/1")
    assert "no resume offer" in caplog.text


def test_the_precinct_directory_keeps_serving_when_a_reload_fails(
    hotline: Hotline, precincts: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    assert hotline.directory.get("948199") is not None

    def database_down() -> object:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    hotline.directory._sessions = database_down  # type: ignore[assignment]
    for _ in range(3):
        entry = hotline.directory.get("948199")
        assert entry is not None and entry.info.name == "1NW ADAIR"
    failures = [r for r in caplog.records if "reload failed" in r.getMessage()]
    assert failures and all(r.exc_info is None for r in failures), "one line each"


# --- item 8: the PIN limits under concurrency ---------------------------------------------


def test_concurrent_wrong_pins_evaluate_at_most_the_precinct_limit(
    hotline: Hotline, precincts: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    evaluated: list[str] = []
    start = threading.Barrier(30)

    def slow_wrong(key: str, precinct_id: str, pin: str, stored: str | None) -> bool:
        evaluated.append(pin)
        threading.Event().wait(0.02)  # the HMAC, stretched: the race window
        return False

    monkeypatch.setattr("ivr.services.pin_matches", slow_wrong)
    hotline.directory.get("948199")

    def guess(n: int) -> None:
        writes = Writes.on(hotline.redis)
        services = WebServices(hotline, writes)
        start.wait()
        services.check_pin("948199", "000000", f"+1515555{n:04d}", False)
        writes.send()

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(evaluated) == PRECINCT_PIN_FAILURE_LIMIT
    assert pin_guard.locked_precincts(hotline.redis) == ["948199"]


def test_a_request_that_fails_after_a_pin_counts_nothing(
    hotline: Hotline, precincts: dict[str, str]
) -> None:
    writes = Writes.on(hotline.redis)
    WebServices(hotline, writes).check_pin("948199", "000000", "+15155550123", False)
    writes.abandon()
    counted = hotline.redis.keys("hotline:pin:*")
    assert counted and all(int(hotline.redis.get(key) or 0) == 0 for key in counted)
    writes = Writes.on(hotline.redis)
    receipt = WebServices(hotline, writes).new_receipt()
    writes.abandon()
    assert not hotline.redis.exists(f"hotline:receipt:{receipt}")


# --- item 10: Redis versions --------------------------------------------------------------


class OldRedis:
    def info(self, section: str) -> dict[str, str]:
        return {"redis_version": "6.0.16"}


def test_a_redis_older_than_6_2_is_refused_in_one_line() -> None:
    with pytest.raises(UnsupportedRedis) as refused:
        check_redis_version(OldRedis(), "redis://:secret@cache:6379/0")  # type: ignore[arg-type]
    message = str(refused.value)
    assert message == (
        "Redis 6.0.16 at redis://:***@cache:6379/0 is too old: the hotline needs 6.2 or newer"
    )


def test_a_redis_that_is_down_does_not_stop_the_web_tier_starting(
    hotline: Hotline, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support.services import free_port

    url = f"redis://127.0.0.1:{free_port()}/0"
    settings = hotline.settings.__class__(**{**vars(hotline.settings), "redis_url": url})
    started = Hotline.from_settings(settings)
    started.engine.dispose()


def test_the_worker_refuses_an_old_redis(
    runner: FlaskCliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ivr.cli import cli

    monkeypatch.setattr(hotline_module, "redis_version", lambda redis: (6, 0, 16))
    result = runner.invoke(cli, ["worker", "--burst"])
    assert result.exit_code != 0
    assert "is too old: the hotline needs 6.2 or newer" in result.output


# --- any input at all ---------------------------------------------------------------------

FIELDS = ["CallSid", "From", "To", "Digits", "FinishedOnKey", "StirVerstat", "CallStatus",
          "CallDuration", "QueueResult", "QueueTime", "ErrorCode", "ErrorUrl", "Other"]  # fmt: skip
STEPS = ["", "/precinct", "/pin", "/figure/first/1", "/total/final", "/fix/first", "/confirm",
         "/hold", "/dequeued", "/admitted", "/status", "/fallback", "/pin/"]  # fmt: skip


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    step=st.sampled_from(STEPS),
    query=st.dictionaries(st.sampled_from(["n", "r", "d", "p", "silence"]), st.text(max_size=30)),
    form=st.dictionaries(st.sampled_from(FIELDS), st.text(max_size=200)),
)
def test_any_signed_request_gets_twiml(
    client: FlaskClient, step: str, query: dict[str, str], form: dict[str, str]
) -> None:
    path = "/voice" + step + ("?" + urlencode(query) if query else "")
    status, body = post(client, path, {"CallSid": SID, **form})
    assert status == 200, body
    parse(body)
