"""Running the flood with Locust in library mode: on one machine, or as master and workers.

One machine: a local runner whose lines (Locust users) play the whole plan. Bigger floods:
a master (`--master --expect-workers N`) that sends each worker the scenario and its share
of it (every N-th arrival), and workers (`--worker --master-host H`) that build the same
plan from the same seed and ship their call log back with Locust's worker reports. No
secret crosses that channel: each worker reads the PINs and the auth token locally.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gevent
from locust.env import Environment
from locust.runners import MasterRunner, Runner, WorkerRunner
from locust.stats import RequestStats, print_stats

from flood.calls import CallSummary
from flood.dispatch import CallLog, Dispatcher
from flood.locustfile import DispatcherSlot, caller_line_class
from flood.metrics_sampler import MetricsSampler, jobs_pending
from flood.options import SwarmOptions

log = logging.getLogger(__name__)

PLAN_MESSAGE = "flood-plan"
"""Master -> worker: the scenario, the worker's share, the run's clock."""
REPORT_KEY = "flood"
"""The key of our data in Locust's worker reports."""
START_DELAY_SECONDS = 2.0
"""Second 0 of the plan comes this long after the lines are told to start."""
WORKERS_TIMEOUT_SECONDS = 120


@dataclass(frozen=True)
class TimelinePoint:
    """Locust's view every few seconds (percentiles over its last 10 s)."""

    at: float
    rps: float
    failures_per_second: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    calls: int


@dataclass
class SwarmResult:
    started_at: float
    ended_at: float
    stats: RequestStats
    timeline: list[TimelinePoint]
    log: CallLog
    stopped_at_deadline: bool
    workers: int = 1
    notes: list[str] = field(default_factory=list)


DispatcherFactory = Callable[[dict[str, Any]], Dispatcher]
"""The plan message (the run's settings plus this process's "index" of "count" load
generators, and the run's "origin" and "deadline") -> this process's dispatcher."""


def run_swarm(
    make_dispatcher: DispatcherFactory,
    host: str,
    options: SwarmOptions,
    *,
    max_seconds: float,
    sampler: MetricsSampler | None = None,
    plan_message: dict[str, Any] | None = None,
) -> SwarmResult:
    """Run the flood (locally, or as master when `options.expect_workers`); block until done."""
    slot = DispatcherSlot()
    environment = Environment(user_classes=[caller_line_class(slot)], host=host)
    distributed = options.expect_workers > 0
    runner: Runner
    if distributed:
        runner = environment.create_master_runner(
            options.master_bind_host, options.master_bind_port
        )
    else:
        runner = environment.create_local_runner()
    web_ui = None
    if options.web_ui:
        # Locust's web UI parses the process's arguments as Locust options on every page;
        # ours were read long ago (and the report keeps its own copy), so hide them.
        del sys.argv[1:]
        web_ui = environment.create_web_ui(options.web_host, options.web_port)
        log.info("Locust web UI: http://%s:%s", options.web_host, options.web_port)
    collected = CallLog()
    finished_workers: set[str] = set()
    if isinstance(runner, MasterRunner):
        _collect_worker_reports(environment, collected, finished_workers)
        _wait_for_workers(runner, options.expect_workers)
    origin = time.time() + START_DELAY_SECONDS
    deadline = origin + max_seconds
    clock = {**(plan_message or {}), "origin": origin, "deadline": deadline}
    if isinstance(runner, MasterRunner):
        workers = [worker.id for worker in runner.clients.ready]
        for index, client_id in enumerate(workers):
            data = {**clock, "index": index, "count": len(workers)}
            runner.send_message(PLAN_MESSAGE, data, client_id)
    else:
        slot.dispatcher = make_dispatcher({**clock, "index": 0, "count": 1})

    def progress() -> tuple[CallLog, bool]:
        if slot.dispatcher is not None:
            return slot.dispatcher.log, slot.dispatcher.finished
        return collected, len(finished_workers) >= options.expect_workers

    runner.start(options.lines, spawn_rate=options.spawn_rate)
    timeline: list[TimelinePoint] = []
    hard_stop = deadline + 60
    last_stats = time.time()
    while True:
        gevent.sleep(options.progress_seconds)
        call_log, done = progress()
        point = _point(environment.stats, len(call_log.calls))
        timeline.append(point)
        log.info(_progress_line(point, origin, call_log, sampler))
        if time.time() - last_stats >= options.stats_seconds:
            print_stats(environment.stats)
            last_stats = time.time()
        if done or time.time() > hard_stop:
            break
    stopped_at_deadline = not progress()[1]
    runner.quit()
    if web_ui is not None:
        web_ui.stop()  # type: ignore[no-untyped-call]
    print_stats(environment.stats, current=False)
    return SwarmResult(
        started_at=origin,
        ended_at=time.time(),
        stats=environment.stats,
        timeline=timeline,
        log=progress()[0],
        stopped_at_deadline=stopped_at_deadline,
        workers=max(1, options.expect_workers),
    )


