"""`hotline flood --topology ha --chaos`: machines lost during the flood, and what chairs
lived through each.

During the standard scenario, on the HA topology (flood.ha_topology: three web nodes behind
two HAProxy entry points, Redis primary + two replicas + three Sentinels, two workers, and
a PostgreSQL cluster of the flood's own), `Chaos.run` injects, at fixed shares of the
arrivals' duration:

1. a web node SIGKILLed with its workers (not restarted: two nodes carry on);
2. the first HAProxy SIGKILLed: calls go to the fallback URL on the second entry point
   until an operator starts it again, 30 s later;
3. the Redis primary SIGKILLed: the Sentinels promote a replica;
4. an rq worker SIGKILLed while it commits a report (its work horse too), and a
   replacement started at once, as a supervisor would: rq finds the job abandoned and
   runs it again;
5. PostgreSQL stopped for 30 s (an immediate stop: crash recovery on the restart).

Each fault records when it struck and when the hotline had recovered from it, as seen
from outside (the pools, the Sentinels, the job, the database answering). Afterwards
`assess` finds the chair calls that were in flight between the two (and for a margin after),
and what those chairs heard.
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import psycopg
from redis import Redis
from redis.exceptions import RedisError
from redis.sentinel import Sentinel
from rq import Worker
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from flood.calls import CHAIR, CallSummary
from flood.ha_topology import HaStack
from flood.redis_topology import MASTER_NAME
from flood.servers import PostgresCluster
from softphone import APPLICATION_ERROR

log = logging.getLogger(__name__)

SCHEDULE = (
    ("web node", 0.15),
    ("first HAProxy", 0.30),
    ("Redis primary", 0.45),
    ("worker mid-commit", 0.60),
    ("PostgreSQL", 0.75),
)
"""Each fault, and when it strikes as a share of the arrivals' duration."""
FAULT_KEYS = {
    "web": "web node",
    "haproxy": "first HAProxy",
    "redis": "Redis primary",
    "worker": "worker mid-commit",
    "postgres": "PostgreSQL",
}
"""`--chaos-faults`' short names of SCHEDULE's faults."""
HAPROXY_DOWN_SECONDS = 30.0
"""How long the first entry point stays dead before an operator starts it again."""
DATABASE_DOWN_SECONDS = 30.0
AFTERMATH_SECONDS = 15.0
"""A call that began up to this long after a recovery may still feel the fault (a chair
calling back after being cut off, a retry in flight)."""
RECOVERY_TIMEOUT_SECONDS = 300.0
COMMIT_JOB = "queues.jobs.commit_report"


@dataclass
class Fault:
    """One machine lost: what, when it struck, when the hotline had recovered (epoch)."""

    name: str
    what: str = ""
    struck: float = 0.0
    recovered: float = 0.0
    recovery: str = ""
    """What showed the recovery."""
    chair_calls_in_window: int = 0
    chair_calls_affected: int = 0
    chairs_affected: int = 0
    heard: dict[str, int] = field(default_factory=dict)
    """What the affected chair calls heard or met, by kind, counted per call."""

    @property
    def recovery_seconds(self) -> float:
        return max(0.0, self.recovered - self.struck) if self.recovered else -1.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "recovery_seconds": round(self.recovery_seconds, 2)}


