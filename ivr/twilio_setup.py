"""The hotline's Twilio set-up, read and changed through the REST API.

What the hotline's numbers (the results line's, and the drill line's when
HOTLINE_DRILL_NUMBER is set) and hold queue must be is pure data, computed from the settings
(`desired`); what they are is read with the `twilio` package's Client (`read_current`);
the difference is a list of one-line changes (`diff`), applied with one update per number
(`apply`). Each number is a (role, number, config) triple, so both lines go through the
same code.
`hotline twilio configure` and `hotline twilio check` (`ivr.twilio_setup_command`) are thin
over these, and the last check's result is kept in Redis for the staff overview
(`record_check`, `last_check`).

**Connection overrides.** Twilio reads "connection overrides" from the fragment of a
webhook URL (after `#`; key=value pairs joined by `&`): Twilio's "Webhooks (HTTP
callbacks): Connection Overrides",
https://www.twilio.com/docs/usage/webhooks/webhooks-connection-overrides :

- `ct` connect timeout, ms to establish the TCP connection (100 to 10000, default 5000);
- `rt` read timeout, ms to wait for the first byte of the answer, and between packets
  (100 to 15000, default 15000);
- `tt` total time for every attempt, retries included (100 to 15000, default 15000);
- `rc` retry count, retries after a failed attempt (0 to 5, default 1);
- `rp` retry policy, which failures are retried: `ct`, `rt`, `4xx`, `5xx` or `all`,
  comma-separated (an invalid one is Twilio's error 11243, "HTTP retry policy is invalid").

With the defaults a caller hears up to 15 s of silence before Twilio gives up and fetches
the fallback URL; the hotline answers in milliseconds, so ours give up after 6 s: one
second to connect, four for the answer, one retry of a connection or read timeout only
(never of an answer: the hotline never sends a 5xx), then the fallback, which asks the
caller to hold and retries the step. Only the Voice URL carries them: the fallback URL and
the status callback keep Twilio's defaults (the fallback is the last resort).

**The fragment is not signed.** A URL's fragment is never sent in an HTTP request (RFC 3986
section 3.5): Twilio requests, and signs, the URL without it ("fragments are not part of
signature validation", FastHook's Twilio guide, https://www.fasthook.io/twilio-webhooks;
Twilio's connection-overrides page itself does not say). The hotline's signature check
(`ivr.voice.routes._signed_by_twilio`) signs PUBLIC_BASE_URL + path + query, never a
fragment, and the softphone signs as Twilio does (`softphone.caller.signature_url` drops
the fragment), so the three agree.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, fields
from enum import Enum
from typing import TYPE_CHECKING, Any

from ivr.settings import Settings, SettingsError
from ivr.voice.calls import HOLD_QUEUE_NAME
from queues import keys

if TYPE_CHECKING:
    from redis import Redis
    from twilio.rest import Client

CONNECTION_OVERRIDES = (("ct", 1000), ("rt", 4000), ("tt", 6000), ("rc", 1), ("rp", "ct,rt"))
"""The Voice URL's connection overrides (see the module's docstring): connect within 1 s,
the answer's first byte within 4 s, one retry of a connect or read timeout, 6 s in all;
then Twilio fetches the fallback URL."""

VOICE_METHOD = "POST"
NOT_SET = "(not set)"
NO_QUEUE = "(no queue)"


class SetupError(Exception):
    """The set-up cannot be read or changed for a reason of ours (no such number); the
    message is one line for the operator."""


@dataclass(frozen=True)
class NumberConfig:
    """The fields of the hotline's IncomingPhoneNumber that the hotline depends on, by
    the REST API's attribute names (the parameters' are the same, CamelCased)."""

    voice_url: str
    voice_method: str
    voice_fallback_url: str
    status_callback: str
    sms_url: str


FIELD_NAMES = {
    "voice_url": "VoiceUrl",
    "voice_method": "VoiceMethod",
    "voice_fallback_url": "VoiceFallbackUrl",
    "status_callback": "StatusCallback",
    "sms_url": "SmsUrl",
}
"""Each field as Twilio's API and console name it (what an operator reads)."""


