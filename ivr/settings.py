"""One typed settings object, read from the environment once and passed into create_app()."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from callflows.phones import e164

PROFILES = ("dev", "test", "production")

# Used only by the dev and test profiles; production refuses to start without real secrets.
DEV_SECRETS = {
    "TWILIO_AUTH_TOKEN": "dev-twilio-auth-token",
    "SECRET_KEY": "dev-secret-key",
    "PIN_KEY": "dev-pin-key",
}
DEV_ACCOUNT_SID = "AC" + "0" * 32
"""The dev and test profiles' Twilio account: the Twilio stand-in's (`hotline twilio stand-in`)."""
DEV_HOTLINE_NUMBER = "+15155550100"
"""The dev and test profiles' hotline number: the one the softphone calls by default."""
DEV_DRILL_NUMBER = "+15155550142"
"""The dev profile's drill line (`make run`'s stand-in owns it with the results line's)."""


MIN_SECRET_LENGTH = 32
"""Production refuses shorter secrets (Twilio's auth tokens are 32 hex characters)."""
HOLD_MAX_CEILING = 5000
"""Twilio's queue ceiling: a hold queue cannot hold more callers than this."""
DRILL_CLOSES_BEFORE_CAUCUS = timedelta(hours=6)
"""By default the drill line stops practice this long before the caucuses close, and from
then on connects its callers to the results line."""

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
    twilio_account_sid: str = ""
    """The Twilio account whose REST API the hotline uses (with `twilio_auth_token`)."""
    twilio_api_base_url: str = ""
    """Where the REST client sends its requests instead of https://api.twilio.com: the
    Twilio stand-in, in the dev and test profiles only; "" (the default) is Twilio itself."""
    hotline_number: str = ""
    """The hotline's own number (E.164), printed in the caucus packet: the number the REST
    set-up configures and every outbound call comes from."""
    staff_number: str = ""
    """Where a chair who presses 0 is put through to staff (E.164); "" when nobody is on duty."""
    staff_hours: str = ""
    """When staff answer, as the chair hears it ("until 1 a.m."), for a chair who presses 0
    when nobody is on duty."""
    outbound_calls_per_second: int = 1
    """Outbound calls the hotline places per second at most (the account's CPS)."""
    outbound_max_calls: int = 10
    """Outbound calls in progress at once at most."""
    outbound_tries: int = 3
    """Tries per precinct in a round (busy, no answer, failed, voicemail), first included."""
    outbound_retry_seconds: int = 600
    """Wait between two tries to one precinct."""
    caucus_closes_at: datetime | None = None
    """When the caucuses are scheduled to close (a site's own `closes_at` overrides it)."""
    outbound_auto_start_minutes: int | None = None
    """Minutes after a site's scheduled close at which the hotline calls its chair by itself
    if it has not reported; None: only staff start rounds."""
    rehearsal_phones: tuple[str, ...] = ()
    """The only numbers the outbound caller dials while the election is in rehearsal (staff
    phones, E.164): a rehearsal never calls a real chair."""
    go_live_drain_seconds: int = 120
    """How long the switch to live waits for calls in progress to end before it zeroes."""
    drill_number: str = ""
    """The drill line's own number (E.164), printed on the practice worksheet; its Voice URL
    is /voice/drill. "" when the hotline has no drill line."""
    drill_closes_at: datetime | None = None
    """When the drill line stops taking practice calls and sends callers on to the results
    line; None: `caucus_closes_at` less DRILL_CLOSES_BEFORE_CAUCUS (`drill_line_closes_at`)."""
    redis_sentinels: tuple[tuple[str, int], ...] = ()
    """Sentinels (host, port) to ask for the Redis primary; () connects to `redis_url`."""
    redis_sentinel_master: str = "hotline"
    """The name the Sentinels monitor the hotline's primary under."""
    redis_min_replicas_ack: int = 0
    """Replicas that must acknowledge a confirmed report before the chair hears its
    receipt (Redis WAIT); 0, the default, waits for none."""
    redis_wait_timeout_ms: int = 1500
    """How long a confirming request waits for those acknowledgements before the chair is
    asked to hold and the step is tried again."""
    public_fallback_base_url: str = ""
    """A second entry point to the same web nodes (a second load balancer), where Twilio's
    fallback URL points (`hotline twilio configure`); requests signed for it are accepted
    too. "" (the default): the fallback URL is on PUBLIC_BASE_URL."""
    haproxy_stats_urls: tuple[str, ...] = ()
    """The balancers' statistics pages (`hotline haproxy config`'s stats address and
    /stats), read for the overview's and /metrics' overload control; () when none."""

    @property
    def entry_points(self) -> tuple[str, ...]:
        """The base URLs Twilio reaches the hotline on: PUBLIC_BASE_URL, and the fallback
        URL's second entry point when there is one (signatures are for either)."""
        return tuple(url for url in (self.public_base_url, self.public_fallback_base_url) if url)

    @property
    def drill_line_closes_at(self) -> datetime | None:
        """When the drill line becomes a way into the results line: `drill_closes_at`, else
        DRILL_CLOSES_BEFORE_CAUCUS before the caucuses close, else never (None)."""
        if self.drill_closes_at is not None:
            return self.drill_closes_at
        if self.caucus_closes_at is not None:
            return self.caucus_closes_at - DRILL_CLOSES_BEFORE_CAUCUS
        return None

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
            twilio_account_sid=_account_sid(env, profile),
            twilio_api_base_url=_api_base_url(env, profile),
            hotline_number=_phone(env, "HOTLINE_PHONE_NUMBER", profile, DEV_HOTLINE_NUMBER),
            staff_number=_phone(env, "HOTLINE_STAFF_NUMBER", profile, ""),
            staff_hours=env.get("HOTLINE_STAFF_HOURS", "").strip()[:100],
            outbound_calls_per_second=_whole(env, "HOTLINE_OUTBOUND_CPS", 1, maximum=100),
            outbound_max_calls=_whole(env, "HOTLINE_OUTBOUND_MAX_CALLS", 10, maximum=1000),
            outbound_tries=_whole(env, "HOTLINE_OUTBOUND_TRIES", 3, maximum=10),
            outbound_retry_seconds=_whole(env, "HOTLINE_OUTBOUND_RETRY_SECONDS", 600),
            caucus_closes_at=_moment(env, "HOTLINE_CAUCUS_CLOSES_AT"),
            outbound_auto_start_minutes=_optional_whole(env, "HOTLINE_OUTBOUND_AUTO_START_MINUTES"),
            drill_number=_phone(
                env, "HOTLINE_DRILL_NUMBER", profile, DEV_DRILL_NUMBER if profile == "dev" else ""
            ),
            drill_closes_at=_moment(env, "HOTLINE_DRILL_CLOSES_AT"),
            rehearsal_phones=_phones(env, "HOTLINE_REHEARSAL_PHONES"),
            go_live_drain_seconds=_whole(env, "HOTLINE_GO_LIVE_DRAIN_SECONDS", 120, maximum=3600),
            redis_sentinels=_addresses(env, "REDIS_SENTINELS"),
            redis_sentinel_master=env.get("REDIS_SENTINEL_MASTER", "").strip() or "hotline",
            redis_min_replicas_ack=_replicas(env, "REDIS_MIN_REPLICAS_ACK"),
            redis_wait_timeout_ms=_whole(env, "REDIS_WAIT_TIMEOUT_MS", 1500, maximum=5000),
            public_fallback_base_url=env.get("PUBLIC_FALLBACK_BASE_URL", "").strip().rstrip("/"),
            haproxy_stats_urls=_stats_urls(env, "HAPROXY_STATS_URLS"),
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


