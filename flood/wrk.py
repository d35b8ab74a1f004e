"""Replaying prepared requests with wrk (a C load generator) and measuring what it cost.

`hotline capacity` signs every request ahead (Python, before the clock starts) and writes
them to files; wrk, pinned to a core of its own, replays them through `replay.lua` and
looks for one marker in each answer. Its own CPU time (from the kernel's accounting of
the finished process) shows whether it had headroom: a generator near 100 % of its core
measures itself, not the server.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

from flood.servers import pinned_to

RESULT_PREFIX = "REPLAY-RESULT "
GRACE_SECONDS = 30
"""How much longer than its duration wrk may run before it is stopped."""


class GeneratorMissing(RuntimeError):
    """wrk is not installed (scripts/bootstrap.sh installs Debian's package)."""


@dataclass(frozen=True)
class PreparedRequest:
    """One POST, signed ahead: the path with its query, the signature and the form body."""

    path: str
    signature: str
    body: str


@dataclass(frozen=True)
class Replay:
    """What one wrk run measured."""

    seconds: float
    requests: int
    matched: int
    """Answers that took the measured path (the marker was in the body)."""
    other: int
    exhausted: bool
    """A thread ran out of prepared requests before the end (the rate is then too low)."""
    errors: int
    p50_ms: float
    p99_ms: float
    generator_cpu: float
    """wrk's CPU time over the run's wall time: 1.0 is one core saturated."""
    sample: str
    """The first answer that did not match, for the report."""

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if not found:
        raise GeneratorMissing("no wrk: run scripts/bootstrap.sh (or apt-get install wrk)")
    return found


def write_request_files(requests: Sequence[PreparedRequest], prefix: Path, threads: int) -> None:
    """Deal `requests` round robin into `prefix`.0 .. `prefix`.(threads-1)."""
    for index in range(threads):
        lines = (_line(request) for request in requests[index::threads])
        prefix.with_name(f"{prefix.name}.{index}").write_text("".join(lines), encoding="ascii")


def _line(request: PreparedRequest) -> str:
    if "\t" in request.path or "\t" in request.body or "\n" in request.body:
        raise ValueError("a prepared request holds a tab or a newline")
    return f"{request.path}\t{request.signature}\t{request.body}\n"


def replay(
    base_url: str,
    prefix: Path,
    marker: str,
    *,
    seconds: float,
    threads: int,
    connections: int,
    cpus: Iterable[int] | None,
    repeat: bool = False,
) -> Replay:
    """Run wrk against `base_url` with the request files at `prefix`, pinned to `cpus`."""
    parts = urlsplit(base_url)
    target = f"{parts.scheme}://{parts.netloc}/"
    script = resources.files("flood").joinpath("replay.lua")
    with resources.as_file(script) as script_path:
        args = [
            wrk_binary(), "-t", str(threads), "-c", str(connections),
            "-d", f"{max(1, round(seconds))}s", "--timeout", "15s", "-s", str(script_path),
            target, "--", str(prefix), marker, "repeat" if repeat else "once",
        ]  # fmt: skip
        output, cpu_seconds, wall_seconds = _run_measured(args, cpus, seconds + GRACE_SECONDS)
    return _parse(output, cpu_seconds, wall_seconds)


def _run_measured(
    args: list[str], cpus: Iterable[int] | None, timeout: float
) -> tuple[str, float, float]:
    """Run `args` (on `cpus`); its output, CPU seconds (user + system) and wall seconds.

    The CPU time is the kernel's account of that one process and its threads, read when it
    is reaped (`wait4`), so nothing it did escapes it; it includes wrk building its requests
    at the start, which overstates its load a little, never understates it."""
    with tempfile.TemporaryFile() as out:
        started = time.monotonic()
        process = subprocess.Popen(
            args,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=pinned_to(tuple(cpus) if cpus is not None else None),
        )
        timer = threading.Timer(timeout, process.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            timer.cancel()
        process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - started
        out.seek(0)
        output = out.read().decode(errors="replace")
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed ({process.returncode}):\n{output[-2000:]}")
    return output, usage.ru_utime + usage.ru_stime, wall


def _parse(output: str, cpu_seconds: float, wall_seconds: float) -> Replay:
    line = next((row for row in output.splitlines() if row.startswith(RESULT_PREFIX)), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{output[-2000:]}")
    data = json.loads(line.removeprefix(RESULT_PREFIX))
    errors = sum(int(value) for value in data["errors"].values())
    seconds = data["duration_us"] / 1e6
    return Replay(
        seconds=seconds,
        requests=int(data["requests"]),
        matched=int(data["matched"]),
        other=int(data["other"]),
        exhausted=int(data["exhausted_threads"]) > 0,
        errors=errors,
        p50_ms=data["latency_us"]["p50"] / 1000,
        p99_ms=data["latency_us"]["p99"] / 1000,
        generator_cpu=cpu_seconds / wall_seconds if wall_seconds else 0.0,
        sample=str(data["sample"]).strip(),
    )