class Role(Enum):
    """Which of the hotline's numbers: the results line's or the drill line's."""

    RESULTS = "results"
    DRILL = "drill"

    @property
    def setting(self) -> str:
        """The setting that holds this line's number (named in errors)."""
        return "HOTLINE_PHONE_NUMBER" if self is Role.RESULTS else "HOTLINE_DRILL_NUMBER"

    @property
    def voice_path(self) -> str:
        return "/voice" if self is Role.RESULTS else "/voice/drill"

    @property
    def label(self) -> str:
        """What an operator's line starts with: nothing for the results line (its lines
        read as they did before there was a drill line), "Drill line " for the drill's."""
        return "" if self is Role.RESULTS else "Drill line "


@dataclass(frozen=True)
class WantedNumber:
    """One of the hotline's numbers and the fields it must have."""

    role: Role
    number: str
    config: NumberConfig


@dataclass(frozen=True)
class Desired:
    """What the set-up must be: the numbers (the results line's first) and the hold queue."""

    numbers: tuple[WantedNumber, ...]
    queue_name: str
    queue_max_size: int


@dataclass(frozen=True)
class CurrentNumber:
    """One of the hotline's numbers as the account has it."""

    role: Role
    sid: str
    config: NumberConfig


@dataclass(frozen=True)
class Current:
    """What the set-up is: each number's fields (in `Desired.numbers`'s order), and the
    hold queue if there is one."""

    numbers: tuple[CurrentNumber, ...]
    queue_sid: str | None
    queue_max_size: int | None


@dataclass(frozen=True)
class Change:
    """One field to change: `field` is set (a NumberConfig attribute) on the `role`'s
    number, or "queue_max_size" (whose role is always the results line's)."""

    field: str
    old: str | None
    new: str
    role: Role = Role.RESULTS

    def line(self) -> str:
        """One line for the operator: `VoiceUrl: old -> new`, `Drill line VoiceUrl: ...`."""
        if self.field == "queue_max_size":
            name = f"Queue {HOLD_QUEUE_NAME} MaxSize"
            old = NO_QUEUE if self.old is None else self.old
        else:
            name = self.role.label + FIELD_NAMES[self.field]
            old = self.old or NOT_SET
        return f"{name}: {old} -> {self.new}"


def voice_url(base_url: str, path: str = "/voice") -> str:
    """The Voice URL: `path` (/voice, or the drill line's /voice/drill) with the
    connection overrides in its fragment."""
    fragment = "&".join(f"{key}={value}" for key, value in CONNECTION_OVERRIDES)
    return f"{base_url}{path}#{fragment}"


def desired(settings: Settings) -> Desired:
    """The set-up the settings call for; SettingsError when they do not say enough."""
    if not settings.hotline_number:
        raise SettingsError("HOTLINE_PHONE_NUMBER is not set; the set-up needs the number")
    base = settings.public_base_url.rstrip("/")
    if not base:
        raise SettingsError("PUBLIC_BASE_URL is not set; the set-up needs the hotline's URL")
    if settings.drill_number == settings.hotline_number:
        # One number cannot have two Voice URLs: configure would flip it back and forth.
        raise SettingsError("HOTLINE_DRILL_NUMBER is HOTLINE_PHONE_NUMBER; it needs its own")
    roles = [(Role.RESULTS, settings.hotline_number)]
    if settings.drill_number:
        roles.append((Role.DRILL, settings.drill_number))
    # The fallback on a second entry point (PUBLIC_FALLBACK_BASE_URL) still answers when the
    # first load balancer is lost; without one it is on the same host as the Voice URL.
    fallback = settings.public_fallback_base_url.rstrip("/") or base
    numbers = tuple(
        WantedNumber(role, number, _config(base, role.voice_path, fallback))
        for role, number in roles
    )
    return Desired(numbers, HOLD_QUEUE_NAME, settings.hold_max)


def _config(base: str, voice_path: str, fallback_base: str) -> NumberConfig:
    # Both lines share the fallback (it replays the step in progress, drill or not), the
    # status callback and the messaging URL; only the Voice URL's path differs.
    return NumberConfig(
        voice_url=voice_url(base, voice_path),
        voice_method=VOICE_METHOD,
        voice_fallback_url=f"{fallback_base}/voice/fallback",
        status_callback=f"{base}/voice/status",
        sms_url=f"{base}/sms",
    )


