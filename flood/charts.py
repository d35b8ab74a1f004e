"""The flood report's PNG charts (matplotlib, no display needed).

Each function draws one chart from the report's JSON data and returns the file name, so
the charts can be redrawn from a saved report.json.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display on a load-test machine

import matplotlib.pyplot as plt  # after use("Agg"), which must come first
from matplotlib.axes import Axes
from matplotlib.figure import Figure

SCREENING_ORDER = ("admitted", "held", "busy", "rejected")


def draw_all(data: dict[str, Any], out: Path) -> list[str]:
    """Every chart the report has data for; returns their file names (in `out`)."""
    drawn = [
        calls_per_second(data, out),
        webhook_latency(data, out),
        chair_durations(data, out),
        screening(data, out),
    ]
    if data["hotline"]["samples"]:
        drawn += [ivr_and_hold(data, out), rq_queues(data, out)]
    return drawn


def _figure(title: str) -> tuple[Figure, Axes]:
    figure, axes = plt.subplots(figsize=(9, 4), layout="constrained")
    axes.set_title(title)
    axes.grid(True, alpha=0.3)
    return figure, axes


def _mark_faults(axes: Axes, data: dict[str, Any]) -> None:
    """The chaos flood's faults (flood.faults) as vertical lines where each struck."""
    origin = data["run"]["origin"]
    for fault in data.get("faults") or []:
        if fault["struck"]:
            at = fault["struck"] - origin
            axes.axvline(at, color="red", ls=":", lw=1)
            axes.annotate(
                fault["name"], (at, 1.0), xycoords=("data", "axes fraction"),
                rotation=90, va="top", ha="right", fontsize=7, color="red",
            )  # fmt: skip


def _save(figure: Figure, out: Path, name: str) -> str:
    figure.savefig(out / name, dpi=100)
    plt.close(figure)
    return name


def calls_per_second(data: dict[str, Any], out: Path) -> str:
    figure, axes = _figure("Calls placed per second")
    origin = data["run"]["origin"]
    chairs: Counter[int] = Counter()
    pranks: Counter[int] = Counter()
    for started, persona in data["calls"]["starts"]:
        # A chair's drill is a chair's call too.
        (chairs if persona in ("chair", "drill") else pranks)[int(started - origin)] += 1
    seconds = range(0, max([*chairs, *pranks, 0]) + 1)
    axes.bar(seconds, [pranks[s] for s in seconds], width=1.0, label="prank and robot calls")
    bottom = [pranks[s] for s in seconds]
    axes.bar(seconds, [chairs[s] for s in seconds], width=1.0, bottom=bottom, label="chair calls")
    axes.set_xlabel("seconds since the start")
    axes.set_ylabel("calls per second")
    axes.legend()
    _mark_faults(axes, data)
    return _save(figure, out, "calls_per_second.png")


def webhook_latency(data: dict[str, Any], out: Path) -> str:
    figure, axes = _figure("Webhook latency (Locust, last 10 s) and requests per second")
    origin = data["run"]["origin"]
    points = data["locust"]["timeline"]
    x = [p["at"] - origin for p in points]
    for key, label in (("p50_ms", "p50"), ("p95_ms", "p95"), ("p99_ms", "p99")):
        axes.plot(x, [p[key] for p in points], label=label)
    samples = data["hotline"]["samples"]
    if samples:
        # The hotline's own measure (inside the handler, its last 2,000 requests).
        x_own = [s["at"] - origin for s in samples]
        own = [s["latency_ms"].get("p99", 0) for s in samples]
        axes.plot(x_own, own, ls=":", color="black", label="p99 inside the hotline")
    axes.axhline(data["targets"]["webhook_p99_ms"]["target"], color="red", ls="--", lw=1)
    axes.set_xlabel("seconds since the start")
    axes.set_ylabel("milliseconds")
    rate = axes.twinx()
    rate.plot(x, [p["rps"] for p in points], color="grey", alpha=0.5, label="requests/s")
    rate.set_ylabel("requests per second")
    axes.legend(loc="upper left")
    rate.legend(loc="upper right")
    _mark_faults(axes, data)
    return _save(figure, out, "webhook_latency.png")


def ivr_and_hold(data: dict[str, Any], out: Path) -> str:
    figure, axes = _figure("Calls inside the IVR and callers in the hold queue")
    origin = data["run"]["origin"]
    samples = data["hotline"]["samples"]
    x = [s["at"] - origin for s in samples]
    axes.plot(x, [s["calls_in_ivr"] for s in samples], label="in the IVR")
    axes.plot(x, [s["hold_depth"] for s in samples], label="holding")
    axes.set_xlabel("seconds since the start")
    axes.set_ylabel("calls")
    axes.legend()
    _mark_faults(axes, data)
    return _save(figure, out, "ivr_and_hold.png")


def rq_queues(data: dict[str, Any], out: Path) -> str:
    figure, axes = _figure("rq queue depth (queued + running)")
    origin = data["run"]["origin"]
    samples = data["hotline"]["samples"]
    x = [s["at"] - origin for s in samples]
    for name in samples[0]["queued"]:
        depth = [s["queued"][name] + s["started"][name] for s in samples]
        axes.plot(x, depth, label=name)
    axes.set_xlabel("seconds since the start")
    axes.set_ylabel("jobs")
    axes.legend()
    _mark_faults(axes, data)
    return _save(figure, out, "rq_queues.png")


def chair_durations(data: dict[str, Any], out: Path) -> str:
    figure, axes = _figure("Chairs' time on the phone (virtual clock, all their calls)")
    minutes = [seconds / 60 for seconds in data["chair_durations"]["per_chair_seconds"]]
    if minutes:
        axes.hist(minutes, bins=40)
        median = data["chair_durations"]["median_seconds"] / 60
        axes.axvline(median, color="black", lw=1, label=f"median {median:.1f} min")
    axes.axvline(4.0, color="red", ls="--", lw=1, label="target 4 min")
    axes.set_xlabel("minutes")
    axes.set_ylabel("chairs")
    axes.legend()
    return _save(figure, out, "chair_durations.png")


def screening(data: dict[str, Any], out: Path) -> str:
    figure, axes = _figure("Screening outcomes by caller (as the callers heard them)")
    by_persona: dict[str, dict[str, int]] = data["calls"]["screening_by_persona"]
    personas = sorted(by_persona)
    left = [0] * len(personas)
    for outcome in SCREENING_ORDER:
        counts = [by_persona[p].get(outcome, 0) for p in personas]
        axes.barh(personas, counts, left=left, label=outcome)
        left = [a + b for a, b in zip(left, counts, strict=True)]
    axes.set_xlabel("calls")
    axes.legend()
    return _save(figure, out, "screening.png")
