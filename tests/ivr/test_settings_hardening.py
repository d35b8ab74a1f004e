"""Settings that refuse what would weaken the hotline: short secrets in production, a hold
queue beyond Twilio's ceiling, trusted proxies that are not addresses."""

from __future__ import annotations

import ipaddress

import pytest

from ivr.settings import MIN_SECRET_LENGTH, Settings, SettingsError

STRONG = "s" * MIN_SECRET_LENGTH
PRODUCTION = {
    "HOTLINE_PROFILE": "production",
    "PUBLIC_BASE_URL": "https://hotline.example.org",
    "TWILIO_AUTH_TOKEN": "0123456789abcdef0123456789abcdef",
    "SECRET_KEY": STRONG,
    "PIN_KEY": STRONG,
}


def refusal(env: dict[str, str]) -> str:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(env)
    message = str(raised.value)
    assert "\n" not in message
    return message


def test_production_starts_with_strong_secrets() -> None:
    settings = Settings.from_env(PRODUCTION)
    assert settings.secret_key == STRONG and settings.trusted_proxies == ()


@pytest.mark.parametrize("name", ["SECRET_KEY", "PIN_KEY", "TWILIO_AUTH_TOKEN"])
def test_production_refuses_a_short_secret_naming_it_but_not_its_value(name: str) -> None:
    weak = "w" * (MIN_SECRET_LENGTH - 1)
    message = refusal({**PRODUCTION, name: weak})
    assert message.startswith(f"{name} is too short (31 characters)")
    assert weak not in message


def test_dev_and_test_profiles_keep_their_dev_secrets() -> None:
    for profile in ("dev", "test"):
        settings = Settings.from_env({"HOTLINE_PROFILE": profile, "SECRET_KEY": "short"})
        assert settings.secret_key == "short"


@pytest.mark.parametrize("value", ["5001", "6000", "99999999"])
def test_a_hold_max_above_twilios_queue_ceiling_is_refused(value: str) -> None:
    message = refusal({**PRODUCTION, "HOTLINE_HOLD_MAX": value})
    assert (
        message == f"HOTLINE_HOLD_MAX is {value}; it may be at most 5000 (Twilio's queue ceiling)"
    )


def test_a_hold_max_of_5000_is_fine() -> None:
    assert Settings.from_env({**PRODUCTION, "HOTLINE_HOLD_MAX": "5000"}).hold_max == 5000


@pytest.mark.parametrize("value", ["²", "1e9", "-0", "0", "9" * 5000, "10**5000", "٣"])
def test_odd_whole_numbers_are_refused_in_one_line(value: str) -> None:
    for name in ("HOTLINE_HOLD_MAX", "HOTLINE_IVR_CAPACITY"):
        message = refusal({**PRODUCTION, name: value})
        assert message.startswith(f"{name} must be a whole number of at least 1")
        assert len(message) < 200


def test_trusted_proxies_are_addresses_or_networks() -> None:
    settings = Settings.from_env(
        {**PRODUCTION, "HOTLINE_TRUSTED_PROXIES": " 10.0.0.0/8, 192.0.2.1 ,2001:db8::/32,"}
    )
    assert settings.trusted_proxies == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("192.0.2.1/32"),
        ipaddress.ip_network("2001:db8::/32"),
    )
    message = refusal({**PRODUCTION, "HOTLINE_TRUSTED_PROXIES": "10.0.0.0/8, the-balancer"})
    assert message.startswith("HOTLINE_TRUSTED_PROXIES must list addresses or CIDRs")
