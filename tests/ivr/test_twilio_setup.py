"""`hotline twilio configure` and `check`: the real `twilio` Client against the REST
stand-in running as a live server, for the results line's number and, when
HOTLINE_DRILL_NUMBER is set, the drill line's; the check's result on the staff overview;
and the number's messaging webhook, `/sms`."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urldefrag, urlsplit

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis
from twilio.request_validator import RequestValidator

from callflows.prompts import TEXT_ONLY
from ivr import create_app
from ivr.cli import cli
from ivr.hotline import Hotline
from ivr.settings import Settings, SettingsError
from ivr.twilio_api import rest_client
from ivr.twilio_setup import (
    CONNECTION_OVERRIDES,
    Change,
    CheckRecord,
    Current,
    CurrentNumber,
    NumberConfig,
    Role,
    desired,
    diff,
    last_check,
)
from ivr.voice.calls import HOLD_QUEUE_NAME
from models import StaffRole
from softphone import HttpTransport, signature_url
from softphone.rest import RestStandIn
from tests.conftest import AUTH_TOKEN, PUBLIC_BASE_URL, make_settings
from tests.ivr.staff.support import staff_client
from tests.support.services import RedisServer

ACCOUNT_SID = "AC" + "1" * 32
NUMBER = "+15155550100"
DRILL_NUMBER = "+15155550111"
"""The drill line's number: the stand-in's account owns it in every test, so that the tests
without HOTLINE_DRILL_NUMBER show it is left alone."""
HOLD_MAX = 1500
FRAGMENT = "ct=1000&rt=4000&tt=6000&rc=1&rp=ct,rt"

Invoke = Callable[..., Result]


@pytest.fixture
def twilio() -> Iterator[RestStandIn]:
    with RestStandIn(
        HttpTransport(),
        auth_token=AUTH_TOKEN,
        account_sid=ACCOUNT_SID,
        numbers=(NUMBER, DRILL_NUMBER),
    ) as stand_in:
        yield stand_in


@pytest.fixture
def cli_settings(
    twilio: RestStandIn,
    redis_server: RedisServer,
    sqlite_template: Path,
    tmp_path: Path,
) -> Settings:
    """Settings as tests/conftest.py makes them, with the account, the stand-in's address,
    the hotline's number and the hold queue's size."""
    database = tmp_path / "cli.db"
    shutil.copy(sqlite_template, database)
    return dataclasses.replace(
        make_settings(f"sqlite:///{database}", redis_server.url, tmp_path),
        twilio_account_sid=ACCOUNT_SID,
        twilio_api_base_url=twilio.base_url,
        hotline_number=NUMBER,
        hold_max=HOLD_MAX,
    )


@pytest.fixture
def hotline_cli(cli_settings: Settings, redis: Redis) -> Iterator[Callable[..., Result]]:
    """`hotline` with settings: invoke("twilio", "check", settings=...)."""
    apps: list[Flask] = []

    def invoke(*args: str, settings: Settings = cli_settings) -> Result:
        app = create_app(settings)
        apps.append(app)
        return app.test_cli_runner().invoke(cli, list(args))

    yield invoke
    for app in apps:
        hotline: Hotline = app.extensions["hotline"]
        hotline.engine.dispose()
        hotline.redis.close()


def expected_config(voice_path: str = "/voice") -> NumberConfig:
    base = PUBLIC_BASE_URL
    return NumberConfig(
        voice_url=f"{base}{voice_path}#{FRAGMENT}",
        voice_method="POST",
        voice_fallback_url=f"{base}/voice/fallback",
        status_callback=f"{base}/voice/status",
        sms_url=f"{base}/sms",
    )


def number_fields(twilio: RestStandIn, number: str = NUMBER) -> dict[str, Any]:
    state = twilio.number(number)
    return {name: getattr(state, name) for name in NumberConfig.__dataclass_fields__}


UNSET_NUMBER = {
    "voice_url": "",
    "voice_method": "POST",
    "voice_fallback_url": "",
    "status_callback": "",
    "sms_url": "",
}
"""A number's fields as the stand-in's account starts with them (as a new Twilio number's)."""


# --- configure ---------------------------------------------------------------------------


def test_configure_apply_sets_every_field_and_a_second_run_changes_nothing(
    twilio: RestStandIn, hotline_cli: Invoke
) -> None:
    first = hotline_cli("twilio", "configure", "--apply")
    assert first.exit_code == 0, first.output
    # A new number's VoiceMethod is already POST (Twilio's default): four URLs and the queue.
    assert "applied 5 change(s)" in first.output
    for name in ("VoiceUrl", "VoiceFallbackUrl", "StatusCallback", "SmsUrl"):
        assert f"  {name}: (not set) -> " in first.output
    assert "VoiceMethod" not in first.output
    assert f"Queue {HOLD_QUEUE_NAME} MaxSize: (no queue) -> {HOLD_MAX}" in first.output
    assert number_fields(twilio) == dataclasses.asdict(expected_config())
    # Without HOTLINE_DRILL_NUMBER the account's other number is none of configure's business.
    assert "Drill" not in first.output and DRILL_NUMBER not in first.output
    assert number_fields(twilio, DRILL_NUMBER) == UNSET_NUMBER
    queue = twilio.queue_named(HOLD_QUEUE_NAME)
    assert queue is not None and queue.max_size == HOLD_MAX

    second = hotline_cli("twilio", "configure", "--apply")
    assert second.exit_code == 0, second.output
    assert "nothing to change" in second.output
    assert "->" not in second.output
    assert number_fields(twilio) == dataclasses.asdict(expected_config())


def test_configure_without_apply_shows_the_changes_and_makes_none(
    twilio: RestStandIn, hotline_cli: Invoke
) -> None:
    before = number_fields(twilio)
    result = hotline_cli("twilio", "configure")
    assert result.exit_code == 1, result.output
    voice_url = expected_config().voice_url
    assert f"VoiceUrl: {before['voice_url'] or '(not set)'} -> {voice_url}" in result.output
    assert "5 change(s) pending" in result.output
    assert "nothing was changed" in result.output
    assert number_fields(twilio) == before
    assert twilio.queue_named(HOLD_QUEUE_NAME) is None


def test_an_existing_queue_is_resized_not_duplicated(
    twilio: RestStandIn, hotline_cli: Invoke, cli_settings: Settings
) -> None:
    rest_client(cli_settings).queues.create(friendly_name=HOLD_QUEUE_NAME, max_size=100)
    result = hotline_cli("twilio", "configure", "--apply")
    assert result.exit_code == 0, result.output
    assert f"Queue {HOLD_QUEUE_NAME} MaxSize: 100 -> {HOLD_MAX}" in result.output
    queues = rest_client(cli_settings).queues.list()
    assert [queue.friendly_name for queue in queues].count(HOLD_QUEUE_NAME) == 1
    queue = twilio.queue_named(HOLD_QUEUE_NAME)
    assert queue is not None and queue.max_size == HOLD_MAX


# --- check -------------------------------------------------------------------------------


def test_check_passes_after_apply_and_names_a_field_changed_behind_its_back(
    twilio: RestStandIn, hotline_cli: Invoke, cli_settings: Settings
) -> None:
    assert hotline_cli("twilio", "configure", "--apply").exit_code == 0
    passed = hotline_cli("twilio", "check")
    assert passed.exit_code == 0, passed.output
    assert "matches" in passed.output

    client = rest_client(cli_settings)
    (number,) = client.incoming_phone_numbers.list(phone_number=NUMBER)
    client.incoming_phone_numbers(number.sid).update(
        sms_url="https://elsewhere.example/sms", voice_method="GET"
    )
    before = number_fields(twilio)
    failed = hotline_cli("twilio", "check")
    assert failed.exit_code == 1, failed.output
    assert f"SmsUrl: https://elsewhere.example/sms -> {PUBLIC_BASE_URL}/sms" in failed.output
    assert "VoiceMethod: GET -> POST" in failed.output
    assert "differs in 2 field(s)" in failed.output
    assert "VoiceUrl" not in failed.output
    assert number_fields(twilio) == before  # a check changes nothing


def test_check_names_a_queue_too_small(
    twilio: RestStandIn, hotline_cli: Invoke, cli_settings: Settings
) -> None:
    assert hotline_cli("twilio", "configure", "--apply").exit_code == 0
    client = rest_client(cli_settings)
    (queue,) = [q for q in client.queues.list() if q.friendly_name == HOLD_QUEUE_NAME]
    client.queues(queue.sid).update(max_size=10)
    result = hotline_cli("twilio", "check")
    assert result.exit_code == 1, result.output
    assert f"Queue {HOLD_QUEUE_NAME} MaxSize: 10 -> {HOLD_MAX}" in result.output


# --- errors: one line, Twilio's code, exit 2 ---------------------------------------------


def assert_one_line_error(result: Result, *expected: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    for text in expected:
        assert text in lines[0]


@pytest.mark.parametrize("command", [["configure"], ["configure", "--apply"], ["check"]])
def test_bad_credentials_are_one_line_with_twilios_code(
    twilio: RestStandIn, hotline_cli: Invoke, cli_settings: Settings, command: list[str]
) -> None:
    wrong = dataclasses.replace(cli_settings, twilio_auth_token="not-the-auth-token")
    result = hotline_cli("twilio", *command, settings=wrong)
    assert_one_line_error(result, "20003")
    assert "not-the-auth-token" not in result.output
    assert twilio.queue_named(HOLD_QUEUE_NAME) is None


def test_twilios_own_failure_is_one_line_with_its_code(
    twilio: RestStandIn, hotline_cli: Invoke
) -> None:
    twilio.fail_requests(1, status=503, code=20500)
    assert_one_line_error(hotline_cli("twilio", "configure", "--apply"), "20500", "503")
    assert twilio.queue_named(HOLD_QUEUE_NAME) is None


def test_an_unknown_number_or_missing_settings_stop_with_one_line(
    hotline_cli: Invoke, cli_settings: Settings
) -> None:
    other = dataclasses.replace(cli_settings, hotline_number="+15155550199")
    assert_one_line_error(hotline_cli("twilio", "check", settings=other), "+15155550199")
    no_account = dataclasses.replace(cli_settings, twilio_account_sid="")
    assert_one_line_error(hotline_cli("twilio", "configure", settings=no_account), "ACCOUNT_SID")


def test_no_option_takes_the_credentials(hotline_cli: Invoke) -> None:
    for command in ("configure", "check"):
        result = hotline_cli("twilio", command, "--help")
        assert result.exit_code == 0
        assert "--auth" not in result.output and "--account" not in result.output
        assert "--token" not in result.output and "--sid" not in result.output


# --- the drill line's number (HOTLINE_DRILL_NUMBER) ----------------------------------------


@pytest.fixture
def drill_settings(cli_settings: Settings) -> Settings:
    return dataclasses.replace(cli_settings, drill_number=DRILL_NUMBER)


def test_configure_with_a_drill_number_shows_and_applies_its_fields_then_check_passes(
    twilio: RestStandIn, hotline_cli: Invoke, drill_settings: Settings
) -> None:
    drill = expected_config("/voice/drill")
    shown = hotline_cli("twilio", "configure", settings=drill_settings)
    assert shown.exit_code == 1, shown.output
    lines = shown.output.splitlines()
    # The results line's lines as without a drill line, then the drill line's, then the queue.
    assert lines == [
        f"  VoiceUrl: (not set) -> {expected_config().voice_url}",
        f"  VoiceFallbackUrl: (not set) -> {PUBLIC_BASE_URL}/voice/fallback",
        f"  StatusCallback: (not set) -> {PUBLIC_BASE_URL}/voice/status",
        f"  SmsUrl: (not set) -> {PUBLIC_BASE_URL}/sms",
        f"  Drill line VoiceUrl: (not set) -> {drill.voice_url}",
        f"  Drill line VoiceFallbackUrl: (not set) -> {PUBLIC_BASE_URL}/voice/fallback",
        f"  Drill line StatusCallback: (not set) -> {PUBLIC_BASE_URL}/voice/status",
        f"  Drill line SmsUrl: (not set) -> {PUBLIC_BASE_URL}/sms",
        f"  Queue {HOLD_QUEUE_NAME} MaxSize: (no queue) -> {HOLD_MAX}",
        f"9 change(s) pending for the number {NUMBER}, drill line number {DRILL_NUMBER} "
        f"and queue {HOLD_QUEUE_NAME}; nothing was changed (run with --apply to make them)",
    ]
    assert number_fields(twilio, DRILL_NUMBER) == UNSET_NUMBER

    applied = hotline_cli("twilio", "configure", "--apply", settings=drill_settings)
    assert applied.exit_code == 0, applied.output
    assert "applied 9 change(s)" in applied.output
    assert number_fields(twilio, DRILL_NUMBER) == dataclasses.asdict(drill)
    assert number_fields(twilio) == dataclasses.asdict(expected_config())

    checked = hotline_cli("twilio", "check", settings=drill_settings)
    assert checked.exit_code == 0, checked.output
    assert f"matches: the number {NUMBER}, drill line number {DRILL_NUMBER}" in checked.output


def test_check_catches_a_wrong_drill_voice_url_and_configure_apply_fixes_it(
    twilio: RestStandIn,
    hotline_cli: Invoke,
    drill_settings: Settings,
    client: FlaskClient,
    hotline: Hotline,
) -> None:
    assert hotline_cli("twilio", "configure", "--apply", settings=drill_settings).exit_code == 0
    # The likeliest typo: the drill number pointed at the results line's /voice.
    rest = rest_client(drill_settings)
    (number,) = rest.incoming_phone_numbers.list(phone_number=DRILL_NUMBER)
    results_voice_url = expected_config().voice_url
    rest.incoming_phone_numbers(number.sid).update(voice_url=results_voice_url)
    drill_voice_url = expected_config("/voice/drill").voice_url

    failed = hotline_cli("twilio", "check", settings=drill_settings)
    assert failed.exit_code == 1, failed.output
    difference = f"Drill line VoiceUrl: {results_voice_url} -> {drill_voice_url}"
    assert f"  {difference}\n" in failed.output
    assert "differs in 1 field(s)" in failed.output
    assert "\n  VoiceUrl" not in failed.output and not failed.output.startswith("  VoiceUrl")
    record = last_check(hotline.redis)
    assert record is not None and not record.passed and record.differences == (difference,)
    staff_client(client, hotline, StaffRole.VIEWER)
    assert "Drill line VoiceUrl: " in overview_row(client)

    fixed = hotline_cli("twilio", "configure", "--apply", settings=drill_settings)
    assert fixed.exit_code == 0, fixed.output
    assert "applied 1 change(s)" in fixed.output
    assert twilio.number(DRILL_NUMBER).voice_url == drill_voice_url
    assert twilio.number(NUMBER).voice_url == results_voice_url
    assert hotline_cli("twilio", "check", settings=drill_settings).exit_code == 0


@pytest.mark.parametrize("command", [["configure", "--apply"], ["check"]])
def test_a_drill_number_the_account_lacks_is_one_line_naming_the_setting(
    twilio: RestStandIn, hotline_cli: Invoke, cli_settings: Settings, command: list[str]
) -> None:
    elsewhere = dataclasses.replace(cli_settings, drill_number="+15155550198")
    result = hotline_cli("twilio", *command, settings=elsewhere)
    assert_one_line_error(result, "+15155550198", "HOTLINE_DRILL_NUMBER")
    # Nothing is applied when a number cannot be read, the results line's included.
    assert number_fields(twilio) == UNSET_NUMBER
    assert twilio.queue_named(HOLD_QUEUE_NAME) is None


def test_without_a_drill_number_configure_says_what_it_always_said(
    hotline_cli: Invoke,
) -> None:
    result = hotline_cli("twilio", "configure")
    assert result.exit_code == 1, result.output
    assert result.output.splitlines() == [
        f"  VoiceUrl: (not set) -> {expected_config().voice_url}",
        f"  VoiceFallbackUrl: (not set) -> {PUBLIC_BASE_URL}/voice/fallback",
        f"  StatusCallback: (not set) -> {PUBLIC_BASE_URL}/voice/status",
        f"  SmsUrl: (not set) -> {PUBLIC_BASE_URL}/sms",
        f"  Queue {HOLD_QUEUE_NAME} MaxSize: (no queue) -> {HOLD_MAX}",
        f"5 change(s) pending for the number {NUMBER} and queue {HOLD_QUEUE_NAME}; nothing "
        "was changed (run with --apply to make them)",
    ]


# --- the check's record, on the staff overview -------------------------------------------


def test_the_overview_shows_the_last_check(
    client: FlaskClient, hotline: Hotline, hotline_cli: Invoke
) -> None:
    staff_client(client, hotline, StaffRole.VIEWER)
    assert "never checked" in overview_row(client)

    assert hotline_cli("twilio", "check").exit_code == 1
    record = last_check(hotline.redis)
    assert record is not None and not record.passed
    assert any(line.startswith("VoiceUrl: ") for line in record.differences)
    row = overview_row(client)
    assert "failed" in row and "VoiceUrl: " in row and "never checked" not in row

    assert hotline_cli("twilio", "configure", "--apply").exit_code == 0
    assert hotline_cli("twilio", "check").exit_code == 0
    record = last_check(hotline.redis)
    assert record is not None and record.passed and record.differences == ()
    row = overview_row(client)
    assert "passed" in row and "failed" not in row and "VoiceUrl" not in row


def test_a_check_that_cannot_reach_twilio_is_recorded_as_failed(
    hotline_cli: Invoke, cli_settings: Settings, hotline: Hotline
) -> None:
    wrong = dataclasses.replace(cli_settings, twilio_auth_token="not-the-auth-token")
    assert hotline_cli("twilio", "check", settings=wrong).exit_code == 2
    record = last_check(hotline.redis)
    assert record is not None and not record.passed
    assert "20003" in record.differences[0]


def overview_row(client: FlaskClient) -> str:
    page = client.get("/staff/").get_data(as_text=True)
    start = page.index("Twilio set-up")
    return page[start : page.index("</tr>", start)]


# --- pure parts ----------------------------------------------------------------------------

DOCUMENTED_RANGES = {"ct": (100, 10000), "rt": (100, 15000), "tt": (100, 15000), "rc": (0, 5)}
"""Twilio's connection overrides and their allowed values (see ivr/twilio_setup.py)."""


def test_the_voice_urls_overrides_are_within_twilios_documented_ranges() -> None:
    settings = make_settings("sqlite://", "redis://", Path("."))
    (results,) = desired(dataclasses.replace(settings, hotline_number=NUMBER)).numbers
    url = results.config.voice_url
    base, fragment = urldefrag(url)
    assert base == f"{PUBLIC_BASE_URL}/voice"
    overrides = dict(parse_qsl(fragment))
    assert list(overrides) == [key for key, _ in CONNECTION_OVERRIDES]
    for key, (low, high) in DOCUMENTED_RANGES.items():
        assert low <= int(overrides[key]) <= high, key
    assert set(overrides["rp"].split(",")) <= {"4xx", "5xx", "ct", "rt", "all"}
    # Twilio gives up and fetches the fallback URL within the total time.
    assert int(overrides["ct"]) + int(overrides["rt"]) <= int(overrides["tt"])


def test_desired_needs_the_number() -> None:
    settings = make_settings("sqlite://", "redis://", Path("."))
    with pytest.raises(SettingsError, match="HOTLINE_PHONE_NUMBER"):
        desired(settings)


def test_diff_lists_each_field_once_old_to_new() -> None:
    settings = dataclasses.replace(
        make_settings("sqlite://", "redis://", Path(".")), hotline_number=NUMBER, hold_max=7
    )
    want = desired(settings)
    (results,) = want.numbers
    same = Current((CurrentNumber(Role.RESULTS, "PN1", results.config),), "QU1", 7)
    assert diff(same, want) == []
    wrong = dataclasses.replace(results.config, voice_method="GET")
    changed = Current((CurrentNumber(Role.RESULTS, "PN1", wrong),), None, None)
    assert diff(changed, want) == [
        Change("voice_method", "GET", "POST"),
        Change("queue_max_size", None, "7"),
    ]
    assert [change.line() for change in diff(changed, want)] == [
        "VoiceMethod: GET -> POST",
        f"Queue {HOLD_QUEUE_NAME} MaxSize: (no queue) -> 7",
    ]


def test_the_drill_lines_fields_differ_from_the_results_lines_only_in_the_voice_path() -> None:
    settings = dataclasses.replace(
        make_settings("sqlite://", "redis://", Path(".")),
        hotline_number=NUMBER,
        drill_number=DRILL_NUMBER,
    )
    results, drill = desired(settings).numbers
    assert (results.role, results.number) == (Role.RESULTS, NUMBER)
    assert (drill.role, drill.number) == (Role.DRILL, DRILL_NUMBER)
    assert drill.config == dataclasses.replace(
        results.config, voice_url=f"{PUBLIC_BASE_URL}/voice/drill#{FRAGMENT}"
    )
    same = dataclasses.replace(settings, drill_number=NUMBER)
    with pytest.raises(SettingsError, match="HOTLINE_DRILL_NUMBER"):
        desired(same)


def test_diff_names_the_drill_lines_changes() -> None:
    settings = dataclasses.replace(
        make_settings("sqlite://", "redis://", Path(".")),
        hotline_number=NUMBER,
        drill_number=DRILL_NUMBER,
        hold_max=7,
    )
    want = desired(settings)
    results, drill = want.numbers
    current = Current(
        (
            CurrentNumber(Role.RESULTS, "PN1", results.config),
            CurrentNumber(Role.DRILL, "PN2", dataclasses.replace(drill.config, sms_url="")),
        ),
        "QU1",
        7,
    )
    assert diff(current, want) == [Change("sms_url", "", f"{PUBLIC_BASE_URL}/sms", Role.DRILL)]
    assert [change.line() for change in diff(current, want)] == [
        f"Drill line SmsUrl: (not set) -> {PUBLIC_BASE_URL}/sms"
    ]


@pytest.mark.parametrize(
    "text", ["", "[]", "{}", '{"at": "x", "passed": true}', '{"at": 1, "passed": "yes"}']
)
def test_an_unreadable_record_is_no_record(text: str) -> None:
    assert CheckRecord.from_json(text) is None


# --- the signature and the fragment ------------------------------------------------------


def signed_post(client: FlaskClient, path: str, params: dict[str, str], url: str) -> Any:
    signature = RequestValidator(AUTH_TOKEN).compute_signature(url, params)
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature})


