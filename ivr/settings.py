"""One typed settings object, read from the environment once and passed into create_app()."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

PROFILES = ("dev", "test", "production")

# Used only by the dev and test profiles; production refuses to start without real secrets.
DEV_SECRETS = {
    "TWILIO_AUTH_TOKEN": "dev-twilio-auth-token",
    "SECRET_KEY": "dev-secret-key",
    "PIN_KEY": "dev-pin-key",
}


MIN_SECRET_LENGTH = 32
"""Production refuses shorter secrets (Twilio's auth tokens are 32 hex characters)."""
HOLD_MAX_CEILING = 5000
"""Twilio's queue ceiling: a hold queue cannot hold more callers than this."""

ProxyNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class SettingsError(Exception):
    """A setting is missing or invalid; the message is one line for the operator."""


@dataclass(frozen=True)
class Settings:
    """Everything the hotline reads from its environment."""

    profile: str
    database_url: str
    redis_url: str
    twilio_auth_token: str = field(repr=False)
    public_base_url: str
    secret_key: str = field(repr=False)
    pin_key: str = field(repr=False)
    ballot: str = "iowa2020"
    instance_dir: Path = Path("instance")
    call_state_ttl_seconds: int = 6 * 3600
    precinct_cache_seconds: int = 30
    ivr_capacity: int = 500
    """Calls inside the IVR at once; callers beyond it (except chairs) wait in the hold queue."""
    hold_max: int = 2000
    """Held callers beyond which new unknown callers hear busy."""
    # A bearer token that lets a Prometheus scraper read /metrics without a staff login.
    metrics_token: str = field(default="", repr=False)
    trusted_proxies: tuple[ProxyNetwork, ...] = ()
    """Peers whose X-Forwarded-For is believed (the load balancer); by default none."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from `environ` (default: os.environ); raise SettingsError if unusable."""
        env = os.environ if environ is None else environ
        profile = env.get("HOTLINE_PROFILE", "production")
        if profile not in PROFILES:
            raise SettingsError(
                f"HOTLINE_PROFILE must be one of {', '.join(PROFILES)}, not {profile!r}"
            )
        instance_dir = Path(env.get("HOTLINE_INSTANCE_DIR", "instance")).resolve()

        def secret(name: str) -> str:
            value = env.get(name, "")
            if value and profile == "production" and len(value) < MIN_SECRET_LENGTH:
                # The length only, never the value: this message goes to logs.
                raise SettingsError(
                    f"{name} is too short ({len(value)} characters); production needs at least "
                    f"{MIN_SECRET_LENGTH} random characters (e.g. python -c 'import secrets; "
                    "print(secrets.token_hex(32))')"
                )
            if value:
                return value
            if profile != "production":
                return DEV_SECRETS[name]
            raise SettingsError(
                f"{name} is not set; production needs it (or set HOTLINE_PROFILE=dev)"
            )

        public_base_url = env.get("PUBLIC_BASE_URL", "")
        if not public_base_url:
            if profile == "production":
                raise SettingsError(
                    "PUBLIC_BASE_URL is not set; it must be the URL Twilio calls (e.g. https://hotline.example.org)"
                )
            public_base_url = "http://127.0.0.1:5000"
        return cls(
            profile=profile,
            database_url=env.get("DATABASE_URL", f"sqlite:///{instance_dir / 'hotline.db'}"),
            redis_url=env.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
            twilio_auth_token=secret("TWILIO_AUTH_TOKEN"),
            public_base_url=public_base_url.rstrip("/"),
            secret_key=secret("SECRET_KEY"),
            pin_key=secret("PIN_KEY"),
            ballot=env.get("HOTLINE_BALLOT", "iowa2020"),
            instance_dir=instance_dir,
            metrics_token=env.get("METRICS_TOKEN", ""),
            ivr_capacity=_whole(env, "HOTLINE_IVR_CAPACITY", 500),
            hold_max=_whole(
                env,
                "HOTLINE_HOLD_MAX",
                2000,
                maximum=HOLD_MAX_CEILING,
                why=" (Twilio's queue ceiling)",
            ),
            trusted_proxies=_networks(env, "HOTLINE_TRUSTED_PROXIES"),
        )


def _whole(
    env: Mapping[str, str], name: str, default: int, maximum: int | None = None, why: str = ""
) -> int:
    """A whole number setting from 1 (to `maximum`), or `default` when unset."""
    value = env.get(name, "").strip()
    if value == "":
        return default
    # ASCII digits only, and few of them: int() of "²" or of 5,000 digits raises.
    if not (value.isascii() and value.isdigit()) or len(value) > 9 or int(value) < 1:
        raise SettingsError(f"{name} must be a whole number of at least 1, not {value[:20]!r}")
    if maximum is not None and int(value) > maximum:
        raise SettingsError(f"{name} is {int(value)}; it may be at most {maximum}{why}")
    return int(value)


def _networks(env: Mapping[str, str], name: str) -> tuple[ProxyNetwork, ...]:
    """Comma-separated addresses or CIDRs (a bare address is a network of one)."""
    networks = []
    for item in env.get(name, "").split(","):
        text = item.strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise SettingsError(
                f"{name} must list addresses or CIDRs separated by commas; {text[:50]!r} is neither"
            ) from None
    return tuple(networks)