def _optional_whole(env: Mapping[str, str], name: str) -> int | None:
    return _whole(env, name, 0) or None


def _moment(env: Mapping[str, str], name: str) -> datetime | None:
    text = env.get(name, "").strip()
    if not text:
        return None
    moment = aware_datetime(text)
    if moment is None:
        raise SettingsError(
            f"{name} must be a date and time with its UTC offset, e.g. "
            f"2020-02-03T19:00:00-06:00, not {text[:40]!r}"
        )
    return moment


def aware_datetime(text: str) -> datetime | None:
    """An ISO 8601 date and time with its UTC offset; None for anything else (a time with
    no offset would mean a different moment on every server)."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _account_sid(env: Mapping[str, str], profile: str) -> str:
    """TWILIO_ACCOUNT_SID: "AC" and 32 hex digits; the stand-in's in dev and test."""
    value = env.get("TWILIO_ACCOUNT_SID", "").strip()
    if not value:
        return "" if profile == "production" else DEV_ACCOUNT_SID
    if not re.fullmatch(r"AC[0-9a-f]{32}", value):
        raise SettingsError("TWILIO_ACCOUNT_SID must be AC followed by 32 hex digits")
    return value


def _api_base_url(env: Mapping[str, str], profile: str) -> str:
    """TWILIO_API_BASE_URL: the stand-in's address, refused in production so that the
    account's credentials can only ever be sent to Twilio there."""
    value = env.get("TWILIO_API_BASE_URL", "").strip().rstrip("/")
    if not value:
        return ""
    if profile == "production":
        raise SettingsError(
            "TWILIO_API_BASE_URL is for the Twilio stand-in (dev and test profiles); "
            "production always talks to Twilio"
        )
    if not re.fullmatch(r"https?://[^/?#\s]+", value):
        raise SettingsError(
            "TWILIO_API_BASE_URL must be a scheme and host, e.g. http://127.0.0.1:8081"
        )
    return value


