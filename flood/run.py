"""One flood from start to report: target, plan, Locust, drain, correctness, baseline.

Imported only by `hotline flood` when it runs a flood, because importing Locust
monkey-patches the process for gevent.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import random
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import gevent
from redis import Redis
from redis.sentinel import Sentinel

from callflows.ballots import Ballot, load_ballot
from flood.baseline import Throughput, serving_bare_app
from flood.callbacks import answer_as, callback_line, called_back
from flood.correctness import Correctness, check, load_precinct_table, stored_reports
from flood.dispatch import Dispatcher, LineConfig
from flood.faults import Chaos, assess
from flood.ha_topology import HaOptions, ha_stack
from flood.machine import machine_facts
from flood.metrics_sampler import MetricsSampler, screening_and_totals, wait_until_drained
from flood.options import FloodOptions
from flood.personas import Chair, Prank
from flood.plan import prank_phone
from flood.probe import saturate
from flood.redis_topology import MASTER_NAME
from flood.rehearsal import afterwards, require_rehearsal
from flood.report import RunFacts, write_report
from flood.scenarios import Plan, ScenarioSpec, build_plan, read_pins
from flood.servers import PostgresCluster, database_on, free_port
from flood.stack import StackOptions, local_stack
from flood.swarm import run_swarm, run_worker
from flood.worksheets import load_worksheets
from ivr.results import export_rows, to_json
from models import Mode, make_engine, make_session_factory
from softphone.rest import RestStandIn

log = logging.getLogger(__name__)

DRAIN_TIMEOUT_SECONDS = 900
"""How long the workers may take to commit what the flood queued."""
BASELINE_ROUNDS = 4
"""The throughput probe alternates the hotline and the bare endpoint this many times."""


@dataclass(frozen=True)
class Target:
    """The hotline under test and how to reach its data (None: not reachable from here)."""

    base_url: str
    auth_token: str = field(repr=False)
    pins_file: Path
    database_url: str | None = None
    redis_url: str | None = None
    description: str = ""
    callbacks: RestStandIn | None = field(default=None, repr=False)
    """The Twilio REST stand-in the hotline places its calls through (a started stack's),
    where the plan's chairs answer (flood.callbacks); None: the hotline places none here."""
    fallback_base_url: str = ""
    """The numbers' fallback URL's entry point ("": beside the Voice URL)."""
    sentinels: tuple[tuple[str, int], ...] = ()
    """The Redis Sentinels (then `redis_url` is only the first primary's)."""
    chaos: Chaos | None = field(default=None, repr=False)
    """The faults to inject during the flood (`--chaos`)."""

    def redis(self) -> Redis | None:
        """The hotline's Redis (its primary through the Sentinels, following a failover)."""
        if self.sentinels:
            primary: Redis = Sentinel(list(self.sentinels)).master_for(MASTER_NAME)
            return primary
        return Redis.from_url(self.redis_url) if self.redis_url else None


def flood(options: FloodOptions, target: Target, stack: StackOptions | None) -> dict[str, Any]:
    """Run the flood against `target` and write the report; returns the report's data.

    A rehearsal scenario raises NotInRehearsal, before sending anything, unless the target
    is in rehearsal mode."""
    spec = options.spec
    mode = require_rehearsal(target.database_url, target.redis_url) if spec.rehearsal else None
    ballot = load_ballot(spec.ballot)
    plan = build_plan(spec, read_pins(target.pins_file), load_worksheets(), ballot)
    log.info(
        "plan: %s chairs (%s drill first), %s prank personas (%s calls), over %s s (%s)",
        len(plan.chairs), len(plan.drills), len(plan.pranks), sum(p.calls for p in plan.pranks),
        spec.duration, spec.profile,
    )  # fmt: skip
    if target.callbacks is not None:
        answer_as(target.callbacks, plan.chairs)
    redis = target.redis()
    sampler = MetricsSampler(redis) if redis else None
    sampler_greenlet = gevent.spawn(sampler.run) if sampler else None
    before = machine_facts()
    chaos = gevent.spawn(target.chaos.run, time.time()) if target.chaos is not None else None
    result = run_swarm(
        lambda data: _dispatcher(plan, target.auth_token, data),
        target.base_url,
        options.swarm,
        max_seconds=options.max_seconds,
        sampler=sampler,
        plan_message={
            "host": target.base_url,
            "fallback_host": target.fallback_base_url,
            "spec": spec.as_dict(),
        },
    )
    if chaos is not None:
        chaos.join()  # its last fault's recovery, if the arrivals ended first
    facts = RunFacts(
        command=options.command,
        scenario=spec,
        target={"base_url": target.base_url, "description": target.description},
        machine_before=before,
        machine_after=machine_facts(),
        plan=_plan_counts(plan, ballot),
        swarm=result,
    )
    if redis is not None and sampler is not None:
        log.info("waiting for the workers to drain the queues ...")
        facts.drain_seconds = wait_until_drained(redis, DRAIN_TIMEOUT_SECONDS)
        sampler.stop()
        if sampler_greenlet is not None:
            sampler_greenlet.join(timeout=10)
        facts.samples = sampler.samples
        facts.hotline_counters = screening_and_totals(redis)
    if target.chaos is not None:
        assess(target.chaos.faults, result.log.calls)
        facts.faults = [fault.to_dict() for fault in target.chaos.faults]
    if target.database_url:
        placed = called_back(target.callbacks) if target.callbacks is not None else frozenset()
        facts.correctness = _correctness(
            plan, result.log.calls, target.database_url, options.out, placed
        )
    if mode is not None:
        _rehearsal_afterwards(facts, plan, mode, target)
        if stack is not None and options.baseline_seconds > 0:
            facts.notes.append(
                "No throughput probe: the rehearsal ends live, and the probe's calls would "
                "be the night's (measure throughput with another scenario)."
            )
    elif stack is not None and options.baseline_seconds > 0:
        facts.throughput = _throughput(plan, target, stack, options)
    return write_report(facts, options.out)


def _rehearsal_afterwards(facts: RunFacts, plan: Plan, mode: Mode, target: Target) -> None:
    """The readiness board, the switch to live and its zero report (flood.rehearsal)."""
    if not (target.database_url and target.redis_url):
        facts.notes.append(
            "Rehearsal not checked: the readiness board and the switch to live need the "
            "hotline's --database-url and --redis-url."
        )
        return
    log.info("rehearsal: reading the readiness board, then switching the hotline live ...")
    facts.rehearsal = afterwards(plan.drills, mode, target.database_url, target.redis_url)


def serve_as_worker(pins_file: Path, auth_token: str, master_host: str, master_port: int) -> None:
    """`hotline flood --worker`: play this machine's share of the master's plan."""

    def make_dispatcher(data: dict[str, Any]) -> Dispatcher:
        spec = ScenarioSpec(**data["spec"])
        ballot = load_ballot(spec.ballot)
        plan = build_plan(spec, read_pins(pins_file), load_worksheets(), ballot)
        return _dispatcher(plan, auth_token, data)

    run_worker(make_dispatcher, master_host, master_port)


@contextlib.contextmanager
def started_stack(stack: StackOptions, out: Path) -> Iterator[Target]:
    """`--start-stack`: the local hotline as the target (its data in a private temp folder),
    placing its calls through the REST stand-in (flood.callbacks) on a port chosen first,
    since the hotline's processes are told it as they start."""
    port = free_port()
    stack = replace(stack, twilio_api_base_url=f"http://127.0.0.1:{port}")
    with (
        tempfile.TemporaryDirectory(prefix="hotline-flood-") as workdir,
        local_stack(stack, Path(workdir), out / "logs") as running,
        callback_line(running.auth_token, port) as callbacks,
    ):
        yield Target(
            base_url=running.base_url,
            auth_token=running.auth_token,
            pins_file=running.pins_file,
            database_url=running.database_url,
            redis_url=running.redis_url,
            description=(
                f"local stack: gunicorn {stack.web_workers} workers x {stack.threads} threads, "
                f"{stack.rq_workers} rq worker(s)"
                f"{f' at nice {stack.rq_nice}' if stack.rq_nice else ''}, Redis, "
                f"{'PostgreSQL' if 'postgresql' in running.database_url else 'the given database'}"
                f", IVR capacity {stack.ivr_capacity or 'default'}"
            ),
            callbacks=callbacks,
        )


@contextlib.contextmanager
def started_ha_stack(
    stack: StackOptions,
    out: Path,
    *,
    chaos_over: float | None = None,
    chaos_outage: float | None = None,
    chaos_faults: frozenset[str] | None = None,
) -> Iterator[Target]:
    """`--start-stack --topology ha`: three web nodes behind two HAProxy entry points (the
    fallback URL on the second), Redis primary + two replicas + three Sentinels with a
    replica's acknowledgement before each receipt, the rq workers, and a PostgreSQL cluster
    of its own (flood.ha_topology); with `chaos_over` (the arrivals' seconds), the faults
    of flood.faults during the flood."""
    port = free_port()
    # One web process a node: three nodes already share the machine's two cores.
    stack = replace(stack, twilio_api_base_url=f"http://127.0.0.1:{port}", web_workers=1)
    with contextlib.ExitStack() as started:
        workdir = Path(started.enter_context(tempfile.TemporaryDirectory(prefix="hotline-ha-")))
        # A cluster of our own, never the machine's server: the chaos flood stops it.
        postgres = PostgresCluster()
        started.callback(postgres.remove)
        postgres.start()
        database_url = started.enter_context(database_on(postgres.admin_url, "hotline_ha"))
        options = HaOptions(stack=stack, database_url=database_url)
        running = started.enter_context(ha_stack(options, workdir, out / "logs"))
        callbacks = started.enter_context(callback_line(running.auth_token, port))
        yield Target(
            base_url=running.base_url,
            auth_token=running.auth_token,
            pins_file=running.pins_file,
            database_url=database_url,
            redis_url=running.redis.primary.url,
            description=(
                f"HA topology: {options.web_nodes} web nodes ({stack.threads} threads each) "
                f"behind {options.entry_points} HAProxy entry points, Redis primary + "
                f"{options.replicas} replicas + {options.sentinels} Sentinels (receipt after "
                f"{options.min_replicas_ack} replica ack), {stack.rq_workers} rq workers, "
                "PostgreSQL (a cluster of its own)"
                f"{'; chaos: flood.faults' if chaos_over else ''}"
            ),
            callbacks=callbacks,
            fallback_base_url=running.fallback_base_url,
            sentinels=running.redis.sentinels,
            chaos=(
                Chaos(running, postgres, chaos_over, outage=chaos_outage, only=chaos_faults)
                if chaos_over
                else None
            ),
        )


def _dispatcher(plan: Plan, auth_token: str, data: dict[str, Any]) -> Dispatcher:
    spec = plan.spec
    fallback_host = data.get("fallback_host") or ""
    config = LineConfig(
        voice_url=f"{data['host']}/voice",
        auth_token=auth_token,
        time_scale=spec.time_scale,
        human_think=spec.human_think,
        fallback_url=f"{fallback_host}/voice/fallback" if fallback_host else "",
    )
    arrivals = plan.slice(data["index"], data["count"])
    return Dispatcher(arrivals, config, origin=data["origin"], deadline=data["deadline"])


def _plan_counts(plan: Plan, ballot: Ballot) -> dict[str, int]:
    return {
        "chairs": len(plan.chairs),
        "drills": len(plan.drills),
        "pranks": len(plan.pranks),
        "prank_calls": sum(prank.calls for prank in plan.pranks),
        "groups": len(ballot.groups),
    }


def _correctness(
    plan: Plan, calls: Any, database_url: str, out: Path, placed: frozenset[str]
) -> Correctness:
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            reports = stored_reports(session)
            out.mkdir(parents=True, exist_ok=True)
            (out / "results.json").write_text(to_json(export_rows(session)))
    finally:
        engine.dispose()
    return check(plan.chairs, reports, calls, load_precinct_table(), placed)


def _throughput(
    plan: Plan, target: Target, stack: StackOptions, options: FloodOptions
) -> dict[str, Throughput]:
    """The hotline and a bare Gather endpoint, each driven flat out by the same client."""
    chairs = itertools.cycle(plan.chairs)

    def next_chair() -> Chair | Prank:
        chair = next(chairs)
        # A fresh chair (no typos, no drop) keying the worksheet again: a duplicate report.
        return Chair(chair.precinct_id, chair.pin, chair.sheet, chair.ballot, chair.phone,
                     random.Random(0))  # fmt: skip

    counter = itertools.count()

    def next_keyer() -> Chair | Prank:
        return Prank("random_keys", prank_phone(0), random.Random(next(counter)), [])

    # Alternating short rounds, so that a change in the machine's speed during the probe
    # (a shared host) weighs on both targets alike instead of on whichever ran second.
    rounds = BASELINE_ROUNDS
    seconds, lines = options.baseline_seconds / rounds, options.baseline_lines
    hotline_rounds: list[Throughput] = []
    bare_rounds: list[Throughput] = []
    with serving_bare_app(
        stack.web_workers, stack.threads, options.out / "logs" / "bare.log", server=stack.server
    ) as (bare_url, _):
        for round_number in range(1, rounds + 1):
            log.info(
                "throughput round %s of %s: the hotline, then a bare Flask Gather endpoint, "
                "flat out for %.1f s each ...", round_number, rounds, seconds,
            )  # fmt: skip
            hotline_rounds.append(saturate(
                "hotline webhooks (chair calls)", f"{target.base_url}/voice", target.auth_token,
                next_chair, seconds=seconds, concurrency=lines,
            ))  # fmt: skip
            bare_rounds.append(saturate(
                "bare Flask Gather endpoint", bare_url, target.auth_token, next_keyer,
                seconds=seconds, concurrency=lines,
            ))  # fmt: skip
    hotline, bare = Throughput.combine(hotline_rounds), Throughput.combine(bare_rounds)
    return {"hotline": hotline, "bare": bare}
