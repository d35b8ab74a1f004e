"""The dialer: places the calls `queues.outbound` has made due, through Twilio's REST API,
never faster than the account's calls per second nor more at once than configured, and
never twice for one try.

One dialer runs at a time over all workers (a lock in Redis); each worker runs the loop
in a thread (`queues.worker`), so when the one holding the lock dies another takes over.

Twilio has no idempotency key, so "at most once" rests on the order of writes: a try is
marked `dialing` (committed) before the create request goes out, and only a definite
refusal (an HTTP 4xx: nothing was created) puts it back. After anything else (a timeout,
a 5xx, a worker killed mid-request) the try stays `dialing`, and once the request can no
longer be in flight the dialer lists Twilio's calls to that number since the try began:
a call found is adopted; only when none exists is the try dialled again.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from models import AttemptState, OutboundAttempt, Outcome, Purpose, Report
from models.outbound import IN_FLIGHT_STATES
from queues import election_mode, keys
from queues.call_context import CallContext
from queues.outbound import (
    RetryPolicy,
    aware,
    record_call_status,
    schedule_retry,
    skip_reason,
    start_scheduled,
    utcnow,
)

log = logging.getLogger(__name__)

FIRST_PURPOSES = (Purpose.VERIFY.value, Purpose.CALLBACK.value)
"""Tries dialled before any other due one: a chair is waiting on each."""

LOCK_SECONDS = 15
"""The dialer's lock lapses this long after its holder stops renewing it."""
TICK_SECONDS = 0.2
"""Pause between two looks for due tries."""
MAX_BACKOFF_SECONDS = 300
"""The longest pause before a try Twilio refused for a passing reason is tried again."""
CLOCK_SKEW_SECONDS = 5
"""How far Twilio's clock may be behind ours when a lost call is looked up."""
STATUS_CHECK_SECONDS = 120
"""A placed call with no final status this long after it was dialled is asked about, and
again as often until it ends: its status callbacks go to the first entry point, and while
that is down they are lost (Twilio gives a status callback no fallback URL), which would
leave the try holding one of the dialer's lines for good."""
"""A placed call with no final status after this long is asked about (a lost callback)."""