def run_worker(make_dispatcher: DispatcherFactory, master_host: str, master_port: int) -> None:
    """Serve a master: wait for the plan, play this worker's share, report, until told to quit."""
    slot = DispatcherSlot()
    environment = Environment(user_classes=[caller_line_class(slot)])
    runner = environment.create_worker_runner(master_host, master_port)
    assert isinstance(runner, WorkerRunner)

    def on_plan(environment: Environment, msg: Any, **_: Any) -> None:
        data = msg.data
        environment.host = data["host"]
        slot.dispatcher = make_dispatcher(data)
        log.info("worker %s of %s: plan received", data["index"] + 1, data["count"])

    def on_report(client_id: str, data: dict[str, Any]) -> None:
        dispatcher = slot.dispatcher
        if dispatcher is None:
            return
        finished = dispatcher.finished  # before draining: nothing can follow a finished log
        piece = dispatcher.drain_log()
        data[REPORT_KEY] = {
            "calls": [dataclasses.asdict(call) for call in piece.calls],
            "lags": piece.lags,
            "errors": dict(piece.errors),
            "finished": finished,
        }

    runner.register_message(PLAN_MESSAGE, on_plan)
    environment.events.report_to_master.add_listener(on_report)  # type: ignore[no-untyped-call]
    if runner.greenlet is not None:
        runner.greenlet.join()


def _collect_worker_reports(
    environment: Environment, collected: CallLog, finished: set[str]
) -> None:
    def on_worker_report(client_id: str, data: dict[str, Any]) -> None:
        piece = data.get(REPORT_KEY)
        if not piece:
            return
        collected.calls.extend(CallSummary(**call) for call in piece["calls"])
        collected.lags.extend(piece["lags"])
        collected.errors.update(piece["errors"])
        if piece["finished"]:
            finished.add(client_id)

    environment.events.worker_report.add_listener(on_worker_report)  # type: ignore[no-untyped-call]


def _wait_for_workers(runner: MasterRunner, expected: int) -> None:
    deadline = time.monotonic() + WORKERS_TIMEOUT_SECONDS
    while len(runner.clients.ready) < expected:
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"{len(runner.clients.ready)} of {expected} Locust workers connected "
                f"after {WORKERS_TIMEOUT_SECONDS} s"
            )
        log.info("waiting for workers: %s of %s", len(runner.clients.ready), expected)
        gevent.sleep(1)


def _point(stats: RequestStats, calls: int) -> TimelinePoint:
    total = stats.total

    def current(fraction: float) -> float:
        return float(total.get_current_response_time_percentile(fraction) or 0)

    return TimelinePoint(
        at=time.time(),
        rps=round(float(total.current_rps or 0), 1),
        failures_per_second=round(float(total.current_fail_per_sec or 0), 2),
        p50_ms=current(0.50),
        p95_ms=current(0.95),
        p99_ms=current(0.99),
        calls=calls,
    )


def _progress_line(
    point: TimelinePoint, origin: float, call_log: CallLog, sampler: MetricsSampler | None
) -> str:
    chairs_done = sum(1 for c in call_log.calls if c.persona == "chair" and c.receipt)
    line = (
        f"[{point.at - origin:6.0f} s] calls {point.calls:,} (chair receipts {chairs_done:,})"
        f" | {point.rps:,.0f} req/s, p50 {point.p50_ms:.0f} ms, p99 {point.p99_ms:.0f} ms"
        f" (last 10 s), {point.failures_per_second:g} failed/s"
    )
    sample = sampler.latest if sampler else None
    if sample is not None:
        line += (
            f" | in IVR {sample.calls_in_ivr}, held {sample.hold_depth},"
            f" rq pending {jobs_pending(sample)}"
        )
    return line
