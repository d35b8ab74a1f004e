"""Running an rq worker over the hotline's queues."""

from __future__ import annotations

import threading
from typing import Any

from redis import Redis
from rq import SimpleWorker
from rq.exceptions import AbandonedJobError
from rq.job import Job
from rq.serializers import JSONSerializer
from sqlalchemy.orm import Session, sessionmaker

from queues import call_log, counters, runtime
from queues.defaults import (
    JOB_HEARTBEAT_SECONDS,
    MAINTENANCE_SECONDS,
    PUBSUB_POLL_SECONDS,
    WORKER_QUEUES,
)
from queues.dialer import Dialer, OutboundConfig, Telephony
from queues.messaging import MessagingApi
from queues.publish import queue


class HotlineWorker(SimpleWorker):
    """rq's SimpleWorker, with a command listener that stops within a second.

    rq polls its command channel every 60 s, and redis-py's thread (since 8.x) makes
    `stop()` wait for the poll to end: when the unsubscribe reply is read just before the
    stop, each worker shutdown (a deploy, a burst run) sat a full minute in teardown."""

    def subscribe(self) -> None:
        self.log.info("Worker %s: subscribing to channel %s", self.name, self.pubsub_channel_name)
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        # rq declares the attribute as None only.
        self.pubsub_thread = self.pubsub.run_in_thread(  # type: ignore[assignment]
            sleep_time=PUBSUB_POLL_SECONDS,
            daemon=True,
            exception_handler=self._pubsub_exception_handler,
        )


def make_worker(connection: Redis) -> HotlineWorker:
    """A worker on the hotline's queues.

    It runs jobs in its own process instead of forking one per job: a forked job would open
    a new database connection every time (the pool dies with the fork), which made commits
    several times slower under load. rq still enforces job timeouts (with an alarm signal),
    and a worker that dies mid-job still leaves the job to rq's abandoned-job handling.
    """
    queues = [queue(name, connection) for name in WORKER_QUEUES]
    return HotlineWorker(
        queues,
        connection=connection,
        serializer=JSONSerializer,
        exception_handlers=[_count_abandoned],
        maintenance_interval=MAINTENANCE_SECONDS,
        job_monitoring_interval=JOB_HEARTBEAT_SECONDS,
    )


def _count_abandoned(job: Job, exc_type: type[BaseException], *_: Any) -> bool:
    """Staff see how many jobs lost their worker mid-run (rq retries them)."""
    if issubclass(exc_type, AbandonedJobError):
        counters.add_event(job.connection, "abandoned_jobs")
    return True


def run_worker(
    connection: Redis,
    sessions: sessionmaker[Session],
    *,
    burst: bool = False,
    outbound: tuple[Telephony, OutboundConfig] | None = None,
    messaging: MessagingApi | None = None,
) -> bool:
    """Process jobs and the call log until stopped (or, with `burst`, until both are empty).

    With `outbound` (a Twilio client and its settings) the worker also runs the dialer, in
    a thread, and can run the outbound jobs; a burst run only runs the jobs. With
    `messaging` it fetches the photos texted to the hotline (queues.worksheet_intake)."""
    runtime.configure(sessions)
    runtime.configure_outbound(outbound)
    runtime.configure_messaging(messaging)
    worker = make_worker(connection)
    if burst:
        call_log.drain(connection, sessions, call_log.consumer_name())
        worked = bool(worker.work(burst=True, with_scheduler=True))
        call_log.drain(connection, sessions, call_log.consumer_name())
        return worked
    writer = call_log.CallLogWriter(connection, sessions)
    writer.start()
    stop_dialing = threading.Event()
    dialing = None
    if outbound is not None:
        dialer = Dialer(connection, sessions, *outbound)
        dialing = threading.Thread(
            target=dialer.run, args=(stop_dialing,), name="dialer", daemon=True
        )
        dialing.start()
    try:
        return bool(worker.work(burst=False, with_scheduler=True))
    finally:
        stop_dialing.set()
        writer.stop()
        writer.join(timeout=call_log.READ_WAIT_MS / 1000 + 5)
        if dialing is not None:
            dialing.join(timeout=30)
