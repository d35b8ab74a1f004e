"""The hotline as several machines would run it, on loopback: web nodes behind HAProxy.

`ha_stack` starts Redis with Sentinel (a primary, its replicas and three Sentinels:
`flood.redis_topology.SentinelTopology`), a fresh PostgreSQL database, `hotline flood
--prepare` against them, N web nodes (`hotline serve`, each its own gunicorn), M HAProxy
entry points in front of all of them (Debian's haproxy, one generated haproxy.cfg each), and
rq workers (`hotline worker`); it yields an `HaStack` that says where to call (the entry
points' URLs: Twilio's Voice URL on the first, its fallback URL on the second), which PIDs
run what, and lets a test or the chaos flood SIGKILL any process and start it again.

Every web node, worker and HAProxy runs in a process group of its own, so that killing one
kills what it started too (gunicorn's workers, rq's work horse), as losing its machine
would; every process is stopped by its PID (or its group's) afterwards.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from flood.redis_topology import MASTER_NAME, SentinelTopology
from flood.servers import free_port, fresh_postgres_database, wait_for_port
from flood.stack import (
    Stack,
    StackOptions,
    hotline_environment,
    prepare_hotline,
    spawn,
    stop_process,
    web_command,
    worker_command,
)
from ivr.balancer import BACKEND, STATS_PATH, BalancerOptions, Node
from ivr.balancer import haproxy_config as balancer_config
from ivr.overload import stats_rows

START_SECONDS = 60.0
"""How long a web node may take to boot (three gunicorns on two shared cores)."""


def haproxy_binary() -> str:
    found = shutil.which("haproxy")
    if not found:
        raise RuntimeError("no haproxy: run `make test`, which installs Debian's haproxy")
    return found


def haproxy_config(
    name: str,
    port: int,
    stats_port: int,
    nodes: Sequence[tuple[str, int]],
    server_timeout_ms: int = 2500,
) -> str:
    """An entry point on 127.0.0.1:`port` to `nodes` (name, port), as haproxy.cfg: the
    production generator's (ivr.balancer), without overload control (issue 16's flood
    measures that on its own)."""
    options = BalancerOptions(
        bind=f"127.0.0.1:{port}",
        stats_bind=f"127.0.0.1:{stats_port}",
        nodes=[Node(node, f"127.0.0.1:{node_port}") for node, node_port in nodes],
        overload_control=False,
        server_timeout_ms=server_timeout_ms,
        name=name,
    )
    return balancer_config(options)


@dataclass
class Member:
    """One process of the topology, which may be SIGKILLed and started again."""

    name: str
    args: list[str]
    env: dict[str, str] = field(repr=False)
    log_file: Path
    port: int | None = None
    """Where it listens (None for a worker): `start` waits for it."""
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    starts: int = 0

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, wait: bool = True) -> None:
        self.process = spawn(
            self.args, self.env, self.log_file, append=self.starts > 0, own_group=True
        )
        self.starts += 1
        if wait:
            self.wait_until_listening()

    def wait_until_listening(self) -> None:
        if self.port is not None:
            wait_for_port(self.port, timeout=START_SECONDS)

    def kill(self) -> None:
        """SIGKILL its whole process group: a machine lost, nothing flushed or handed over."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None

    def restart(self) -> None:
        self.kill()
        self.start()

    def stop(self) -> None:
        """SIGTERM (gunicorn and rq stop their own children), then SIGKILL what is left
        of its group."""
        if self.process is None:
            return
        stop_process(self.process, self.log_file)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process = None


@dataclass(frozen=True)
class HaOptions:
    """How to start the HA topology."""

    stack: StackOptions = field(
        default_factory=lambda: StackOptions(web_workers=1, threads=8, rq_workers=2)
    )
    """Each web node's size (`web_workers` x `threads`), the rq workers, the ballot."""
    web_nodes: int = 3
    entry_points: int = 2
    replicas: int = 2
    sentinels: int = 3
    min_replicas_ack: int = 1
    """REDIS_MIN_REPLICAS_ACK: a receipt only once a replica has the report."""
    database_url: str | None = None
    """None: a fresh database on the local PostgreSQL (else a throwaway cluster)."""
    server_timeout_ms: int = 2500
    """HAProxy's `timeout server`: above REDIS_WAIT_TIMEOUT_MS, below Twilio's read timeout."""


