"""The hotline on loopback behind one HAProxy with overload control (`ivr.balancer`).

`balanced_stack` starts Redis, a fresh PostgreSQL database, `hotline flood --prepare`
against them, one web node (`hotline serve`), rq workers, the list of chair phones
(`hotline haproxy chair-phones`, as production writes it) and HAProxy in front of the
node, configured by `ivr.balancer` exactly as `hotline haproxy config` writes it for
production. PUBLIC_BASE_URL is HAProxy's (Twilio calls the balancer, and signs for its
URL); HAPROXY_STATS_URLS points the web app at HAProxy's statistics, so the overview and
/metrics show what overload control does. Every process it started is stopped by its PID.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import secrets
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from flood.ha_topology import haproxy_binary
from flood.servers import RedisServer, free_port, fresh_postgres_database, wait_for_port
from flood.stack import (
    HOTLINE,
    Stack,
    StackOptions,
    child_process,
    hotline_environment,
    prepare_hotline,
    web_command,
    worker_command,
)
from ivr.balancer import STATS_PATH, BalancerOptions, Node, haproxy_config
from ivr.overload import OverloadStatus, read_status

START_SECONDS = 60.0


@dataclass(frozen=True)
class BalancedOptions:
    """The stack behind one balancer."""

    stack: StackOptions = field(
        default_factory=lambda: StackOptions(web_workers=1, threads=4, rq_workers=1)
    )
    overload_control: bool = True
    shed_queue: int | None = None
    """`ivr.balancer.BalancerOptions.shed_queue` (None: its default)."""


@dataclass(frozen=True)
class BalancedStack:
    """The running stack: `stack.base_url` is the balancer's."""

    stack: Stack
    stats_url: str
    metrics_token: str = field(repr=False)
    config_file: Path
    node_url: str
    """The web node itself, behind the balancer (for measuring its capacity)."""

    def overload(self) -> OverloadStatus:
        """What the balancer's statistics say now (as the web app reads them)."""
        return read_status([self.stats_url])


@contextlib.contextmanager
def balanced_stack(options: BalancedOptions, workdir: Path, logs: Path) -> Iterator[BalancedStack]:
    """Start the stack behind HAProxy, load it, yield it, stop every process by its PID."""
    workdir.mkdir(mode=0o700, parents=True, exist_ok=True)
    logs.mkdir(parents=True, exist_ok=True)
    sized = options.stack
    cpus = sized.cpus
    pids: dict[str, int] = {}
    with contextlib.ExitStack() as started:
        (workdir / "redis").mkdir(exist_ok=True)
        redis = RedisServer(workdir / "redis", appendfsync="everysec", cpus=cpus)
        redis.start()
        started.callback(redis.stop)
        database_url = sized.database_url or started.enter_context(
            fresh_postgres_database("hotline_overload")
        )
        port, stats_port, web_port = free_port(), free_port(), free_port()
        base_url = f"http://127.0.0.1:{port}"
        stats_url = f"http://127.0.0.1:{stats_port}{STATS_PATH}"
        metrics_token = secrets.token_hex(16)
        env = {
            **os.environ,
            **hotline_environment(sized, base_url, workdir),
            "DATABASE_URL": database_url,
            "REDIS_URL": redis.url,
            "HAPROXY_STATS_URLS": stats_url,
            "METRICS_TOKEN": metrics_token,
        }
        pins_file = workdir / "pins.csv"
        prepare_hotline(env, pins_file, sized.ballot, logs, live=sized.live)
        chair_phones = workdir / "chair-phones.lst"
        with (logs / "prepare.log").open("a") as out:
            subprocess.run(
                [HOTLINE, "haproxy", "chair-phones", "--out", str(chair_phones)],
                env=env, stdout=out, stderr=out, check=True,
            )  # fmt: skip

        config_file = workdir / "haproxy.cfg"
        balancer = BalancerOptions(
            bind=f"127.0.0.1:{port}",
            stats_bind=f"127.0.0.1:{stats_port}",
            nodes=[Node("web0", f"127.0.0.1:{web_port}", sized.web_workers * sized.threads)],
            chair_phones_file=chair_phones,
            overload_control=options.overload_control,
            shed_queue=options.shed_queue,
        )
        config_file.write_text(haproxy_config(balancer))
        binary = haproxy_binary()
        subprocess.run([binary, "-c", "-q", "-f", str(config_file)], check=True)

        web = web_command(sized, web_port)
        pids["web"] = started.enter_context(child_process(web, env, logs / "web.log", cpus))
        for index in range(sized.rq_workers):
            log_file = logs / f"worker{index}.log"
            pids[f"worker{index}"] = started.enter_context(
                child_process(worker_command(sized), env, log_file, cpus)
            )
        wait_for_port(web_port, timeout=START_SECONDS)
        # HAProxy needs none of the hotline's settings (nor its secrets).
        haproxy = [binary, "-db", "-f", str(config_file)]
        pids["haproxy"] = started.enter_context(
            child_process(haproxy, dict(os.environ), logs / "haproxy.log", cpus)
        )
        wait_for_port(port, timeout=START_SECONDS)
        wait_until_in_pool(stats_url, "web0")
        stack = Stack(
            base_url, env["TWILIO_AUTH_TOKEN"], database_url, redis.url, pins_file, env,
            ballot=sized.ballot, pids=pids,
        )  # fmt: skip
        node_url = f"http://127.0.0.1:{web_port}"
        yield BalancedStack(stack, stats_url, metrics_token, config_file, node_url)


def wait_until_in_pool(stats_url: str, server: str) -> None:
    """Until HAProxy's health check has the web node UP (its first checks may fail)."""
    deadline = time.monotonic() + START_SECONDS
    while True:
        with urllib.request.urlopen(f"{stats_url};csv", timeout=2) as response:
            text = response.read().decode()
        rows = csv.DictReader(io.StringIO(text.removeprefix("# ")))
        if any(row["svname"] == server and row["status"] == "UP" for row in rows):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"HAProxy never had {server} in its pool")
        time.sleep(0.1)
