"""A worker killed in the middle of a commit: rq's abandoned-job handling retries the job,
and the report is committed exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import psycopg
import pytest
from redis import Redis
from rq.registry import StartedJobRegistry

from callflows.events import ReportSubmitted
from ivr.hotline import Hotline
from models import Report
from queues import counters
from queues.defaults import REPORTS_QUEUE
from queues.publish import publish_report, queue
from queues.worker import make_worker, run_worker
from tests.queues.test_jobs import payload
from tests.support.live import HOTLINE, children


def wait_for(condition: object, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_worker_killed_mid_commit_has_its_job_retried_and_committed_once(
    hotline: Hotline, redis: Redis, adair: dict[str, str], database_url: str
) -> None:
    # Hold the report table so the worker's commit is stuck half way, then kill the worker.
    lock = psycopg.connect(database_url.replace("+psycopg", ""))
    worker: subprocess.Popen[bytes] | None = None
    try:
        lock.execute("LOCK TABLE report IN ACCESS EXCLUSIVE MODE")
        publish_report(ReportSubmitted(**payload()), redis)
        env = {
            **os.environ,
            "HOTLINE_PROFILE": "test",
            "DATABASE_URL": database_url,
            "REDIS_URL": hotline.settings.redis_url,
        }
        worker = subprocess.Popen([HOTLINE, "worker"], env=env, start_new_session=True)
        started = StartedJobRegistry(queue=queue(REPORTS_QUEUE, redis))
        wait_for(lambda: started.count == 1, 30, "the worker to start the commit")
        time.sleep(1)
        # rq's work horse runs in a session of its own, so kill it by name of parent.
        for pid in [*children(worker.pid), worker.pid]:
            os.kill(pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker is not None and worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
        lock.rollback()
        lock.close()

    def committed() -> bool:
        # A new worker's registry cleanup finds the job abandoned once its heartbeat lapses.
        run_worker(redis, hotline.sessions, burst=True)
        with hotline.sessions() as session:
            return session.query(Report).count() > 0

    # Bounded but generous: rq finds the job abandoned only once its registry entry (the job
    # timeout and rq's margin) has lapsed, which took over 150 s twice on this two-core
    # machine with the rest of the suite running.
    wait_for(committed, 300, "the abandoned job to be retried")
    with hotline.sessions() as session:
        assert session.query(Report).count() == 1
    assert counters.totals(redis).get("abandoned_jobs") == 1


def test_a_worker_stops_listening_for_commands_within_seconds(redis: Redis) -> None:
    worker = make_worker(redis)
    worker.subscribe()
    # The race a shutdown can lose: the listener reads the unsubscribe reply before it is
    # told to stop, then waits for the next command (a minute, with rq's own listener).
    assert worker.pubsub is not None
    worker.pubsub.unsubscribe()  # type: ignore[no-untyped-call]
    wait_for(lambda: not worker.pubsub.subscribed, 10, "the unsubscribe reply to be read")
    started = time.monotonic()
    worker.unsubscribe()  # type: ignore[no-untyped-call]
    assert time.monotonic() - started < 10