@dataclass
class HaStack:
    """The running topology: where to call it, and every process by name."""

    entry_urls: tuple[str, ...]
    auth_token: str = field(repr=False)
    database_url: str
    redis: SentinelTopology = field(repr=False)
    pins_file: Path
    environment: dict[str, str] = field(repr=False)
    web: list[Member]
    balancers: list[Member]
    workers: list[Member]
    stats_urls: tuple[str, ...]
    ballot: str = "iowa2020-other"

    @property
    def base_url(self) -> str:
        """The Voice URL's entry point (PUBLIC_BASE_URL)."""
        return self.entry_urls[0]

    @property
    def fallback_base_url(self) -> str:
        """The fallback URL's entry point (PUBLIC_FALLBACK_BASE_URL): the second one (the
        first when there is only one)."""
        return self.entry_urls[1] if len(self.entry_urls) > 1 else self.entry_urls[0]

    def members(self) -> list[Member]:
        return [*self.web, *self.balancers, *self.workers]

    def member(self, name: str) -> Member:
        return next(member for member in self.members() if member.name == name)

    @property
    def pids(self) -> dict[str, int]:
        """Every running process by name: web0.., haproxy0.., worker0.., redis-primary,
        redis-replica0.., sentinel0.."""
        pids = {m.name: m.pid for m in self.members() if m.pid is not None}
        redis = self.redis
        if redis.primary.process is not None:
            pids["redis-primary"] = redis.primary.process.pid
        for index, replica in enumerate(redis.replicas):
            if replica.process is not None:
                pids[f"redis-replica{index}"] = replica.process.pid
        for index, sentinel in enumerate(redis.sentinel_processes):
            pids[f"sentinel{index}"] = sentinel.pid
        return pids

    def as_stack(self) -> Stack:
        """The first entry point as the `Stack` the flood's code takes (its redis_url is
        the first primary's: after a failover, ask the Sentinels)."""
        return Stack(
            self.base_url, self.auth_token, self.database_url, self.redis.primary.url,
            self.pins_file, self.environment, ballot=self.ballot, pids=self.pids,
        )  # fmt: skip

    def server_stats(self, entry: int = 0) -> dict[str, dict[str, str]]:
        """Entry point `entry`'s statistics of each web node, as HAProxy's CSV names them
        (e.g. "status", "stot" requests sent to it, "wretr" retries, "wredis" redispatches),
        and "BACKEND" for the pool as a whole."""
        url = f"{self.stats_urls[entry]};csv"
        with urllib.request.urlopen(url, timeout=2) as response:
            rows = stats_rows(response.read().decode())
        return {server: row for (proxy, server), row in rows.items() if proxy == BACKEND}

    def pool(self, entry: int = 0) -> dict[str, str]:
        """What entry point `entry` thinks of each web node: "UP", "DOWN", "UP 1/2", ..."""
        stats = self.server_stats(entry)
        return {
            name: row["status"]
            for name, row in stats.items()
            # The unchecked backups (haproxy_config) stand in only when every node is down.
            if name not in ("FRONTEND", "BACKEND") and row.get("bck") != "1"
        }

    def wait_for_pool(
        self, up: set[str], entry: int = 0, timeout: float = START_SECONDS
    ) -> dict[str, str]:
        """Wait until the nodes `up` are UP at entry point `entry` and the others out of its
        pool (DOWN); its pool."""
        deadline = time.monotonic() + timeout
        while True:
            pool = self.pool(entry)
            if all((status == "UP") == (name in up) for name, status in pool.items()) and all(
                status == "UP" or status.startswith("DOWN") for status in pool.values()
            ):
                return pool
            if time.monotonic() > deadline:
                raise RuntimeError(f"entry point {entry}'s pool is {pool}, not {sorted(up)} up")
            time.sleep(0.1)


@contextlib.contextmanager
def ha_stack(options: HaOptions, workdir: Path, logs: Path) -> Iterator[HaStack]:
    """Start the whole topology, load it, yield it, stop every process by its PID."""
    workdir.mkdir(mode=0o700, parents=True, exist_ok=True)
    logs.mkdir(parents=True, exist_ok=True)
    binary = haproxy_binary()
    with contextlib.ExitStack() as started:
        redis = SentinelTopology(
            workdir / "redis", replicas=options.replicas, sentinels=options.sentinels
        )
        started.callback(redis.stop)
        redis.start()
        database_url = options.database_url or started.enter_context(
            fresh_postgres_database("hotline_ha")
        )
        entry_ports = [free_port() for _ in range(options.entry_points)]
        entry_urls = tuple(f"http://127.0.0.1:{port}" for port in entry_ports)
        env = {
            **os.environ,
            **hotline_environment(options.stack, entry_urls[0], workdir),
            "DATABASE_URL": database_url,
            "REDIS_URL": redis.primary.url,
            "REDIS_SENTINELS": ",".join(f"{host}:{port}" for host, port in redis.sentinels),
            "REDIS_SENTINEL_MASTER": MASTER_NAME,
            "REDIS_MIN_REPLICAS_ACK": str(options.min_replicas_ack),
        }
        if len(entry_urls) > 1:
            env["PUBLIC_FALLBACK_BASE_URL"] = entry_urls[1]
        pins_file = workdir / "pins.csv"
        prepare_hotline(env, pins_file, options.stack.ballot, logs, live=options.stack.live)

        web = []
        for index in range(options.web_nodes):
            port = free_port()
            args = web_command(options.stack, port)
            web.append(Member(f"web{index}", args, env, logs / f"web{index}.log", port))
        workers = [
            Member(
                f"worker{index}", worker_command(options.stack), env, logs / f"worker{index}.log"
            )
            for index in range(options.stack.rq_workers)
        ]
        balancers, stats_urls = [], []
        nodes = [(node.name, node.port or 0) for node in web]
        for index, port in enumerate(entry_ports):
            name = f"haproxy{index}"
            stats_port = free_port()
            config = workdir / f"{name}.cfg"
            config.write_text(
                haproxy_config(name, port, stats_port, nodes, options.server_timeout_ms)
            )
            subprocess.run([binary, "-c", "-q", "-f", str(config)], check=True)
            args = [binary, "-db", "-f", str(config)]
            # HAProxy needs none of the hotline's settings (nor its secrets).
            balancers.append(Member(name, args, dict(os.environ), logs / f"{name}.log", port))
            stats_urls.append(f"http://127.0.0.1:{stats_port}{STATS_PATH}")

        # Every node boots at once; the balancers start once the nodes listen (else their
        # first checks fail and the nodes start out of the pool).
        for group in ([*web, *workers], balancers):
            for member in group:
                started.callback(member.stop)
                member.start(wait=False)
            for member in group:
                member.wait_until_listening()
        running = HaStack(
            entry_urls, env["TWILIO_AUTH_TOKEN"], database_url, redis, pins_file, env,
            web, balancers, workers, tuple(stats_urls), ballot=options.stack.ballot,
        )  # fmt: skip
        for entry in range(len(balancers)):
            running.wait_for_pool({node.name for node in web}, entry)
        yield running
