"""The overview's chart of the last hour: queue depth and calls, as SVG polyline points.

Pure geometry from `queues.counters.history` samples; the template draws the SVG and the
overview's script swaps in fresh points, so the chart works without JavaScript too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

WIDTH = 720
HEIGHT = 220
LEFT = 48
"""Room for the y-axis labels."""
RIGHT = 12
TOP = 12
BOTTOM = 28
"""Room for the x-axis labels."""
MINUTES = 60

SERIES = (
    ("calls", "Calls in the IVR"),
    ("hold", "Callers on hold"),
    ("queued", "Jobs queued"),
)
"""(sample key, legend) of each line, in drawing order."""


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    y_max: int
    y_ticks: list[tuple[float, str]]
    x_ticks: list[tuple[float, str]]
    lines: dict[str, str]
    latest: dict[str, int]
    # Where each line ends, marked with a dot so a single sample still shows.
    ends: dict[str, tuple[float, float] | None]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def nice_ceiling(value: int) -> int:
    """The smallest of 5, 10, 20, 50, 100, ... that is at least `value` (an idle chart
    still gets a scale)."""
    ceiling = 1
    while True:
        for step in (1, 2, 5):
            if ceiling * step >= max(value, 4):
                return ceiling * step
        ceiling *= 10


def build_chart(samples: Sequence[tuple[int, dict[str, int]]], now_minute: int) -> Chart:
    """Lay out the last hour of (minute, sample) pairs; older samples are left out."""
    start = now_minute - MINUTES
    recent = [(minute, sample) for minute, sample in samples if start <= minute <= now_minute]
    y_max = nice_ceiling(max((v for _, s in recent for v in s.values()), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(minute: int) -> float:
        return round(LEFT + (minute - start) / MINUTES * plot_w, 1)

    def y(value: float) -> float:
        return round(TOP + plot_h - value / y_max * plot_h, 1)

    lines = {
        key: " ".join(f"{x(minute)},{y(sample.get(key, 0))}" for minute, sample in recent)
        for key, _ in SERIES
    }
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        y_max=y_max,
        y_ticks=[(y(value), _label(value)) for value in (0, y_max / 2, y_max)],
        x_ticks=[(x(start + m), _ago(MINUTES - m)) for m in (0, 15, 30, 45, 60)],
        lines=lines,
        latest={key: recent[-1][1].get(key, 0) if recent else 0 for key, _ in SERIES},
        ends={
            key: (x(recent[-1][0]), y(recent[-1][1].get(key, 0))) if recent else None
            for key, _ in SERIES
        },
    )


def _label(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _ago(minutes: int) -> str:
    return f"{minutes} min ago" if minutes else "now"
