"""What the load-test machine was and was doing: benchmark figures mean little without it."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import Any


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def busiest_processes(count: int = 6) -> list[str]:
    """The processes using most CPU, by command name only (arguments may hold secrets)."""
    try:
        listing = subprocess.run(
            ["ps", "-eo", "pcpu=,comm=", "--sort=-pcpu"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [" ".join(line.split()) for line in listing.splitlines()[:count]]


def machine_facts() -> dict[str, Any]:
    """Cores, CPU, memory, load and the busiest processes, as of now."""
    memory_kb = 0
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        first = meminfo.read_text().splitlines()[0]
        memory_kb = int(first.split()[1])
    return {
        "cores": os.cpu_count(),
        "cpu": cpu_model(),
        "memory_gib": round(memory_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "load_average": load_average(),
        "busiest_processes": busiest_processes(),
    }
