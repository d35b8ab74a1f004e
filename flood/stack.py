"""`hotline flood --start-stack`: the whole hotline on loopback, loaded and ready to flood.

Starts what is not given: Redis (AOF, fsync every second, as production typically runs it)
and a fresh PostgreSQL database (on the local server, else a throwaway cluster); then runs
`hotline flood --prepare` against them and starts gunicorn (`hotline serve`) and rq workers
(`hotline worker`) as processes, exactly as they run in production. Everything it started
is stopped afterwards. Data (Redis's files, the pins file) stays in a private work folder;
the processes' logs go to `logs`.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from flood.servers import (
    RedisServer,
    free_port,
    fresh_postgres_database,
    pinned_to,
    wait_for_port,
)
from ivr.server import DEFAULT_SERVER

HOTLINE = str(Path(sys.executable).parent / "hotline")
STOP_SECONDS = 20


@dataclass(frozen=True)
class StackOptions:
    """How to start the stack; None means start our own."""

    database_url: str | None = None
    redis_url: str | None = None
    web_workers: int = 2
    threads: int = 8
    rq_workers: int = 2
    rq_nice: int = 0
    """Run the rq workers at this lower CPU priority (`nice`): on a machine shared with the
    web tier, webhooks (which callers wait on) then come before bookkeeping jobs."""
    ivr_capacity: int | None = None
    hold_max: int | None = None
    ballot: str = "iowa2020-other"
    server: str = DEFAULT_SERVER
    """The web tier's WSGI server (`hotline serve --server`)."""
    cpus: tuple[int, ...] | None = None
    """Pin Redis, the web tier and the workers to these CPUs (None: wherever the OS likes)."""


@dataclass(frozen=True)
class Stack:
    """A running hotline: where to call it and how to reach its data."""

    base_url: str
    auth_token: str = field(repr=False)
    database_url: str
    redis_url: str
    pins_file: Path
    environment: dict[str, str] = field(repr=False)
    """The hotline's environment, for anything else started against it."""
    ballot: str = "iowa2020-other"
    pids: dict[str, int] = field(default_factory=dict)
    """The processes started: "redis", "web", "worker0", ... (those given are not ours)."""


def hotline_environment(options: StackOptions, base_url: str, workdir: Path) -> dict[str, str]:
    """Production settings with fresh random secrets (they are never printed)."""
    env = {
        "HOTLINE_PROFILE": "production",
        "PUBLIC_BASE_URL": base_url,
        "TWILIO_AUTH_TOKEN": secrets.token_hex(16),
        "SECRET_KEY": secrets.token_hex(16),
        "PIN_KEY": secrets.token_hex(16),
        "HOTLINE_BALLOT": options.ballot,
        "HOTLINE_INSTANCE_DIR": str(workdir / "instance"),
    }
    if options.ivr_capacity is not None:
        env["HOTLINE_IVR_CAPACITY"] = str(options.ivr_capacity)
    if options.hold_max is not None:
        env["HOTLINE_HOLD_MAX"] = str(options.hold_max)
    return env


@contextlib.contextmanager
def local_stack(options: StackOptions, workdir: Path, logs: Path) -> Iterator[Stack]:
    """Start (what is missing of) the stack, load it, yield it, stop what we started."""
    workdir.mkdir(mode=0o700, parents=True, exist_ok=True)
    logs.mkdir(parents=True, exist_ok=True)
    pids: dict[str, int] = {}
    with contextlib.ExitStack() as started:
        redis_url = options.redis_url or _start_redis(started, workdir, options.cpus, pids)
        database_url = options.database_url or started.enter_context(
            fresh_postgres_database("hotline_flood")
        )
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            **hotline_environment(options, base_url, workdir),
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
        }
        pins_file = workdir / "pins.csv"
        prepare = [HOTLINE, "flood", "--prepare", "--pins-out", str(pins_file)]
        with (logs / "prepare.log").open("w") as out:
            subprocess.run(
                [*prepare, "--ballot", options.ballot], env=env, stdout=out, stderr=out, check=True
            )
        web = [
            HOTLINE, "serve", "--bind", f"127.0.0.1:{port}",
            "--workers", str(options.web_workers), "--threads", str(options.threads),
            "--server", options.server,
        ]  # fmt: skip
        pids["web"] = started.enter_context(_process(web, env, logs / "web.log", options.cpus))
        worker = [HOTLINE, "worker"]
        if options.rq_nice:
            worker = ["nice", "-n", str(options.rq_nice), *worker]
        for index in range(options.rq_workers):
            log_file = logs / f"worker{index}.log"
            pids[f"worker{index}"] = started.enter_context(
                _process(worker, env, log_file, options.cpus)
            )
        wait_for_port(port, timeout=60)
        yield Stack(
            base_url, env["TWILIO_AUTH_TOKEN"], database_url, redis_url, pins_file, env,
            ballot=options.ballot, pids=pids,
        )  # fmt: skip


def _start_redis(
    started: contextlib.ExitStack, workdir: Path, cpus: tuple[int, ...] | None, pids: dict[str, int]
) -> str:
    directory = workdir / "redis"
    directory.mkdir(exist_ok=True)
    server = RedisServer(directory, appendfsync="everysec", cpus=cpus)
    server.start()
    started.callback(server.stop)
    if server.process is not None:
        pids["redis"] = server.process.pid
    return server.url


@contextlib.contextmanager
def _process(
    args: list[str], env: dict[str, str], log_file: Path, cpus: tuple[int, ...] | None = None
) -> Iterator[int]:
    """A child process with its output in `log_file` (on `cpus`, with every process it
    starts); yields its PID; terminated (then killed) afterwards."""
    with log_file.open("w") as out:
        process = subprocess.Popen(
            args, env=env, stdout=out, stderr=subprocess.STDOUT, preexec_fn=pinned_to(cpus)
        )
        try:
            yield process.pid
        finally:
            _stop(process, out)


def _stop(process: subprocess.Popen[bytes], out: IO[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        out.write(f"not stopped after {STOP_SECONDS} s: killed\n")
        process.kill()
        process.wait()