class RefusedByTwilio(Exception):
    """Twilio answered the create request with an error: no call was created."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class TelephonyError(Exception):
    """A REST request failed; the message is one line for staff (Twilio's error code)."""


class CallInDoubt(TelephonyError):
    """The create request failed in a way that leaves open whether the call exists (a
    timeout, a lost connection, a 5xx from Twilio)."""


class Telephony(Protocol):
    """The REST calls the dialer and the outbound jobs make (`ivr.twilio_api.TwilioCalls`).

    `create_call` raises RefusedByTwilio when Twilio definitely created nothing, and
    CallInDoubt (or anything else) when it may have; every method raises TelephonyError
    with a one-line message for what it can describe."""

    request_timeout: float

    def create_call(
        self,
        *,
        to: str,
        from_: str,
        url: str,
        fallback_url: str,
        status_callback: str,
        amd_callback: str,
    ) -> str: ...

    def calls_to(self, to: str, since: datetime) -> list[str]:
        """SIDs of the calls to `to` created at or after `since`, oldest first."""
        ...

    def call_status(self, call_sid: str) -> str: ...

    def redirect(self, call_sid: str, url: str) -> None: ...


@dataclass(frozen=True)
class OutboundConfig:
    """What placing a call needs from the settings."""

    base_url: str
    from_number: str
    calls_per_second: int
    max_calls: int
    policy: RetryPolicy
    closes_at: datetime | None = None
    """When the caucuses are scheduled to close (a site's own close overrides it)."""
    auto_start_minutes: int | None = None
    """Call outstanding precincts by themselves this long after their close; None: never."""
    rehearsal_phones: frozenset[str] = frozenset()
    """The only numbers dialled while the election is in rehearsal (staff phones)."""

    fallback_base_url: str = ""
    """The second entry point (PUBLIC_FALLBACK_BASE_URL); the first when there is none."""

    def call_url(self, attempt_id: int) -> str:
        return f"{self.base_url}/voice/outbound/call?a={attempt_id}"

    @property
    def fallback_url(self) -> str:
        # Twilio asks it when the call's URL fails, as it does the number's Voice Fallback
        # URL on a call in: a placed call survives the loss of the first entry point too.
        return f"{self.fallback_base_url or self.base_url}/voice/fallback"

    def status_url(self, attempt_id: int) -> str:
        return f"{self.base_url}/voice/outbound/status?a={attempt_id}"

    def amd_url(self, attempt_id: int) -> str:
        return f"{self.base_url}/voice/outbound/amd?a={attempt_id}"

    def voicemail_url(self, attempt_id: int) -> str:
        return f"{self.base_url}/voice/outbound/voicemail?a={attempt_id}"


class Dialer:
    """Places due tries; `run` loops until stopped, `tick` is one pass (for tests)."""

    def __init__(
        self,
        redis: Redis,
        sessions: sessionmaker[Session],
        telephony: Telephony,
        config: OutboundConfig,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.redis = redis
        self.sessions = sessions
        self.telephony = telephony
        self.config = config
        self.monotonic = monotonic
        self.token = secrets.token_hex(8)
        self._next_create_at = 0.0
        self._status_asked: dict[int, datetime] = {}
        """When this dialer last asked Twilio about each placed try's call."""
        # A try left `dialing` is looked up only once no create request for it can still
        # be on its way to Twilio: ours time out after `request_timeout`.
        self.lookup_after = timedelta(seconds=telephony.request_timeout + CLOCK_SKEW_SECONDS)

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.tick()
            except (RedisError, SQLAlchemyError):
                log.exception("dialer: Redis or the database failed; trying again")
            except Exception:
                log.exception("dialer: unexpected failure; trying again")
            stop.wait(TICK_SECONDS)
        self._release_lock()

    def tick(self, now: datetime | None = None) -> int:
        """Recover tries left in doubt, then dial what is due; returns calls created. Only
        the holder of the dialer's lock dials, and it renews the lock before every call."""
        if not self._hold_lock():
            return 0
        self._start_scheduled(now or utcnow())
        self._recover(now or utcnow())
        created = 0
        while self._hold_lock() and (due := self._next_due(now or utcnow())) is not None:
            if not self._dial(*due):
                # Twilio refused or failed: the rest wait for the next pass rather than
                # meeting the same limit or fault straight away.
                break
            created += 1
        return created

    # -- choosing -------------------------------------------------------------------------

    def _start_scheduled(self, now: datetime) -> None:
        minutes = self.config.auto_start_minutes
        if minutes is None:
            return
        with self.sessions.begin() as session:
            joined = start_scheduled(session, now, self.config.closes_at, minutes)
        if joined:
            log.info("dialer: %d precinct(s) past their close joined the scheduled round", joined)

    def _next_due(self, now: datetime) -> tuple[int, str] | None:
        """The next try to dial (its id and number), marked `dialing`; None when nothing may
        be dialled now."""
        with self.sessions.begin() as session:
            ringing = list(
                session.scalars(
                    select(OutboundAttempt.to_number).where(
                        OutboundAttempt.state.in_(IN_FLIGHT_STATES)
                    )
                )
            )
            if len(ringing) >= self.config.max_calls:
                return None
            # In rehearsal only staff phones are dialled, whatever path made the try due.
            mode = election_mode.stored(session, share_lock=True)
            allowed = self.config.rehearsal_phones if election_mode.is_rehearsal(mode) else None
            # Verifications and callbacks first: a chair's held report, or a chair whose
            # own phone is blocked, waits on them.
            candidates = session.scalars(
                select(OutboundAttempt)
                .where(
                    OutboundAttempt.state == AttemptState.DUE.value,
                    OutboundAttempt.due_at <= now,
                )
                .order_by(
                    OutboundAttempt.purpose.not_in(FIRST_PURPOSES),
                    OutboundAttempt.due_at,
                    OutboundAttempt.id,
                )
                .limit(20)
                .with_for_update(skip_locked=True)
            )
            for attempt in candidates:
                reason = skip_reason(session, attempt, allowed=allowed)
                if reason is not None:
                    attempt.state = AttemptState.SKIPPED.value
                    attempt.outcome = reason.value
                    attempt.ended_at = now
                    continue
                if attempt.to_number in ringing:
                    # One call at a time to a phone (a callback and a round's try for the
                    # same chair wait their turn), so a lookup of a try in doubt can only
                    # ever find that try's own call to the number.
                    continue
                # Committed before the request goes out: see the module's docstring.
                attempt.state = AttemptState.DIALING.value
                attempt.dialing_since = now
                self._context(session, attempt).save(self.redis)
                return attempt.id, attempt.to_number
        return None

    def _context(self, session: Session, attempt: OutboundAttempt) -> CallContext:
        receipt, worksheet = "", False
        if attempt.report_id:
            report = session.get(Report, attempt.report_id)
            receipt = report.receipt if report is not None else ""
            worksheet = report is not None and report.source == "operator"
        return CallContext(
            attempt_id=attempt.id,
            purpose=attempt.purpose,
            precinct_id=attempt.precinct_id,
            to_number=attempt.to_number,
            report_id=attempt.report_id or "",
            receipt=receipt,
            worksheet=worksheet,
        )

    # -- dialling -------------------------------------------------------------------------

    def _dial(self, attempt_id: int, to_number: str) -> bool:
        self._pace()
        config = self.config
        try:
            call_sid = self.telephony.create_call(
                to=to_number,
                from_=config.from_number,
                url=config.call_url(attempt_id),
                fallback_url=config.fallback_url,
                status_callback=config.status_url(attempt_id),
                amd_callback=config.amd_url(attempt_id),
            )
        except RefusedByTwilio as refusal:
            self._refused(attempt_id, refusal)
            return False
        except Exception as exc:
            # Perhaps created, perhaps not: the try stays `dialing` until it is looked up.
            log.warning("dialer: try %d in doubt after %s", attempt_id, type(exc).__name__)
            self._note_error(attempt_id, _message(exc))
            return False
        finally:
            # Twilio counts a request when it arrives, which is before our answer: the next
            # one leaves a full interval after this one came back, so no two arrive closer.
            self._next_create_at = self.monotonic() + 1 / config.calls_per_second
        self._placed(attempt_id, call_sid)
        return True

    def _pace(self) -> None:
        wait = self._next_create_at - self.monotonic()
        if wait > 0:
            time.sleep(wait)

    def _placed(self, attempt_id: int, call_sid: str) -> None:
        with self.sessions.begin() as session:
            attempt = session.get(OutboundAttempt, attempt_id, with_for_update=True)
            assert attempt is not None
            if attempt.call_sid and attempt.call_sid != call_sid:
                # Another call was adopted for this try meanwhile (a lookup while this create
                # hung): the try keeps that one, and staff see this call in the log.
                log.warning("dialer: try %d has a call; %s is not it", attempt_id, call_sid)
                return
            attempt.call_sid = call_sid
            # The status callback may have come first and moved the try on already.
            if attempt.state == AttemptState.DIALING.value:
                attempt.state = AttemptState.PLACED.value
                attempt.call_status = attempt.call_status or "queued"

    def _refused(self, attempt_id: int, refusal: RefusedByTwilio) -> None:
        now = utcnow()
        with self.sessions.begin() as session:
            attempt = session.get(OutboundAttempt, attempt_id, with_for_update=True)
            assert attempt is not None
            attempt.api_errors += 1
            attempt.last_error = str(refusal)
            if refusal.retryable:
                # Rate limited, or Twilio itself unwell: the same try, after a pause.
                attempt.state = AttemptState.DUE.value
                attempt.dialing_since = None
                attempt.due_at = now + timedelta(seconds=_backoff(attempt.api_errors))
                return
            # Refused for good (a bad number, bad credentials): this try is over.
            attempt.state = AttemptState.ENDED.value
            attempt.outcome = Outcome.ERROR.value
            attempt.ended_at = now
            schedule_retry(session, attempt, self.config.policy, now)

    def _note_error(self, attempt_id: int, message: str) -> None:
        with self.sessions.begin() as session:
            attempt = session.get(OutboundAttempt, attempt_id, with_for_update=True)
            if attempt is not None:
                attempt.api_errors += 1
                attempt.last_error = message[:500]

    # -- recovery -------------------------------------------------------------------------

    def _recover(self, now: datetime) -> None:
        """Settle tries left `dialing` (a crash, a timeout) and placed calls whose final
        status never came."""
        with self.sessions() as session:
            doubtful = list(
                session.scalars(
                    select(OutboundAttempt).where(
                        OutboundAttempt.state == AttemptState.DIALING.value,
                        OutboundAttempt.dialing_since <= now - self.lookup_after,
                    )
                )
            )
            check_every = timedelta(seconds=STATUS_CHECK_SECONDS)
            unsettled = list(
                session.scalars(
                    select(OutboundAttempt).where(
                        OutboundAttempt.state == AttemptState.PLACED.value,
                        OutboundAttempt.dialing_since <= now - check_every,
                    )
                )
            )
            known = set(
                session.scalars(
                    select(OutboundAttempt.call_sid).where(OutboundAttempt.call_sid.is_not(None))
                )
            )
        for attempt in doubtful:
            self._look_up(attempt, known, now)
        placed = {attempt.id for attempt in unsettled}
        self._status_asked = {id_: at for id_, at in self._status_asked.items() if id_ in placed}
        for attempt in unsettled:
            asked = self._status_asked.get(attempt.id)
            if asked is None or now - asked >= check_every:
                self._status_asked[attempt.id] = now
                self._ask_status(attempt)

    def _look_up(self, attempt: OutboundAttempt, known: set[str | None], now: datetime) -> None:
        assert attempt.dialing_since is not None
        since = aware(attempt.dialing_since) - timedelta(seconds=CLOCK_SKEW_SECONDS)
        try:
            found = [
                sid for sid in self.telephony.calls_to(attempt.to_number, since) if sid not in known
            ]
        except Exception as exc:
            # Not knowing is no reason to dial: the try stays in doubt until Twilio answers.
            self._note_error(attempt.id, f"looking up the call: {_message(exc)}")
            return
        with self.sessions.begin() as session:
            current = session.get(OutboundAttempt, attempt.id, with_for_update=True)
            if current is None or current.state != AttemptState.DIALING.value:
                return
            if current.dialing_since != attempt.dialing_since:
                # Dialled again since we looked (another dialer took the lock while this
                # lookup ran): what we listed says nothing about that newer request.
                return
            if found:
                log.info(
                    "dialer: try %d was placed before a failure; adopting its call", attempt.id
                )
                current.call_sid = found[0]
                current.state = AttemptState.PLACED.value
                current.call_status = current.call_status or "queued"
                return
            # Twilio never created it: the same try is dialled again, in its old place.
            current.state = AttemptState.DUE.value
            current.dialing_since = None

    def _ask_status(self, attempt: OutboundAttempt) -> None:
        if not attempt.call_sid:
            return
        try:
            status = self.telephony.call_status(attempt.call_sid)
        except Exception as exc:
            self._note_error(attempt.id, f"asking for the call's status: {_message(exc)}")
            return
        with self.sessions.begin() as session:
            record_call_status(session, attempt.id, attempt.call_sid, status, self.config.policy)

    # -- the lock -------------------------------------------------------------------------

    def _hold_lock(self) -> bool:
        """Take the dialer's lock, or renew it if it is still ours (one atomic step: a
        renewal can never extend a lock another dialer took after ours lapsed)."""
        held: Any = self.redis.eval(_HOLD_LOCK, 1, keys.OUTBOUND_DIALER, self.token, LOCK_SECONDS)
        return bool(held)

    def _release_lock(self) -> None:
        # Best effort: a lock not released lapses by itself within LOCK_SECONDS.
        with contextlib.suppress(RedisError):
            self.redis.eval(_RELEASE_LOCK, 1, keys.OUTBOUND_DIALER, self.token)


_HOLD_LOCK = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""
_RELEASE_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def _message(exc: Exception) -> str:
    if isinstance(exc, TelephonyError):
        return str(exc)
    return type(exc).__name__  # something unforeseen: its name, never its arguments


def _backoff(errors: int) -> float:
    return float(min(MAX_BACKOFF_SECONDS, 2 ** min(errors, 10)))
