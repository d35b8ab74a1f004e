"""The hotline's client for Twilio's REST API: the `twilio` package's own `Client`, pointed
at Twilio, or at the Twilio stand-in only when the settings say so (dev and test).

Every use of the REST API (`hotline twilio configure`, outbound calls, verification
callbacks) gets its client here, and shows a failure with `describe_error`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from ivr.settings import DEV_ACCOUNT_SID, Settings, SettingsError
from queues.dialer import (
    CallInDoubt,
    OutboundConfig,
    RefusedByTwilio,
    Telephony,
    TelephonyError,
)
from queues.outbound import RetryPolicy

REQUEST_TIMEOUT_SECONDS = 10.0
"""How long one REST request may take before it counts as failed (Twilio answers in well
under a second; a hung connection must not hold a worker)."""

CALL_RING_SECONDS = 25
"""How long an outbound call rings before Twilio gives up (no-answer): about five rings,
short of most voicemail's pick-up, so a chair has time to reach the phone."""
LOOKUP_LIMIT = 50
"""Calls to one number read when a try in doubt is looked up (a handful a night)."""

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
"""Twilio's answers worth trying again after a pause: too many requests, and its own faults."""


class BaseUrlHttpClient(TwilioHttpClient):  # type: ignore[misc]
    """Twilio's HTTP client, sending every request to `base_url` instead of Twilio's host.

    The `twilio` package builds absolute URLs on api.twilio.com; only the scheme and host
    are replaced, so the stand-in sees Twilio's own paths, query strings and basic auth."""

    def __init__(self, base_url: str, *, timeout: float = REQUEST_TIMEOUT_SECONDS) -> None:
        super().__init__(timeout=timeout, logger=_quiet_logger())
        parts = urlsplit(base_url)
        self.scheme, self.netloc = parts.scheme, parts.netloc

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        parts = urlsplit(url)
        moved = urlunsplit((self.scheme, self.netloc, parts.path, parts.query, ""))
        return super().request(method, moved, *args, **kwargs)


def rest_client(settings: Settings, timeout: float = REQUEST_TIMEOUT_SECONDS) -> Client:
    """The REST client for the configured account; SettingsError when there is none."""
    if not settings.twilio_account_sid:
        raise SettingsError("TWILIO_ACCOUNT_SID is not set; the REST API needs it")
    http_client: TwilioHttpClient
    if settings.twilio_api_base_url:
        http_client = BaseUrlHttpClient(settings.twilio_api_base_url, timeout=timeout)
    else:
        http_client = TwilioHttpClient(timeout=timeout, logger=_quiet_logger())
    return Client(settings.twilio_account_sid, settings.twilio_auth_token, http_client=http_client)


def outbound_config(settings: Settings) -> OutboundConfig:
    """What the dialer and the outbound jobs need from the settings."""
    return OutboundConfig(
        base_url=settings.public_base_url,
        fallback_base_url=settings.public_fallback_base_url,
        from_number=settings.hotline_number,
        calls_per_second=settings.outbound_calls_per_second,
        max_calls=settings.outbound_max_calls,
        policy=RetryPolicy(settings.outbound_tries, settings.outbound_retry_seconds),
        closes_at=settings.caucus_closes_at,
        auto_start_minutes=settings.outbound_auto_start_minutes,
        rehearsal_phones=frozenset(settings.rehearsal_phones),
    )


def outbound_runtime(settings: Settings) -> tuple[Telephony, OutboundConfig] | None:
    """The worker's Twilio client and outbound settings; None when the account or the
    hotline's number is not configured (the worker then places no calls)."""
    if not settings.twilio_account_sid or not settings.hotline_number:
        return None
    if settings.twilio_account_sid == DEV_ACCOUNT_SID and not settings.twilio_api_base_url:
        return None  # the dev account exists only at the stand-in: never send it to Twilio
    return TwilioCalls(rest_client(settings)), outbound_config(settings)


