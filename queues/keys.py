"""Every Redis key the hotline uses, in one place (rq's own keys are rq's).

All live under `hotline:`, so one Redis can be shared with other applications and an
operator can see at a glance what is ours. Each function or constant names one key (or one
family of keys); the modules that read and write them import it from here, so two modules
can never spell the same key differently.
"""

from __future__ import annotations

PREFIX = "hotline"

# --- call state (ivr.callstore) ---------------------------------------------------------


def call(call_sid: str) -> str:
    """Hash: a call's flow state and the TwiML last sent to it."""
    return f"{PREFIX}:call:{call_sid}"


def call_lock(call_sid: str) -> str:
    """The lock a webhook holds while it answers a call's request."""
    return f"{call(call_sid)}:lock"


def progress(precinct_id: str, caller: str) -> str:
    """A report in progress, by precinct and by the phone that keyed it."""
    return f"{PREFIX}:progress:{precinct_id}:{caller}"


def phone_language(phone: str) -> str:
    """The language a phone chose with the language key (callflows.flow), for its next calls."""
    return f"{PREFIX}:language:{phone}"


def receipt(code: str) -> str:
    """A receipt number handed out (reserved so it is not handed out twice)."""
    return f"{PREFIX}:receipt:{code}"


# --- messages to the hotline's number (ivr.sms) -----------------------------------------

WORKSHEET_REFERENCE = f"{PREFIX}:worksheet:reference"
"""Counter: the last reference number given to a message's sender."""


def message_taken(message_sid: str) -> str:
    """A message already taken in, holding the reference its sender was given (a message
    Twilio delivers again gets the same one and is not queued twice)."""
    return f"{PREFIX}:message:{message_sid}"


# --- admission (queues.admission) -------------------------------------------------------

IVR = f"{PREFIX}:ivr"
"""Sorted set: calls inside the IVR, by when each last made a request."""
HOLD = f"{PREFIX}:hold"
"""Sorted set: the hold queue, by priority and time of joining."""
HOLD_SEEN = f"{PREFIX}:hold:seen"
"""Sorted set: each held caller's last poll of the wait URL."""

# --- screening (queues.screening, queues.blocklist) -------------------------------------

KNOWN_CALLERS = f"{PREFIX}:screening:known"
"""Set: numbers that have keyed a right PIN before."""
BLOCKLIST = f"{PREFIX}:blocklist"
"""Set: blocked numbers (mirrored from the database)."""


def call_rate(number: str, window: int) -> str:
    """Counter: calls from one number in one window of the call-rate limit."""
    return f"{PREFIX}:screening:rate:{number}:{window}"


# --- PIN limits (queues.pin_guard) ------------------------------------------------------

PIN = f"{PREFIX}:pin"
DRILL_PIN = f"{PREFIX}:drill-pin"
"""The drill line's PIN limits: the same families of keys as the night's (`PIN`), under
their own prefix, so a drill lockout never locks the night nor a night lockout the drill."""


def pin_failures(scope: str, who: str, line: str = PIN) -> str:
    """Counter: wrong PINs by scope ("number", "precinct", "chair-phone") and who, on the
    results line (`PIN`) or the drill line (`DRILL_PIN`)."""
    return f"{line}:failures:{scope}:{who}"


def number_blocked(who: str, line: str = PIN) -> str:
    return f"{line}:blocked:{who}"


def chair_phone_blocked(bucket: str, line: str = PIN) -> str:
    return f"{line}:blocked-chair-phone:{bucket}"


def precinct_locked(precinct_id: str, line: str = PIN) -> str:
    return f"{line}:locked:{precinct_id}"


PRECINCT_LOCKED_PATTERN = precinct_locked("*")
"""SCAN pattern of every locked precinct."""

# --- counters (queues.counters) ---------------------------------------------------------

COUNTERS = f"{PREFIX}:counters"
LATENCY = f"{COUNTERS}:latency"
"""List: the most recent webhook latencies."""
LATENCY_TOTALS = f"{COUNTERS}:latency-totals"
"""Hash: how many webhooks were timed since Redis started, and their seconds in all."""
IN_CALL_LATENCY = f"{COUNTERS}:in-call-latency"
"""List: the most recent latencies of in-call webhooks, from the balancer's arrival."""
TOTALS = f"{COUNTERS}:totals"
"""Hash: running totals (PIN failures, locks, abandoned jobs, ...)."""
HISTORY = f"{COUNTERS}:history"
"""Hash: one sample per minute for the overview chart."""


def screening_minute(minute: int) -> str:
    """Hash: screening decisions in one minute, by "outcome:reason"."""
    return f"{COUNTERS}:screening:{minute}"


# --- the call log (queues.call_log) -----------------------------------------------------

CALL_LOG = f"{PREFIX}:call-log"
"""Stream: call events on their way to the database."""
CALL_LOG_DEAD_LETTERS = f"{CALL_LOG}:dead-letters"
"""Stream: call-log entries the database refused (or that were no call event), each with
its error, kept for staff (the most recent queues.call_log.DEAD_LETTERS_KEPT)."""

# --- staff (ivr.staff.access) -----------------------------------------------------------


def staff_session(token: str) -> str:
    """A signed-in staff member's session, by its token."""
    return f"{PREFIX}:staff-session:{token}"


def sign_in_attempts(account: str, address: str) -> str:
    """Counter: sign-ins to one staff account from one client address that did not succeed
    (ivr.staff.sign_in_guard); `account` is the guard's digest of the name as typed."""
    return f"{PREFIX}:staff-sign-in:account:{account}:{address}"


def sign_in_address_attempts(address: str) -> str:
    """Counter: sign-ins from one client address, over all accounts, that did not succeed."""
    return f"{PREFIX}:staff-sign-in:address:{address}"


# --- Twilio set-up (ivr.twilio_setup) ---------------------------------------------------

TWILIO_SETUP_CHECK = f"{PREFIX}:twilio:setup-check"
"""String (JSON): the last `hotline twilio check`'s result (when, passed, the differences),
for the staff overview."""

# --- calls the hotline places (queues.dialer) --------------------------------------------


def outbound_attempt(attempt_id: int) -> str:
    """JSON: what the webhook of an outbound try's call needs (purpose, precinct, number,
    the report to verify), written by the dialer just before it dials."""
    return f"{PREFIX}:outbound:attempt:{attempt_id}"


OUTBOUND_DIALER = f"{PREFIX}:outbound:dialer"
"""String with a TTL: the token of the one worker whose dialer places calls."""

# --- the election's mode (queues.election_mode, queues.go_live) --------------------------

ELECTION_MODE = f"{PREFIX}:election-mode"
"""String: the election's mode (rehearsal, opening, live), mirrored from the database's
`election_mode` row; every web request and the dialer read it (reloaded when missing)."""
GO_LIVE = f"{ELECTION_MODE}:switching"
"""String (JSON) with a TTL: the switch to live under way (who, when its drain gives up),
renewed while it runs, for the dashboard."""
CALL_RATE_PATTERN = f"{PREFIX}:screening:rate:*"
"""SCAN pattern of every call-rate counter."""
