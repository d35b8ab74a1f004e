"""The settings of a flood run, as plain data (importing them does not import Locust)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flood.scenarios import ScenarioSpec


@dataclass(frozen=True)
class SwarmOptions:
    """How Locust runs: lines (users), web UI, distribution, console output."""

    lines: int = 3000
    spawn_rate: float = 1000.0
    web_ui: bool = False
    web_host: str = "127.0.0.1"
    web_port: int = 8089
    expect_workers: int = 0
    """More than 0: run as the master of that many workers."""
    master_bind_host: str = "127.0.0.1"
    master_bind_port: int = 5557
    progress_seconds: float = 5.0
    stats_seconds: float = 60.0


@dataclass(frozen=True)
class FloodOptions:
    """One run: the scenario, Locust's settings, where the report goes, its bounds."""

    spec: ScenarioSpec
    swarm: SwarmOptions
    out: Path
    command: str
    """The command line that started the run, for the report (it never holds a secret)."""
    max_seconds: float
    baseline_seconds: float = 20.0
    baseline_lines: int = 32


def max_seconds_for(spec: ScenarioSpec) -> float:
    """The run's bound: arrivals, plus the longest calls at this time scale, plus slack."""
    return spec.duration + 60 + 3600 * spec.time_scale
