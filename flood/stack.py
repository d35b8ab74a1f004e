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

from flood.servers import (
    RedisServer,
    free_port,
    fresh_postgres_database,
    pinned_to,
    wait_for_port,
    wait_until_replicated,
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
    twilio_api_base_url: str | None = None
    """The Twilio REST stand-in the hotline places its calls through (flood.callbacks), or
    None for a hotline that places none. Production refuses a stand-in, so the hotline
    then runs in the test profile, which differs only in the defaults it allows."""
    redis_replicas: int = 0
    """Replicas of our Redis (not of a given REDIS_URL), for REDIS_MIN_REPLICAS_ACK."""
    min_replicas_ack: int = 0
    """REDIS_MIN_REPLICAS_ACK: a receipt only once this many replicas have the report."""
    live: bool = False
    """Switch the prepared hotline live (`hotline mode live`), as on the night: a new
    database starts in rehearsal, where the hotline dials only staff phones."""


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
    if options.min_replicas_ack:
        env["REDIS_MIN_REPLICAS_ACK"] = str(options.min_replicas_ack)
    if options.twilio_api_base_url:
        env["HOTLINE_PROFILE"] = "test"
        env["TWILIO_API_BASE_URL"] = options.twilio_api_base_url
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
        redis_url = options.redis_url or _start_redis(started, workdir, options, pids)
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
        prepare_hotline(env, pins_file, options.ballot, logs, live=options.live)
        web = web_command(options, port)
        pids["web"] = started.enter_context(child_process(web, env, logs / "web.log", options.cpus))
        worker = worker_command(options)
        for index in range(options.rq_workers):
            log_file = logs / f"worker{index}.log"
            pids[f"worker{index}"] = started.enter_context(
                child_process(worker, env, log_file, options.cpus)
            )
        wait_for_port(port, timeout=60)
        yield Stack(
            base_url, env["TWILIO_AUTH_TOKEN"], database_url, redis_url, pins_file, env,
            ballot=options.ballot, pids=pids,
        )  # fmt: skip


def _start_redis(
    started: contextlib.ExitStack, workdir: Path, options: StackOptions, pids: dict[str, int]
) -> str:
    """Our Redis (AOF, fsync every second) and its `options.redis_replicas` replicas, in
    sync before the hotline starts; stopped afterwards."""
    directory = workdir / "redis"
    directory.mkdir(exist_ok=True)
    server = RedisServer(directory, appendfsync="everysec", cpus=options.cpus)
    server.start()
    started.callback(server.stop)
    if server.process is not None:
        pids["redis"] = server.process.pid
    for index in range(options.redis_replicas):
        replica_directory = workdir / f"redis-replica{index}"
        replica_directory.mkdir(exist_ok=True)
        replica = RedisServer(
            replica_directory,
            appendonly=False,
            cpus=options.cpus,
            extra_args=("--replicaof", "127.0.0.1", str(server.port)),
        )
        replica.start()
        started.callback(replica.stop)
        if replica.process is not None:
            pids[f"redis-replica{index}"] = replica.process.pid
    wait_until_replicated(server.port, options.redis_replicas)
    return server.url


def prepare_hotline(
    env: dict[str, str], pins_file: Path, ballot: str, logs: Path, *, live: bool = False
) -> None:
    """`hotline flood --prepare` against the hotline `env` names (output in prepare.log);
    with `live`, then `hotline mode live`."""
    prepare = [HOTLINE, "flood", "--prepare", "--pins-out", str(pins_file), "--ballot", ballot]
    with (logs / "prepare.log").open("w") as out:
        subprocess.run(prepare, env=env, stdout=out, stderr=out, check=True)
        if live:
            switch = [HOTLINE, "mode", "live", "--by", "flood"]
            subprocess.run(switch, env=env, stdout=out, stderr=out, check=True)


def web_command(options: StackOptions, port: int) -> list[str]:
    """`hotline serve` on 127.0.0.1:`port`, as `options` size it."""
    return [
        HOTLINE, "serve", "--bind", f"127.0.0.1:{port}",
        "--workers", str(options.web_workers), "--threads", str(options.threads),
        "--server", options.server,
    ]  # fmt: skip


def worker_command(options: StackOptions) -> list[str]:
    """`hotline worker`, at `options.rq_nice` if set."""
    worker = [HOTLINE, "worker"]
    if options.rq_nice:
        worker = ["nice", "-n", str(options.rq_nice), *worker]
    return worker


def spawn(
    args: list[str],
    env: dict[str, str],
    log_file: Path,
    cpus: tuple[int, ...] | None = None,
    *,
    append: bool = False,
    own_group: bool = False,
) -> subprocess.Popen[bytes]:
    """A child process with its output in `log_file` (appended to with `append`, for a
    process started again), on `cpus` with every process it starts; with `own_group`, in a
    process group of its own (its PGID is its PID), so that it and every process it starts
    (gunicorn's workers, rq's work horse) can be killed at once, as a lost machine is."""
    with log_file.open("a" if append else "w") as out:
        # The child has its own copy of the file descriptor: ours may close.
        return subprocess.Popen(
            args,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=pinned_to(cpus),
            process_group=0 if own_group else None,
        )


@contextlib.contextmanager
def child_process(
    args: list[str], env: dict[str, str], log_file: Path, cpus: tuple[int, ...] | None = None
) -> Iterator[int]:
    """A child process (`spawn`); yields its PID; terminated (then killed) afterwards."""
    process = spawn(args, env, log_file, cpus)
    try:
        yield process.pid
    finally:
        stop_process(process, log_file)


def stop_process(process: subprocess.Popen[bytes], log_file: Path | None = None) -> None:
    """SIGTERM, then SIGKILL after STOP_SECONDS (noted in `log_file`); by its PID."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        if log_file is not None:
            with log_file.open("a") as out:
                out.write(f"not stopped after {STOP_SECONDS} s: killed\n")
        process.kill()
        process.wait()
