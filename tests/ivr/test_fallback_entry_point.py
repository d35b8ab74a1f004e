"""PUBLIC_FALLBACK_BASE_URL: Twilio's fallback URL on a second entry point (a second load
balancer in front of the same web nodes), and requests signed for it accepted."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from twilio.request_validator import RequestValidator

from ivr import create_app
from ivr.hotline import Hotline
from ivr.settings import Settings
from ivr.twilio_setup import desired
from tests.conftest import AUTH_TOKEN, PUBLIC_BASE_URL, make_settings

NUMBER = "+15155550100"
FALLBACK_BASE_URL = "https://entry2.hotline.example.org"
CALL = {"CallSid": "CA" + "4" * 32, "From": "+15155550123", "To": NUMBER}


def signed_post(client: FlaskClient, path: str, url: str) -> Any:
    signature = RequestValidator(AUTH_TOKEN).compute_signature(url, CALL)
    return client.post(path, data=CALL, headers={"X-Twilio-Signature": signature})


def test_the_fallback_url_points_at_the_second_entry_point() -> None:
    settings = dataclasses.replace(
        make_settings("sqlite://", "redis://", Path(".")),
        hotline_number=NUMBER,
        public_fallback_base_url=FALLBACK_BASE_URL,
    )
    (results,) = desired(settings).numbers
    assert results.config.voice_fallback_url == f"{FALLBACK_BASE_URL}/voice/fallback"
    # Everything else stays on the first entry point.
    assert results.config.voice_url.startswith(f"{PUBLIC_BASE_URL}/voice#")
    assert results.config.status_callback == f"{PUBLIC_BASE_URL}/voice/status"
    assert results.config.sms_url == f"{PUBLIC_BASE_URL}/sms"
    plain = dataclasses.replace(settings, public_fallback_base_url="")
    (same_host,) = desired(plain).numbers
    assert same_host.config.voice_fallback_url == f"{PUBLIC_BASE_URL}/voice/fallback"


def test_the_setting_is_read_without_its_trailing_slash() -> None:
    env = {"HOTLINE_PROFILE": "test", "PUBLIC_FALLBACK_BASE_URL": f" {FALLBACK_BASE_URL}/ "}
    assert Settings.from_env(env).public_fallback_base_url == FALLBACK_BASE_URL
    assert Settings.from_env({"HOTLINE_PROFILE": "test"}).public_fallback_base_url == ""


def test_a_request_signed_for_the_second_entry_point_is_accepted(
    hotline: Hotline, client: FlaskClient
) -> None:
    # Without the setting, the second entry point's signature is not ours.
    assert signed_post(client, "/voice", f"{FALLBACK_BASE_URL}/voice").status_code == 403
    app = create_app(
        dataclasses.replace(hotline.settings, public_fallback_base_url=FALLBACK_BASE_URL)
    )
    try:
        both = app.test_client()
        assert signed_post(both, "/voice", f"{PUBLIC_BASE_URL}/voice").status_code == 200
        assert signed_post(both, "/voice", f"{FALLBACK_BASE_URL}/voice").status_code == 200
        retry = "/voice/fallback?ErrorCode=11200"
        assert signed_post(both, retry, f"{FALLBACK_BASE_URL}{retry}").status_code == 200
        other = "https://elsewhere.example.org"
        assert signed_post(both, "/voice", f"{other}/voice").status_code == 403
    finally:
        app.extensions["hotline"].engine.dispose()


def test_a_step_that_failed_on_the_second_entry_point_is_retried_not_restarted(
    hotline: Hotline,
) -> None:
    app = create_app(
        dataclasses.replace(hotline.settings, public_fallback_base_url=FALLBACK_BASE_URL)
    )
    try:
        client = app.test_client()
        failed = {
            **CALL,
            "ErrorCode": "11200",
            "ErrorUrl": f"{FALLBACK_BASE_URL}/voice/figure/first/2?n=4",
            "Digits": "12",
        }
        signature = RequestValidator(AUTH_TOKEN).compute_signature(
            f"{FALLBACK_BASE_URL}/voice/fallback", failed
        )
        answer = client.post(
            "/voice/fallback", data=failed, headers={"X-Twilio-Signature": signature}
        )
        assert answer.status_code == 200
        body = answer.get_data(as_text=True)
        assert "<Redirect" in body, body
        redirect = body.split("<Redirect")[1].split(">", 1)[1].split("</Redirect>")[0]
        assert redirect == "/voice/figure/first/2?n=4&amp;r=1&amp;d=12"
    finally:
        app.extensions["hotline"].engine.dispose()
