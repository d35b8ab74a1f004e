"""Queue names and retry policy, in one place."""

REPORTS_QUEUE = "reports"
"""Submitted reports: the worker drains this before anything else."""

EVENTS_QUEUE = "events"
"""Call bookkeeping (started, ended): useful to staff, never urgent."""

WORKER_QUEUES = (REPORTS_QUEUE, EVENTS_QUEUE)
"""Queues a worker listens to, in priority order."""

RETRY_INTERVALS = (1, 2, 5, 10, 30, 60, 120, 300)
"""Seconds between retries of a job that failed (e.g. the database was unavailable)."""

RESULT_TTL_SECONDS = 7 * 24 * 3600
"""How long a finished job's record stays in Redis."""

FAILURE_TTL_SECONDS = 30 * 24 * 3600
"""How long a failed job stays in the failed registry for staff to see and requeue."""

JOB_TIMEOUT_SECONDS = 60
"""A commit that takes longer than this is killed and retried."""
