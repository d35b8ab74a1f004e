"""Queue names and retry policy, in one place."""

REPORTS_QUEUE = "reports"
"""Submitted reports: the worker drains this before anything else."""

OUTBOUND_QUEUE = "outbound"
"""What calls the hotline placed report back (status, answering machine, a chair's answer
on a verification call): after reports, before nothing else."""

DRILLS_QUEUE = "drills"
"""Practice reports from the drill line (queues.drill): last, so a drill never delays a
report or a call the hotline placed."""

WORKSHEETS_QUEUE = "worksheets"
"""Text and picture messages to the hotline's number (queues.worksheet_intake): photos are
fetched from Twilio after every report and call, since a chair who texted a photo has
already been answered."""

WORKER_QUEUES = (REPORTS_QUEUE, OUTBOUND_QUEUE, DRILLS_QUEUE, WORKSHEETS_QUEUE)
"""rq queues a worker listens to, in priority order. (Call bookkeeping is not an rq queue
but a stream that each worker also writes: queues.call_log.)"""

RETRY_INTERVALS = (1, 2, 5, 10, 30, 60, 120, 300)
"""Seconds between retries of a job that failed (e.g. the database was unavailable)."""

RESULT_TTL_SECONDS = 7 * 24 * 3600
"""How long a finished job's record stays in Redis."""

FAILURE_TTL_SECONDS = 30 * 24 * 3600
"""How long a failed job stays in the failed registry for staff to see and requeue."""

JOB_TIMEOUT_SECONDS = 60
"""A commit that takes longer than this is killed and retried."""

MAINTENANCE_SECONDS = 15
"""How often a worker looks for jobs abandoned by a dead worker (rq's default is 10
minutes): a report whose chair heard "received" is committed a minute or so after its
worker died, not ten."""

JOB_HEARTBEAT_SECONDS = 5
"""rq's job monitoring interval: a job's heartbeat lapses this long plus rq's fixed 60 s
after its worker dies, and the job counts as abandoned from then on."""

CALL_RATE_LIMIT = 6
"""Calls one number may place within CALL_RATE_WINDOW_SECONDS before it hears busy."""

CALL_RATE_WINDOW_SECONDS = 600
"""The window of the call-rate limit."""

NUMBER_PIN_FAILURE_LIMIT = 5
"""Wrong PINs from one number (over all its calls and precincts) before it is blocked."""

CHAIR_PHONE_PIN_FAILURE_LIMIT = 9
"""Wrong PINs for a precinct from its chair's own registered phone before that phone is
blocked from it: a spoofer of the chair's number gets no more tries than this, and a chair
who mistypes a few times is never locked out."""

CALLBACKS_PER_PRECINCT = 3
"""Callbacks a chair's blocked phone may be given in a night (queues.outbound): spoofers who
block the number again and again cannot have the hotline ring the chair all night."""

PRECINCT_PIN_FAILURE_LIMIT = 10
"""Wrong PINs for one precinct from numbers other than its chair's before it is locked."""

PIN_FAILURE_WINDOW_SECONDS = 12 * 3600
"""How long PIN failures count, and how long the resulting block or lock lasts: a night."""
DRILL_PIN_FAILURE_WINDOW_SECONDS = 30 * 24 * 3600
"""The same on the drill line, which is open for weeks: a whole drill season (staff lift a
lock that stops a real chair practising, as on the night)."""

IVR_STALE_SECONDS = 300
"""A call in the IVR that made no request for this long has gone: its slot is reclaimed."""

HOLD_STALE_SECONDS = 90
"""A held caller whose wait music has not polled for this long has hung up."""

HOLD_POLL_PAUSE_SECONDS = 8
"""Pause between hold announcements (each announcement is a poll of the wait URL)."""

STAFF_SIGN_IN_ACCOUNT_LIMIT = 5
"""Failed sign-ins to one staff account from one client address before further tries from
that address are refused (without checking the password) for the rest of the window."""

STAFF_SIGN_IN_ADDRESS_LIMIT = 30
"""Failed sign-ins from one client address over all accounts before it is refused: looser,
since several staff may share an office's address, but it stops a sweep of names."""

STAFF_SIGN_IN_WINDOW_SECONDS = 15 * 60
"""How long failed sign-ins count, from the first one; the refusal ends with the window."""

PUBSUB_POLL_SECONDS = 1.0
"""How long a worker's listener for rq's commands (stop a job, shut down) waits for one."""
