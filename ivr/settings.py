"""One typed settings object, read from the environment once and passed into create_app()."""

from __future__ import annotations

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
            hold_max=_whole(env, "HOTLINE_HOLD_MAX", 2000),
        )


def _whole(env: Mapping[str, str], name: str, default: int) -> int:
    value = env.get(name, "")
    if value == "":
        return default
    if not value.isdigit() or int(value) < 1:
        raise SettingsError(f"{name} must be a whole number of at least 1, not {value!r}")
    return int(value)