def _phone(env: Mapping[str, str], name: str, profile: str, dev_default: str) -> str:
    """A phone number setting, stored in E.164; `dev_default` outside production."""
    value = env.get(name, "").strip()
    if not value:
        return "" if profile == "production" else dev_default
    number = e164(value)
    if not number:
        raise SettingsError(f"{name} must be a phone number, e.g. +15155550100, not {value[:20]!r}")
    return number


def _phones(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """Comma-separated phone numbers, each stored in E.164 (as `_phone` reads one)."""
    numbers = []
    for item in env.get(name, "").split(","):
        text = item.strip()
        if not text:
            continue
        number = e164(text)
        if not number:
            raise SettingsError(
                f"{name} must list phone numbers separated by commas, e.g. "
                f"+15155550100,+15155550101; {text[:20]!r} is not one"
            )
        numbers.append(number)
    return tuple(dict.fromkeys(numbers))


def _replicas(env: Mapping[str, str], name: str) -> int:
    """A count of replicas, 0 (the default: none waited for) to 10."""
    if env.get(name, "").strip() == "0":
        return 0
    return _whole(env, name, 0, maximum=10)


def _addresses(env: Mapping[str, str], name: str) -> tuple[tuple[str, int], ...]:
    """Comma-separated host:port pairs, e.g. 10.0.0.5:26379,10.0.0.6:26379."""
    addresses = []
    for item in env.get(name, "").split(","):
        text = item.strip()
        if not text:
            continue
        host, _, port = text.rpartition(":")
        if not host or not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
            raise SettingsError(
                f"{name} must list host:port pairs separated by commas, e.g. "
                f"10.0.0.5:26379,10.0.0.6:26379; {text[:50]!r} is not one"
            )
        addresses.append((host.strip("[]"), int(port)))
    return tuple(dict.fromkeys(addresses))


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


def _stats_urls(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """Comma-separated http(s) URLs without credentials: the page is kept on a private
    address instead, and a password in a URL would end up in logs."""
    urls: list[str] = []
    for item in env.get(name, "").split(","):
        text = item.strip().rstrip("/")
        if not text:
            continue
        if not re.fullmatch(r"https?://[^/?#@\s]+(/[^?#@\s]*)?", text):
            raise SettingsError(
                f"{name} must list http(s) URLs without credentials separated by commas, "
                f"e.g. http://10.0.0.2:8404/stats; item {len(urls) + 1} is not one"
            )  # not the item itself: it may hold a password
        urls.append(text)
    return tuple(dict.fromkeys(urls))
