"""The whole stack as it runs in production: gunicorn and rq workers as processes."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from redis import Redis

from ivr.metrics import queue_depths
from tests.conftest import AUTH_TOKEN
from tests.support.services import _wait_for_port, free_port

HOTLINE = str(Path(sys.executable).parent / "hotline")


def children(parent: int) -> list[int]:
    """The processes whose parent is `parent` (from /proc): a worker's rq scheduler and work
    horse, which a test that kills the worker must kill too."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            found.append(int(stat.parent.name))
    return found


def stack_environment(
    database_url: str, redis_url: str, base_url: str, env: dict[str, str] | None = None
) -> dict[str, str]:
    """The environment of the stack's processes (the test profile, the test's secrets)."""
    return {
        **os.environ,
        "HOTLINE_PROFILE": "test",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "PUBLIC_BASE_URL": base_url,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "PIN_KEY": "test-pin-key",
        **(env or {}),
    }


@contextlib.contextmanager
def live_stack(
    database_url: str,
    redis_url: str,
    *,
    rq_workers: int = 2,
    web_workers: int = 2,
    threads: int = 16,
    env: dict[str, str] | None = None,
    logs: Path | None = None,
) -> Iterator[str]:
    """Start web and workers on loopback; yields the base URL; stops them afterwards.

    With `logs`, the processes' output goes to web.log and worker-N.log there (else nowhere).
    """
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    environment = stack_environment(database_url, redis_url, base_url, env)
    quiet: dict[str, Any] = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    web = [
        HOTLINE,
        "serve",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(web_workers),
        "--threads",
        str(threads),
    ]

    def output(name: str) -> dict[str, Any]:
        if logs is None:
            return quiet
        logs.mkdir(parents=True, exist_ok=True)
        handle = (logs / f"{name}.log").open("ab")
        files.append(handle)
        return {"stdout": handle, "stderr": subprocess.STDOUT}

    files: list[BinaryIO] = []
    processes = [subprocess.Popen(web, env=environment, **output("web"))]
    processes += [
        subprocess.Popen([HOTLINE, "worker"], env=environment, **output(f"worker-{index}"))
        for index in range(rq_workers)
    ]
    try:
        _wait_for_port(port, timeout=30)
        yield base_url
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        for handle in files:
            handle.close()


def wait_until_drained(redis: Redis, timeout: float = 300.0) -> None:
    """Wait until the workers have emptied every queue."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        depths = queue_depths(redis).values()
        if all(depth.queued == 0 and depth.started == 0 for depth in depths):
            return
        time.sleep(0.5)
    raise AssertionError(f"the queues were not drained after {timeout} s")