def test_twilio_signs_the_voice_url_without_its_fragment_and_so_do_we(
    client: FlaskClient,
) -> None:
    voice_url = expected_config().voice_url
    assert urlsplit(voice_url).fragment
    # The softphone signs as Twilio does: the URL it requests, which has no fragment.
    assert signature_url(voice_url) == f"{PUBLIC_BASE_URL}/voice"
    params = {"CallSid": "CA" + "2" * 32, "From": "+15155550123", "To": NUMBER}
    assert signed_post(client, "/voice", params, signature_url(voice_url)).status_code == 200
    # Signed over the URL with its fragment, the request is not Twilio's.
    assert signed_post(client, "/voice", params, voice_url).status_code == 403


# --- /sms --------------------------------------------------------------------------------

SMS = {
    "MessageSid": "SM" + "3" * 32,
    "AccountSid": ACCOUNT_SID,
    "From": "+15155550123",
    "To": NUMBER,
    "Body": "Here is the worksheet",
    "NumMedia": "0",
}


def test_a_signed_text_without_a_photo_is_told_what_to_send(client: FlaskClient) -> None:
    response = signed_post(client, "/sms", SMS, f"{PUBLIC_BASE_URL}/sms")
    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    body = response.get_data(as_text=True)
    assert body == (
        f'<?xml version="1.0" encoding="UTF-8"?><Response><Message>{TEXT_ONLY}</Message></Response>'
    )


def test_an_unsigned_or_forged_text_gets_403(client: FlaskClient) -> None:
    assert client.post("/sms", data=SMS).status_code == 403
    forged = {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"}
    assert client.post("/sms", data=SMS, headers=forged).status_code == 403
    # Signed for another path: still not this request's signature.
    assert signed_post(client, "/sms", SMS, f"{PUBLIC_BASE_URL}/voice").status_code == 403
    assert client.get("/sms").status_code == 405
