"""Twilio's connection overrides: per-URL timeouts and retries, read from the URL's fragment.

Twilio's "Webhooks (HTTP callbacks): Connection Overrides",
https://www.twilio.com/docs/usage/webhooks/webhooks-connection-overrides : key=value pairs
joined by `&` after the URL's `#`, each overriding one of Twilio's connection settings for
requests to that URL:

- `ct` connect timeout, ms to establish the TCP connection (100 to 10000, default 5000);
- `rt` read timeout, ms to wait for the answer's first packet and between packets
  (100 to 15000, default 15000);
- `tt` total time for all attempts, retries included (100 to 15000, default 15000: "if not
  set, the maximum limit is enforced");
- `rc` retry count, retries after a failed attempt (0 to 5, default 1);
- `rp` retry policy, the failures retried: `ct`, `rt`, `4xx`, `5xx`, or `all`, comma-separated
  (default `ct`: only a connection failure is retried unless `rp` says otherwise).

Where the page is silent, the stand-in chooses (and `Softphone` relies on it):

- a value out of range is clamped into it and an unparsable one keeps the default (Twilio
  logs a warning or error for those; the call goes on either way);
- an unknown `rp` entry is ignored (Twilio's error 11243, "HTTP retry policy is invalid");
- the overrides belong to the URL that carries them: a relative action URL resolved against
  it does not inherit the fragment (RFC 3986 section 5.2.2: the fragment is the reference's);
- a retry is made at once, with no back-off (the page documents none);
- "ct" covers every failure before the request was sent (refused, unreachable, connect
  timeout), "rt" every request sent and not answered (read timeout, reset, closed).

The fragment is never sent over HTTP (RFC 3986 section 3.5) nor signed, so `strip_fragment`
gives the URL that is requested and signed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final
from urllib.parse import parse_qsl, urlsplit, urlunsplit

CONNECT: Final = "ct"
"""A failure class: no connection (refused, unreachable, connect timeout)."""
READ: Final = "rt"
"""A failure class: the request was sent but no (whole) answer came in time."""
CLIENT_ERROR: Final = "4xx"
SERVER_ERROR: Final = "5xx"
ALL: Final = "all"
POLICIES: Final = frozenset({CONNECT, READ, CLIENT_ERROR, SERVER_ERROR, ALL})

# (minimum, maximum, default) by key, in ms or a count: Twilio's documented ranges.
_RANGES: Final = {
    "ct": (100, 10_000, 5_000),
    "rt": (100, 15_000, 15_000),
    "tt": (100, 15_000, 15_000),
    "rc": (0, 5, 1),
}


@dataclass(frozen=True)
class ConnectionOverrides:
    """The connection settings for requests to one URL (Twilio's defaults unless overridden)."""

    connect_timeout_ms: int = _RANGES["ct"][2]
    read_timeout_ms: int = _RANGES["rt"][2]
    total_timeout_ms: int = _RANGES["tt"][2]
    retry_count: int = _RANGES["rc"][2]
    retry_policy: frozenset[str] = frozenset({CONNECT})

    def retries(self, failure: str) -> bool:
        """Whether a failed attempt of this class (`failure_class`) is retried."""
        return ALL in self.retry_policy or failure in self.retry_policy


def parse_overrides(url: str) -> ConnectionOverrides:
    """The overrides in `url`'s fragment, clamped to Twilio's ranges; defaults where absent."""
    fragment = urlsplit(url).fragment
    pairs = dict(parse_qsl(fragment, keep_blank_values=True))
    numbers: dict[str, int] = {}
    for key, (low, high, default) in _RANGES.items():
        try:
            value = int(pairs[key]) if key in pairs else default
        except ValueError:
            value = default
        numbers[key] = min(max(value, low), high)
    policy = frozenset({CONNECT})
    if "rp" in pairs:
        policy = frozenset(p.strip() for p in pairs["rp"].split(",")) & POLICIES
    return ConnectionOverrides(
        connect_timeout_ms=numbers["ct"],
        read_timeout_ms=numbers["rt"],
        total_timeout_ms=numbers["tt"],
        retry_count=numbers["rc"],
        retry_policy=policy,
    )


def strip_fragment(url: str) -> str:
    """The URL as requested and signed: without its fragment (and its overrides)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, ""))


def failure_class(status: int, *, connect_failed: bool) -> str | None:
    """The retry policy's name for a failed attempt, or None for a 2xx (or a 3xx, which no
    policy names: not retried). `status` 0 is no answer at all; then `connect_failed` says
    whether it failed before the request was sent."""
    if status == 0:
        return CONNECT if connect_failed else READ
    if 400 <= status < 500:
        return CLIENT_ERROR
    if 500 <= status < 600:
        return SERVER_ERROR
    return None