class Chaos:
    """Injects SCHEDULE's faults into a running HA topology (run it in a greenlet: every
    wait here is a sleep or I/O, which gevent's patches make cooperative)."""

    def __init__(
        self,
        stack: HaStack,
        postgres: PostgresCluster,
        duration: float,
        *,
        sleep: Callable[[float], None] = time.sleep,
        outage: float | None = None,
        only: frozenset[str] | None = None,
    ) -> None:
        self.stack = stack
        self.only = only
        """The names of the faults to strike (None: all of SCHEDULE)."""
        # A test shortens the two outages; the standard scenario keeps their 30 s.
        self.haproxy_down = HAPROXY_DOWN_SECONDS if outage is None else outage
        self.database_down = DATABASE_DOWN_SECONDS if outage is None else outage
        self.postgres = postgres
        self.duration = duration
        self.sleep = sleep
        self.faults: list[Fault] = []

    def run(self, origin: float) -> None:
        """Strike each fault at its time after `origin` (epoch); never raises (a fault that
        could not be injected is recorded as such)."""
        actions: dict[str, Callable[[Fault], None]] = {
            "web node": self._web_node,
            "first HAProxy": self._first_haproxy,
            "Redis primary": self._redis_primary,
            "worker mid-commit": self._worker_mid_commit,
            "PostgreSQL": self._postgres,
        }
        chosen = [(name, share) for name, share in SCHEDULE if not self.only or name in self.only]
        self.faults = [Fault(name) for name, _ in chosen]
        # Each fault on a thread (a greenlet, under gevent's patches) of its own, so that a
        # slow recovery (rq noticing an abandoned job takes minutes) delays no later fault.
        strikes = [
            threading.Thread(
                target=self._strike,
                args=(fault, actions[fault.name], origin + share * self.duration),
                name=f"chaos: {fault.name}",
            )
            for fault, (_, share) in zip(self.faults, chosen, strict=True)
        ]
        for strike in strikes:
            strike.start()
        for strike in strikes:
            strike.join()

    def _strike(self, fault: Fault, action: Callable[[Fault], None], at: float) -> None:
        self.sleep(max(0.0, at - time.time()))
        try:
            action(fault)
        except Exception as error:  # a fault not injected must not stop the flood
            log.exception("chaos: %s failed", fault.name)
            fault.recovery = f"not injected: {type(error).__name__}: {error}"
        log.info("chaos: %s: %s; %s", fault.name, fault.what, fault.recovery)

    # -- the faults -------------------------------------------------------------------

    def _web_node(self, fault: Fault) -> None:
        node = self.stack.web[1]
        fault.what = f"SIGKILL {node.name} (its server and workers)"
        fault.struck = time.time()
        node.kill()
        entry = 1  # the first entry point meets its own fault later
        self._until(fault, lambda: self.stack.pool(entry).get(node.name, "").startswith("DOWN"))
        fault.recovery = f"{node.name} out of the pool of every entry point"

    def _first_haproxy(self, fault: Fault) -> None:
        balancer = self.stack.balancers[0]
        fault.what = (
            f"SIGKILL {balancer.name} (the Voice URL's entry point) for {self.haproxy_down:g} s"
        )
        fault.struck = time.time()
        balancer.kill()
        self.sleep(self.haproxy_down)
        balancer.start(wait=False)
        self._until(fault, lambda: _answers(self.stack.stats_urls[0]))
        fault.recovery = f"{balancer.name} started again by an operator and serving"

    def _redis_primary(self, fault: Fault) -> None:
        redis = self.stack.redis
        before = redis.primary_port()
        if before is None:
            raise RuntimeError("no Sentinel names a primary")
        fault.what = f"SIGKILL the Redis primary (port {before})"
        fault.struck = time.time()
        redis.kill(redis.server_on(before))
        self._until(fault, lambda: redis.primary_port() not in (None, before))
        fault.recovery = f"Sentinels promoted port {redis.primary_port()}"

    def _worker_mid_commit(self, fault: Fault) -> None:
        connection = self._redis()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                busy = _committing(connection, self.stack)
            except RedisError:  # the Sentinels may still be settling after the failover
                busy = None
            if busy is not None:
                break
            self.sleep(0.01)
        else:
            raise RuntimeError("no worker was seen committing a report within 60 s")
        member, job_id = busy
        fault.what = f"SIGKILL {member.name} while it committed report {job_id}"
        fault.struck = time.time()
        member.kill()
        member.start(wait=False)  # its replacement, as a supervisor starts one

        def job_done() -> bool:
            job = Job.fetch(job_id, connection=connection, serializer=JSONSerializer)
            return job.get_status(refresh=True) == JobStatus.FINISHED

        self._until(fault, job_done)
        fault.recovery = f"report {job_id} committed by a worker after the kill"

    def _postgres(self, fault: Fault) -> None:
        fault.what = f"PostgreSQL stopped (immediate) for {self.database_down:g} s"
        fault.struck = time.time()
        self.postgres.stop()
        self.sleep(self.database_down)
        self.postgres.start()
        self._until(fault, lambda: _database_answers(self.postgres.admin_url))
        fault.recovery = "PostgreSQL started again and answering"

    # -- helpers ----------------------------------------------------------------------

    def _redis(self) -> Redis:
        sentinel = Sentinel(list(self.stack.redis.sentinels), socket_timeout=2)
        primary: Redis = sentinel.master_for(MASTER_NAME, socket_timeout=5)
        return primary

    def _until(self, fault: Fault, recovered: Callable[[], bool]) -> None:
        deadline = time.monotonic() + RECOVERY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            try:
                if recovered():
                    fault.recovered = time.time()
                    return
            except Exception:  # not recovered yet: the thing asked may be the thing down
                log.debug("chaos: %s not recovered yet", fault.name, exc_info=True)
            self.sleep(0.1)
        raise RuntimeError(f"no recovery within {RECOVERY_TIMEOUT_SECONDS:.0f} s")


def _committing(connection: Redis, stack: HaStack) -> tuple[Any, str] | None:
    """A worker of the topology busy committing a report, and the report's job id."""
    members = {member.pid: member for member in stack.workers if member.pid is not None}
    for worker in Worker.all(connection=connection):
        job_id = worker.get_current_job_id()
        if not job_id or worker.pid not in members:
            continue
        job = Job.fetch(job_id, connection=connection, serializer=JSONSerializer)
        if job.func_name == COMMIT_JOB:
            return members[worker.pid], job_id
    return None


def _answers(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=1) as response:
        return bool(response.status == 200)


def _database_answers(url: str) -> bool:
    with psycopg.connect(url, connect_timeout=1) as conn:
        conn.execute("SELECT 1")
    return True


def assess(faults: list[Fault], calls: Iterable[CallSummary]) -> None:
    """For each fault, the chair calls in flight between it and its recovery (plus
    AFTERMATH_SECONDS), and what those that felt it heard."""
    chair_calls = [call for call in calls if call.persona == CHAIR]
    for fault in faults:
        if not fault.struck:
            continue
        ends = (fault.recovered or fault.struck) + AFTERMATH_SECONDS
        window = [
            call
            for call in chair_calls
            if call.started <= ends and call.started + call.wall_seconds >= fault.struck
        ]
        heard: Counter[str] = Counter()
        affected = []
        for call in window:
            kinds = _felt(call)
            if kinds:
                affected.append(call)
                heard.update(kinds)
        fault.chair_calls_in_window = len(window)
        fault.chair_calls_affected = len(affected)
        fault.chairs_affected = len({call.precinct_id for call in affected})
        fault.heard = dict(heard)


def _felt(call: CallSummary) -> list[str]:
    """How a chair call met a fault: what it heard, or what Twilio's side did for it."""
    kinds = []
    if call.outcome == APPLICATION_ERROR:
        kinds.append('"an application error has occurred": cut off, then called back')
    if call.held_on:
        kinds.append('"One moment, please." (the fallback URL, or the hotline\'s hold and retry)')
    if call.retries:
        kinds.append("a request retried unheard (the URL's connection overrides)")
    if call.error_answers and not kinds:
        kinds.append("a failed request, recovered unheard")
    return kinds