def describe_error(exc: BaseException) -> str:
    """One line for staff and operators: Twilio's error code and message, or the network
    failure. Never the credentials (they travel in a header, which no message includes)."""
    if isinstance(exc, TwilioRestException):
        message = " ".join(str(exc.msg).split())[:200]
        return f"Twilio error {exc.code or 'unknown'} (HTTP {exc.status}): {message}"
    if isinstance(exc, requests.Timeout):
        return "Twilio did not answer in time"
    if isinstance(exc, requests.RequestException):
        return f"Twilio could not be reached ({type(exc).__name__})"
    if isinstance(exc, TwilioException):
        return f"Twilio client error: {' '.join(str(exc).split())[:200]}"
    return f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"


def is_retryable(exc: BaseException) -> bool:
    """Whether the same request may succeed later: rate limits, Twilio's 5xx, network
    failures. Bad credentials or a refused parameter will not mend by themselves."""
    if isinstance(exc, TwilioRestException):
        return exc.status in RETRYABLE_STATUSES
    return isinstance(exc, requests.RequestException)


def _quiet_logger() -> logging.Logger:
    # twilio-python logs every request at INFO, URLs and parameters included (a chair's
    # phone number among them); only its warnings reach the hotline's logs.
    logger = logging.getLogger("twilio.http_client")
    logger.setLevel(logging.WARNING)
    return logger


class TwilioCalls:
    """The dialer's telephony (`queues.dialer.Telephony`) over the REST client."""

    def __init__(self, client: Client, request_timeout: float = REQUEST_TIMEOUT_SECONDS) -> None:
        self.client = client
        # The client's own HTTP timeout: after it, no request of ours is on its way.
        self.request_timeout = request_timeout

    def create_call(
        self,
        *,
        to: str,
        from_: str,
        url: str,
        fallback_url: str,
        status_callback: str,
        amd_callback: str,
    ) -> str:
        try:
            call = self.client.calls.create(
                to=to,
                from_=from_,
                url=url,
                method="POST",
                fallback_url=fallback_url,
                fallback_method="POST",
                status_callback=status_callback,
                status_callback_method="POST",
                status_callback_event=["initiated", "ringing", "answered", "completed"],
                # Asynchronous detection: the chair hears the hotline at once, and a
                # voicemail gets its message once the greeting has ended (DetectMessageEnd).
                machine_detection="DetectMessageEnd",
                async_amd="true",
                async_amd_status_callback=amd_callback,
                async_amd_status_callback_method="POST",
                timeout=CALL_RING_SECONDS,
            )
        except TwilioRestException as exc:
            if 400 <= exc.status < 500:
                # A 4xx means Twilio created nothing: safe to try again (429) or give up.
                raise RefusedByTwilio(describe_error(exc), retryable=exc.status == 429) from exc
            raise CallInDoubt(describe_error(exc)) from exc
        except (TwilioException, requests.RequestException) as exc:
            raise CallInDoubt(describe_error(exc)) from exc
        return str(call.sid)

    def calls_to(self, to: str, since: datetime) -> list[str]:
        # Twilio filters StartTime by date and a queued call has none yet, so the list is by
        # number alone, newest first, and the creation time is checked here.
        found = []
        with _as_telephony_error():
            listed = self.client.calls.list(to=to, limit=LOOKUP_LIMIT)
        for call in listed:
            created = call.date_created
            if created is not None and created >= since:
                found.append((created, str(call.sid)))
        return [sid for _, sid in sorted(found)]

    def call_status(self, call_sid: str) -> str:
        with _as_telephony_error():
            return str(self.client.calls(call_sid).fetch().status)

    def redirect(self, call_sid: str, url: str) -> None:
        with _as_telephony_error():
            self.client.calls(call_sid).update(url=url, method="POST")


@contextlib.contextmanager
def _as_telephony_error() -> Iterator[None]:
    """Twilio's and the network's failures as the dialer's TelephonyError, in one line."""
    try:
        yield
    except (TwilioException, requests.RequestException) as exc:
        raise TelephonyError(describe_error(exc)) from exc
