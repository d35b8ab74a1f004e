"""The webhook layer: signatures, repeated requests, failures, status and fallback callbacks."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from flask import session
from flask.sessions import NullSession
from flask.testing import FlaskClient, FlaskCliRunner
from redis import Redis
from twilio.request_validator import RequestValidator

from callflows import prompts
from flood.worksheets import load_worksheets
from ivr import catalogue
from ivr.hotline import Hotline
from models import Call, Report
from queues.worker import run_worker
from softphone import COMPLETED, FlaskClientTransport, GatherPrompt, Keys
from tests.conftest import AUTH_TOKEN, PUBLIC_BASE_URL
from tests.support.calls import chair, place_call
from tests.support.calls import signed_post as post
from tests.support.calls import twiml_root as parse
from tests.support.data import import_precincts
from tests.support.services import RedisServer

CALL = {
    "CallSid": "CA" + "1" * 32,
    "AccountSid": "AC" + "2" * 32,
    "From": "+15155550123",
    "To": "+15155550100",
}


def test_forged_signature_is_refused_and_changes_nothing(client: FlaskClient, redis: Redis) -> None:
    status, _ = post(client, "/voice", CALL, token="not-the-auth-token")
    assert status == 403
    assert redis.keys("*") == []


def test_missing_signature_is_refused(client: FlaskClient, redis: Redis) -> None:
    response = client.post("/voice", data=CALL, base_url=PUBLIC_BASE_URL)
    assert response.status_code == 403
    assert redis.keys("*") == []


def test_signature_over_another_url_is_refused(client: FlaskClient) -> None:
    signature = RequestValidator(AUTH_TOKEN).compute_signature(f"{PUBLIC_BASE_URL}/voice/pin", CALL)
    response = client.post(
        "/voice", data=CALL, headers={"X-Twilio-Signature": signature}, base_url=PUBLIC_BASE_URL
    )
    assert response.status_code == 403


def test_first_answer_gathers_the_precinct_and_redirects_on_silence(client: FlaskClient) -> None:
    status, body = post(client, "/voice", CALL)
    assert status == 200
    root = parse(body)
    gather, redirect = list(root)
    assert gather.tag == "Gather"
    assert gather.get("action") == "/voice/precinct?n=1"
    assert gather.get("finishOnKey") == "#"
    assert [say.text for say in gather] == [
        "Caucus results hotline.",
        catalogue.say(prompts.language_offer("es"), "es"),
        prompts.ASK_PRECINCT,
    ]
    # The offer of Spanish in Spanish, with a Spanish voice; the rest in English.
    assert [say.get("language") for say in gather] == ["en-US", "es-US", "en-US"]
    assert redirect.tag == "Redirect"
    assert redirect.text == "/voice/precinct?n=1&silence=1"


def test_a_request_without_call_sid_gets_twiml_not_an_error(client: FlaskClient) -> None:
    status, body = post(client, "/voice", {"From": "+15155550123"})
    assert status == 200
    assert parse(body)[-1].tag == "Hangup"


def test_a_repeated_request_gets_the_same_answer_and_advances_once(
    client: FlaskClient, runner: FlaskCliRunner, hotline: Hotline, tmp_path: Path
) -> None:
    import_precincts(runner, tmp_path)
    post(client, "/voice", CALL)
    first = post(client, "/voice/precinct?n=1", {**CALL, "Digits": "948199"})
    again = post(client, "/voice/precinct?n=1", {**CALL, "Digits": "948199"})
    assert first == again
    loaded = hotline.store.load(CALL["CallSid"])
    assert loaded is not None and loaded.state.step == "pin" and loaded.state.seq == 2


def test_a_stale_request_gets_the_current_prompt_again(
    client: FlaskClient, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    import_precincts(runner, tmp_path)
    post(client, "/voice", CALL)
    _, current = post(client, "/voice/precinct?n=1", {**CALL, "Digits": "948199"})
    status, body = post(client, "/voice/figure/first/1?n=7", {**CALL, "Digits": "5"})
    assert status == 200 and body == current


def test_an_unknown_call_at_a_step_starts_afresh(client: FlaskClient) -> None:
    status, body = post(client, "/voice/pin?n=4", {**CALL, "Digits": "123456"})
    assert status == 200
    assert parse(body)[0].get("action") == "/voice/precinct?n=1"


def test_redis_down_mid_call_asks_the_caller_to_hold_and_the_report_still_commits_once(
    client: FlaskClient,
    runner: FlaskCliRunner,
    hotline: Hotline,
    redis_server: RedisServer,
    tmp_path: Path,
) -> None:
    pins = import_precincts(runner, tmp_path)
    sheet = load_worksheets()[("Adair", "1NW ADAIR")]
    holds: list[str] = []

    class RestartsRedisAfterTwoHolds(FlaskClientTransport):
        def post(
            self, url: str, params: Mapping[str, str], headers: Mapping[str, str]
        ) -> tuple[int, str]:
            status, body = super().post(url, params, headers)
            if "One moment, please." in body:
                holds.append(body)
                if len(holds) == 2:
                    redis_server.start()
            return status, body

    answer = chair("948199", pins["948199"], sheet, hotline.ballot)

    def chair_whose_line_hits_an_outage(prompt):  # type: ignore[no-untyped-def]
        if prompt.step == "figure/final/4" and not holds:
            redis_server.stop()
        return answer(prompt)

    from softphone import Softphone

    phone = Softphone(
        RestartsRedisAfterTwoHolds(client),
        f"{PUBLIC_BASE_URL}/voice",
        AUTH_TOKEN,
        from_number="+15155550123",
    )
    record = phone.call(chair_whose_line_hits_an_outage)

    assert len(holds) == 2
    # The hold carries the keys, so the retry answers the same step with them.
    assert parse(holds[0])[-1].text == "/voice/figure/final/4?n=19&r=1&d=8"
    assert record.outcome == COMPLETED
    assert set(record.statuses) == {200}
    assert "Your receipt number is" in record.spoken
    run_worker(hotline.redis, hotline.sessions, burst=True)
    with hotline.sessions() as session:
        (report,) = session.query(Report).all()
    assert report.figures["final"] == sheet.block(hotline.ballot, "final")


def test_status_callback_records_the_call_end(
    client: FlaskClient, runner: FlaskCliRunner, hotline: Hotline, tmp_path: Path
) -> None:
    pins = import_precincts(runner, tmp_path)
    sheet = load_worksheets()[("Adair", "1NW ADAIR")]
    record = place_call(client, chair("948199", pins["948199"], sheet, hotline.ballot))
    assert record.status_callback_status == 200
    run_worker(hotline.redis, hotline.sessions, burst=True)
    with hotline.sessions() as session:
        (call,) = session.query(Call).all()
    assert call.call_sid == record.call_sid
    assert call.from_number == "+15155550123"
    assert call.status == "completed"
    assert call.precinct_id == "948199"
    assert call.duration_seconds == int(record.duration_seconds + 0.999)


def test_fallback_holds_then_retries_the_failed_step(client: FlaskClient) -> None:
    error_url = f"{PUBLIC_BASE_URL}/voice/figure/first/2?n=4"
    status, body = post(
        client,
        "/voice/fallback",
        {**CALL, "ErrorCode": "11200", "ErrorUrl": error_url, "Digits": "12"},
    )
    assert status == 200
    root = parse(body)
    assert [child.tag for child in root] == ["Say", "Pause", "Redirect"]
    assert root[2].text == "/voice/figure/first/2?n=4&r=1&d=12"


def test_fallback_never_puts_a_pin_in_a_url(client: FlaskClient) -> None:
    error_url = f"{PUBLIC_BASE_URL}/voice/pin?n=2"
    _, body = post(
        client,
        "/voice/fallback",
        {**CALL, "ErrorCode": "11200", "ErrorUrl": error_url, "Digits": "123456"},
    )
    assert parse(body)[2].text == "/voice/pin?n=2&r=1"


def test_fallback_gives_up_politely_after_repeated_failures(client: FlaskClient) -> None:
    error_url = f"{PUBLIC_BASE_URL}/voice/figure/first/2?n=4&r=5"
    _, body = post(client, "/voice/fallback", {**CALL, "ErrorCode": "11200", "ErrorUrl": error_url})
    root = parse(body)
    assert root[-1].tag == "Hangup"
    assert "call back" in (root[0].text or "")


def test_redis_restarting_between_steps_loses_nothing_and_commits_once(
    client: FlaskClient,
    runner: FlaskCliRunner,
    hotline: Hotline,
    redis_server: RedisServer,
    tmp_path: Path,
) -> None:
    pins = import_precincts(runner, tmp_path)
    sheet = load_worksheets()[("Adair", "1NW ADAIR")]
    answer = chair("948199", pins["948199"], sheet, hotline.ballot)
    restarts = []

    def chair_while_redis_restarts(prompt: GatherPrompt) -> Keys:
        if (
            prompt.step in ("figure/first/5", "total/final", "confirm")
            and prompt.step not in restarts
        ):
            restarts.append(prompt.step)
            redis_server.restart()  # with its append-only file, as production runs it
        return answer(prompt)

    record = place_call(client, chair_while_redis_restarts)
    assert restarts == ["figure/first/5", "total/final", "confirm"]
    assert record.outcome == COMPLETED and set(record.statuses) == {200}
    assert "Your receipt number is" in record.spoken
    run_worker(hotline.redis, hotline.sessions, burst=True)
    with hotline.sessions() as session:
        (report,) = session.query(Report).all()
    assert report.figures["first"] == sheet.block(hotline.ballot, "first")


def test_webhooks_open_no_session_even_with_a_cookie(client: FlaskClient) -> None:
    client.set_cookie("session", "a-cookie-twilio-would-never-send")
    status, body = post(client, "/voice", CALL)
    assert status == 200 and parse(body)[0].tag == "Gather"
    with client.application.test_request_context("/voice/pin", method="POST"):
        assert isinstance(session, NullSession)
    with client.application.test_request_context("/staff/login"):
        assert not isinstance(session, NullSession)
        session["probe"] = 1  # staff pages keep their real, writable session


def test_a_calls_state_keeps_the_expiry_it_got_when_the_call_began(
    client: FlaskClient, runner: FlaskCliRunner, hotline: Hotline, tmp_path: Path
) -> None:
    import_precincts(runner, tmp_path)
    post(client, "/voice", CALL)
    post(client, "/voice/precinct?n=1", {**CALL, "Digits": "948199"})  # saved again
    ttl = hotline.redis.ttl(f"hotline:call:{CALL['CallSid']}")
    assert 0 < ttl <= hotline.settings.call_state_ttl_seconds