def diff(current: Current, want: Desired) -> list[Change]:
    """Every field that differs, in a fixed order (each number's, the results line's
    first, then the queue's)."""
    changes = []
    for wanted, found in zip(want.numbers, current.numbers, strict=True):
        for item in fields(NumberConfig):
            old = getattr(found.config, item.name)
            new = getattr(wanted.config, item.name)
            if old != new:
                changes.append(Change(item.name, old, new, wanted.role))
    if current.queue_sid is None or current.queue_max_size != want.queue_max_size:
        old_size = None if current.queue_sid is None else _text(current.queue_max_size)
        changes.append(Change("queue_max_size", old_size, str(want.queue_max_size)))
    return changes


def read_current(client: Client, want: Desired) -> Current:
    """Each number's fields and the hold queue, read with `client`; SetupError when the
    account has no such number. Twilio's own failures propagate (TwilioRestException)."""
    numbers = tuple(_read_number(client, wanted) for wanted in want.numbers)
    queue = _queue_named(client, want.queue_name)
    return Current(
        numbers=numbers,
        queue_sid=None if queue is None else str(queue.sid),
        queue_max_size=None if queue is None else _size(queue.max_size),
    )


def _read_number(client: Client, wanted: WantedNumber) -> CurrentNumber:
    listed = client.incoming_phone_numbers.list(phone_number=wanted.number, limit=50)
    # Twilio's PhoneNumber filter matches a pattern within the number: keep the exact one.
    matching = [number for number in listed if number.phone_number == wanted.number]
    if not matching:
        raise SetupError(f"the account has no phone number {wanted.number} ({wanted.role.setting})")
    number = matching[0]
    config = NumberConfig(**{name: _text(getattr(number, name)) for name in FIELD_NAMES})
    return CurrentNumber(wanted.role, str(number.sid), config)


def apply(client: Client, current: Current, want: Desired, changes: Sequence[Change]) -> None:
    """Make `changes`: one update of each number with every field of it that differs, and
    one update (or creation) of the hold queue."""
    for wanted, found in zip(want.numbers, current.numbers, strict=True):
        number_fields = {
            change.field: getattr(wanted.config, change.field)
            for change in changes
            if change.field != "queue_max_size" and change.role is wanted.role
        }
        if number_fields:
            client.incoming_phone_numbers(found.sid).update(**number_fields)
    if any(change.field == "queue_max_size" for change in changes):
        if current.queue_sid is None:
            client.queues.create(friendly_name=want.queue_name, max_size=want.queue_max_size)
        else:
            client.queues(current.queue_sid).update(max_size=want.queue_max_size)


def _queue_named(client: Client, name: str) -> Any:
    for queue in client.queues.list(limit=1000):
        if queue.friendly_name == name:
            return queue
    return None


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _size(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


# --- the last check, for the staff overview ---------------------------------------------


@dataclass(frozen=True)
class CheckRecord:
    """The last `hotline twilio check`: when, whether it passed, and what differed (or the
    error that stopped it), each one line."""

    at: float
    passed: bool
    differences: tuple[str, ...] = ()

    def to_json(self) -> str:
        return json.dumps(
            {"at": self.at, "passed": self.passed, "differences": list(self.differences)}
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> CheckRecord | None:
        """The record, or None for anything that is not one (never an exception)."""
        try:
            data = json.loads(text)
            at = float(data["at"])
            passed = data["passed"]
            differences = tuple(str(line) for line in data.get("differences", []))
        except (ValueError, TypeError, KeyError, AttributeError):
            return None
        if not isinstance(passed, bool) or not math.isfinite(at):
            return None
        return cls(at=at, passed=passed, differences=differences)


def record_check(
    redis: Redis, passed: bool, differences: Sequence[str], now: float | None = None
) -> CheckRecord:
    """Keep this check's result (replacing the last one's)."""
    record = CheckRecord(
        at=time.time() if now is None else now,
        passed=passed,
        differences=tuple(" ".join(line.split()) for line in differences),
    )
    redis.set(keys.TWILIO_SETUP_CHECK, record.to_json())
    return record


def last_check(redis: Redis) -> CheckRecord | None:
    """The last check's result, or None when there has been none."""
    raw = redis.get(keys.TWILIO_SETUP_CHECK)
    if raw is None:
        return None
    return CheckRecord.from_json(raw)
