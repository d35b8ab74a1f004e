"""The flood report: what held and what did not, as report.json, report.md and PNG charts.

`build` turns a run's facts into one JSON-ready dict (the evidence, and the source of the
charts); `markdown` renders it for people. Targets are the README's: every chair correct,
no prank report committed, no chair blocked, webhook p99 under 250 ms, no error answers,
throughput at least half a bare Flask endpoint's, median chair call under four minutes;
and for a rehearsal, what the readiness board and the switch to live must show
(flood.rehearsal).
"""

from __future__ import annotations

import dataclasses
import json
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from locust.stats import StatsEntry

from flood.baseline import Throughput, percentile
from flood.calls import CHAIR, DRILL, CallSummary
from flood.charts import draw_all
from flood.correctness import NO_REPORT_STORED, Correctness
from flood.metrics_sampler import Sample
from flood.rehearsal import Rehearsal
from flood.scenarios import ScenarioSpec
from flood.swarm import SwarmResult

WEBHOOK_P99_TARGET_MS = 250.0
THROUGHPUT_RATIO_TARGET = 0.5
MEDIAN_CHAIR_MINUTES_TARGET = 4.0


@dataclass
class RunFacts:
    """Everything a run measured, gathered by the command for the report."""

    command: str
    scenario: ScenarioSpec
    target: dict[str, Any]
    machine_before: dict[str, Any]
    machine_after: dict[str, Any]
    plan: dict[str, int]
    swarm: SwarmResult
    samples: list[Sample] = field(default_factory=list)
    hotline_counters: dict[str, dict[str, int]] = field(default_factory=dict)
    drain_seconds: float | None = None
    correctness: Correctness | None = None
    throughput: dict[str, Throughput] = field(default_factory=dict)
    rehearsal: Rehearsal | None = None
    faults: list[dict[str, Any]] = field(default_factory=list)
    """The chaos flood's faults (flood.faults), each with what chairs met."""
    notes: list[str] = field(default_factory=list)


def write_report(facts: RunFacts, out: Path) -> dict[str, Any]:
    """Write report.json, the charts and report.md into `out`; return the data."""
    out.mkdir(parents=True, exist_ok=True)
    data = build(facts)
    data["charts"] = draw_all(data, out)
    (out / "report.json").write_text(json.dumps(data, indent=1) + "\n")
    (out / "report.md").write_text(markdown(data))
    return data


def build(facts: RunFacts) -> dict[str, Any]:
    swarm = facts.swarm
    calls = swarm.log.calls
    seconds = max(swarm.ended_at - swarm.started_at, 1e-9)
    data: dict[str, Any] = {
        "command": facts.command,
        "scenario": facts.scenario.as_dict(),
        "target": facts.target,
        "machine": {"before": facts.machine_before, "after": facts.machine_after},
        "plan": facts.plan,
        "run": {
            "origin": swarm.started_at,
            "ended": swarm.ended_at,
            "seconds": round(seconds, 1),
            "stopped_at_deadline": swarm.stopped_at_deadline,
            "load_generators": swarm.workers,
            "start_lag_seconds": _spread(swarm.log.lags),
            "generator_errors": dict(swarm.log.errors),
        },
        "locust": {
            "total": _entry(swarm.stats.total, seconds),
            "by_step": [_entry(e, seconds) for _, e in sorted(swarm.stats.entries.items())],
            "errors": [
                {"name": e.name, "error": str(e.error), "occurrences": e.occurrences}
                for e in swarm.stats.errors.values()
            ],
            "timeline": [dataclasses.asdict(point) for point in swarm.timeline],
        },
        "calls": _calls(calls),
        "chair_durations": _chair_durations(calls),
        "hotline": {
            "samples": [dataclasses.asdict(sample) for sample in facts.samples],
            "peaks": _peaks(facts.samples),
            "counters": facts.hotline_counters,
            "drain_seconds": None if facts.drain_seconds is None else round(facts.drain_seconds, 1),
        },
        "correctness": facts.correctness.to_dict() if facts.correctness else None,
        "throughput": {name: t.to_dict() for name, t in facts.throughput.items()},
        "rehearsal": facts.rehearsal.to_dict() if facts.rehearsal else None,
        "faults": facts.faults,
        "notes": [*swarm.notes, *facts.notes],
    }
    if facts.correctness is not None:
        # How each chair never given a receipt ended their last call, for the report.
        unreceipted = set(facts.correctness.chairs_without_receipt)
        data["chairs_without_receipt_ended"] = {
            call.precinct_id: f"{call.outcome}: {call.last_heard}"
            for call in sorted(calls, key=lambda call: call.started)
            if call.persona == "chair" and call.precinct_id in unreceipted
        }
    data["targets"] = _targets(data, facts)
    return data


def _entry(entry: StatsEntry, seconds: float) -> dict[str, Any]:
    return {
        "name": entry.name,
        "requests": entry.num_requests,
        "failures": entry.num_failures,
        "per_second": round(entry.num_requests / seconds, 1),
        "p50_ms": entry.get_response_time_percentile(0.50) or 0,
        "p95_ms": entry.get_response_time_percentile(0.95) or 0,
        "p99_ms": entry.get_response_time_percentile(0.99) or 0,
        "max_ms": round(entry.max_response_time or 0, 1),
        "avg_ms": round(entry.avg_response_time, 1),
    }


def _spread(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(percentile(values, 0.50), 3),
        "p99": round(percentile(values, 0.99), 3),
        "max": round(max(values, default=0.0), 3),
    }


def _calls(calls: list[CallSummary]) -> dict[str, Any]:
    by_persona: dict[str, Counter[str]] = defaultdict(Counter)
    screening: dict[str, Counter[str]] = defaultdict(Counter)
    for call in calls:
        by_persona[call.persona][call.outcome] += 1
        screening[call.persona][call.screening] += 1
    return {
        "total": len(calls),
        "chair_calls": sum(1 for c in calls if c.persona == CHAIR),
        "drill_calls": sum(1 for c in calls if c.persona == DRILL),
        "prank_calls": sum(1 for c in calls if c.persona not in (CHAIR, DRILL)),
        "outcomes_by_persona": {p: dict(c) for p, c in sorted(by_persona.items())},
        "screening_by_persona": {p: dict(c) for p, c in sorted(screening.items())},
        "error_answers": sum(c.error_answers for c in calls),
        "application_errors": sum(c.application_errors for c in calls),
        "retries": sum(c.retries for c in calls),
        "requests": sum(c.requests for c in calls),
        "starts": [
            [round(c.started, 2), c.persona] for c in sorted(calls, key=lambda c: c.started)
        ],
    }


def _chair_durations(calls: list[CallSummary]) -> dict[str, Any]:
    per_chair: dict[str, float] = defaultdict(float)
    per_call = []
    for call in calls:
        if call.persona == "chair":
            per_chair[call.precinct_id] += call.virtual_seconds
            per_call.append(call.virtual_seconds)
    totals = sorted(per_chair.values())
    return {
        "per_chair_seconds": [round(s, 1) for s in totals],
        "median_seconds": round(statistics.median(totals), 1) if totals else 0.0,
        "p90_seconds": round(percentile(totals, 0.90), 1),
        "max_seconds": round(max(totals, default=0.0), 1),
        "per_call_median_seconds": round(statistics.median(per_call), 1) if per_call else 0.0,
    }


def _peaks(samples: list[Sample]) -> dict[str, float]:
    if not samples:
        return {}
    return {
        "hotline_p99_ms": max(s.latency_ms.get("p99", 0.0) for s in samples),
        "calls_in_ivr": max(s.calls_in_ivr for s in samples),
        "hold_depth": max(s.hold_depth for s in samples),
        "hold_longest_wait_seconds": max(s.hold_longest_wait_seconds for s in samples),
        "rq_pending": max(sum(s.queued.values()) + sum(s.started.values()) for s in samples),
        "rq_failed": max(sum(s.failed.values()) for s in samples),
    }


def _targets(data: dict[str, Any], facts: RunFacts) -> dict[str, dict[str, Any]]:
    total = data["locust"]["total"]
    errors = total["failures"] + data["calls"]["application_errors"]
    targets: dict[str, dict[str, Any]] = {
        "webhook_p99_ms": _target("webhook p99 (ms)", total["p99_ms"], WEBHOOK_P99_TARGET_MS, "<"),
        "error_answers": _target("error answers (non-200, no answer, bad TwiML)", errors, 0, "=="),
    }
    correctness = facts.correctness
    if correctness is not None:
        targets["chairs_correct"] = _target(
            "chairs correct (committed exactly, flagged where the worksheet is inconsistent, "
            "or unverified exactly where the call was not attested)",
            correctness.chairs_correct,
            correctness.chairs,
            "==",
        )
        targets["prank_reports_not_held"] = _target(
            "prank reports not held (committed, flagged, ...)",
            correctness.prank_reports_not_held,
            0,
            "==",
        )
        targets["chairs_wrongly_blocked"] = _target(
            "chairs wrongly blocked", len(correctness.chairs_wrongly_blocked), 0, "=="
        )
    if "hotline" in facts.throughput and "bare" in facts.throughput:
        bare = facts.throughput["bare"].per_second
        ratio = facts.throughput["hotline"].per_second / bare if bare else 0.0
        targets["throughput_ratio"] = _target(
            "webhook throughput / bare Flask Gather endpoint", round(ratio, 2),
            THROUGHPUT_RATIO_TARGET, ">=",
        )  # fmt: skip
    if facts.scenario.human_think:
        minutes = round(data["chair_durations"]["median_seconds"] / 60, 2)
        targets["median_chair_minutes"] = _target(
            f"median chair time on the phone, realistic model ({facts.plan['groups']} groups, min)",
            minutes,
            MEDIAN_CHAIR_MINUTES_TARGET,
            "<",
        )
    if facts.rehearsal is not None:
        for key, (label, value, goal) in facts.rehearsal.checks().items():
            targets[key] = _target(label, value, goal, "==")
    return targets


def _target(label: str, value: float, target: float, relation: str) -> dict[str, Any]:
    met = {
        "<": value < target,
        ">=": value >= target,
        "==": value == target,
    }[relation]
    return {"label": label, "value": value, "target": target, "relation": relation, "met": met}


def markdown(data: dict[str, Any]) -> str:
    """The report for people: targets first, then the evidence."""
    lines = [f"# Flood report: {data['scenario']['name']}", ""]
    lines += _section_targets(data)
    lines += _section_run(data)
    lines += _section_latency(data)
    lines += _section_calls(data)
    lines += _section_hotline(data)
    lines += _section_faults(data)
    lines += _section_correctness(data)
    lines += _section_throughput(data)
    lines += _section_rehearsal(data)
    lines += ["## Charts", ""]
    lines += [f"![{name}]({name})" for name in data.get("charts", [])]
    if data["notes"]:
        lines += ["", "## Notes", "", *(f"- {note}" for note in data["notes"])]
    return "\n".join(lines) + "\n"


def _section_faults(data: dict[str, Any]) -> list[str]:
    """The chaos flood's faults: when each struck, how long until the hotline had recovered,
    and the chair calls in flight meanwhile (flood.faults), marked on the time charts."""
    faults = data.get("faults") or []
    if not faults:
        return []
    origin = data["run"]["origin"]
    lines = [
        "## Faults (chaos)",
        "",
        "| fault | struck at | recovered after | recovery seen as | chair calls in flight | "
        "felt it (chairs) | what they heard or met |",
        "|---|---|---|---|---|---|---|",
    ]
    for fault in faults:
        struck = f"{fault['struck'] - origin:.0f} s" if fault["struck"] else "not struck"
        recovered = (
            f"{fault['recovery_seconds']:.1f} s" if fault["recovery_seconds"] >= 0 else "never"
        )
        heard = "; ".join(f"{kind}: {n}" for kind, n in sorted(fault["heard"].items()))
        lines.append(
            f"| {fault['name']}: {fault['what']} | {struck} | {recovered} | "
            f"{fault['recovery']} | {fault['chair_calls_in_window']} | "
            f"{fault['chair_calls_affected']} ({fault['chairs_affected']}) | {heard or 'nothing'} |"
        )
    return [*lines, ""]


def _section_targets(data: dict[str, Any]) -> list[str]:
    lines = ["## Targets", "", "| target | measured | goal | met |", "|---|---|---|---|"]
    for target in data["targets"].values():
        goal = f"{target['relation']} {target['target']}"
        met = "yes" if target["met"] else "**NO**"
        lines.append(f"| {target['label']} | {target['value']} | {goal} | {met} |")
    return [*lines, ""]


def _section_run(data: dict[str, Any]) -> list[str]:
    scenario, run, plan = data["scenario"], data["run"], data["plan"]
    before, after = data["machine"]["before"], data["machine"]["after"]
    lag = run["start_lag_seconds"]
    return [
        "## Run",
        "",
        f"- Command: `{data['command']}`",
        f"- Target: {data['target'].get('description', data['target'].get('base_url'))}",
        f"- Scenario: {plan['chairs']:,} chairs ({scenario['ballot']}, {plan['groups']} groups"
        + (f"; {plan['drills']:,} drill first" if plan.get("drills") else "")
        + "), "
        f"{plan['prank_calls']:,} prank and robot calls planned ({plan['pranks']:,} personas), "
        f"arrivals `{scenario['profile']}` over {scenario['duration']:g} s, "
        f"time scale {scenario['time_scale']:g}, typo rate {scenario['typo_rate']:g}, "
        f"drop rate {scenario['drop_rate']:g}, seed {scenario['seed']}",
        f"- Ran {run['seconds']:,} s with {run['load_generators']} load generator(s); "
        f"calls started late by p50 {lag['p50']} s, p99 {lag['p99']} s, max {lag['max']} s"
        + ("; **stopped at the deadline**" if run["stopped_at_deadline"] else ""),
        f"- Machine: {before['cores']} cores ({before['cpu']}), {before['memory_gib']} GiB; "
        f"load average before {before['load_average']}, after {after['load_average']}",
        f"- Busiest processes before the run: {', '.join(before['busiest_processes'])}",
        *(
            [f"- Load-generator errors: {run['generator_errors']}"]
            if run["generator_errors"]
            else []
        ),
        "",
    ]


def _section_latency(data: dict[str, Any]) -> list[str]:
    lines = [
        "## Webhook latency by step (Locust)",
        "",
        "| step | requests | failures | req/s | p50 ms | p95 ms | p99 ms | max ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for entry in [*data["locust"]["by_step"], data["locust"]["total"]]:
        lines.append(
            f"| {entry['name']} | {entry['requests']:,} | {entry['failures']:,} | "
            f"{entry['per_second']} | {entry['p50_ms']} | {entry['p95_ms']} | "
            f"{entry['p99_ms']} | {entry['max_ms']} |"
        )
    for error in data["locust"]["errors"]:
        lines.append(f"- {error['name']}: {error['error']} x{error['occurrences']}")
    return [*lines, ""]


def _section_calls(data: dict[str, Any]) -> list[str]:
    calls, durations = data["calls"], data["chair_durations"]
    lines = [
        "## Calls and screening (as the callers heard it)",
        "",
        f"{calls['total']:,} calls ({calls['chair_calls']:,} by chairs, "
        f"{calls.get('drill_calls', 0):,} drills, "
        f"{calls['prank_calls']:,} prank and robot calls), {calls['requests']:,} requests, "
        f"{calls['error_answers']} error answers, "
        f"{calls['application_errors']} application errors, "
        f"{calls.get('retries', 0)} retried requests.",
        "",
        "| caller | admitted | held | busy | rejected |",
        "|---|---|---|---|---|",
    ]
    for persona, counts in calls["screening_by_persona"].items():
        row = " | ".join(str(counts.get(k, 0)) for k in ("admitted", "held", "busy", "rejected"))
        lines.append(f"| {persona} | {row} |")
    lines += [
        "",
        f"Chairs' time on the phone (virtual clock, all their calls): median "
        f"{durations['median_seconds'] / 60:.2f} min, p90 {durations['p90_seconds'] / 60:.2f} min, "
        f"max {durations['max_seconds'] / 60:.2f} min; one call's median "
        f"{durations['per_call_median_seconds'] / 60:.2f} min.",
        "",
    ]
    return lines


def _section_hotline(data: dict[str, Any]) -> list[str]:
    hotline = data["hotline"]
    if not hotline["samples"]:
        return ["## The hotline's side", "", "Not sampled (no Redis URL given).", ""]
    peaks = hotline["peaks"]
    counters = hotline["counters"]
    lines = [
        "## The hotline's side (sampled from its Redis)",
        "",
        f"- Peaks: {peaks['calls_in_ivr']} calls in the IVR, {peaks['hold_depth']} holding "
        f"(longest wait {peaks['hold_longest_wait_seconds']} s), {peaks['rq_pending']} rq jobs "
        f"pending, {peaks['rq_failed']} failed; the hotline's own webhook p99 (inside the "
        f"handler, over its last 2,000 requests) peaked at {peaks['hotline_p99_ms']} ms",
        f"- Queues drained {hotline['drain_seconds']} s after the last call",
    ]
    if counters:
        screening = ", ".join(f"{k} {v}" for k, v in sorted(counters["screening_15m"].items()))
        totals = ", ".join(f"{k} {v}" for k, v in sorted(counters["totals"].items()))
        lines += [
            f"- Screening decisions (last 15 minutes): {screening}",
            f"- Running totals: {totals or 'none'}",
        ]
    return [*lines, ""]


def _section_correctness(data: dict[str, Any]) -> list[str]:
    result = data["correctness"]
    if result is None:
        return ["## Correctness", "", "Not checked (no database URL given).", ""]
    no_report = [m["precinct_id"] for m in result["mismatches"] if m["detail"] == NO_REPORT_STORED]
    lines = [
        "## Correctness (every stored report)",
        "",
        f"- Chairs: {result['chairs']:,}; correct {result['chairs_correct']:,} "
        f"({result['committed_exactly']:,} committed exactly, {result['flagged_as_expected']:,} "
        f"flagged as expected of {result['expected_flagged']:,} whose worksheet the audit finds "
        f"inconsistent, {result['awaiting_verification']:,} awaiting verification); "
        f"mismatches {len(result['mismatches'])}",
        f"- Awaiting verification (unattested chairs, held as unverified with exactly their "
        f"worksheet's figures): {result['awaiting_verification']:,} "
        f"{result['awaiting_verification_precincts'][:20] or ''}",
        f"- Reports by other callers: {result['prank_reports'] or 'none'}; "
        f"not held: {result['prank_reports_not_held']}",
        f"- Chairs wrongly blocked: {len(result['chairs_wrongly_blocked'])}"
        f" {result['chairs_wrongly_blocked'][:20] or ''}",
        f"- Chairs whose report came on the hotline's callback (spoofers of their number "
        f"used up its PIN tries): {len(result.get('chairs_called_back', []))}"
        f" {result.get('chairs_called_back', [])[:20] or ''}",
        f"- Chairs who called again after the hotline cut them off (an application error "
        f"before their receipt): {len(result.get('chairs_called_again', []))}"
        f" {result.get('chairs_called_again', [])[:20] or ''}",
        f"- Chairs who end without a report (after calling back, if cut off): "
        f"{len(no_report)} {no_report[:20] or ''}",
        f"- Chairs held: {len(result['chairs_held'])}; chairs never given a receipt: "
        f"{len(result['chairs_without_receipt'])} {result['chairs_without_receipt'][:20] or ''}",
    ]
    ended = data.get("chairs_without_receipt_ended") or {}
    if ended:
        lines += ["", "How the last call of each chair never given a receipt ended:", ""]
        lines += [f"- {precinct}: {how}" for precinct, how in sorted(ended.items())[:50]]
    if result["mismatches"]:
        lines += ["", "| precinct | site | expected | what happened |", "|---|---|---|---|"]
        for m in result["mismatches"][:100]:
            site = f"{m['county']} / {m['precinct']}"
            lines.append(f"| {m['precinct_id']} | {site} | {m['expected']} | {m['detail']} |")
    return [*lines, ""]


def _section_throughput(data: dict[str, Any]) -> list[str]:
    throughput = data["throughput"]
    if not throughput:
        return []
    lines = [
        "## Throughput flat out (closed loop, no think time, same client)",
        "",
        "The two targets are driven in alternating rounds; p50 and p99 are the worst round's.",
        "",
        "| target | req/s | requests | failures | p50 ms | p99 ms | lines | seconds | rounds |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for t in throughput.values():
        lines.append(
            f"| {t['target']} | {t['per_second']} | {t['requests']:,} | {t['failures']} | "
            f"{t['p50_ms']} | {t['p99_ms']} | {t['concurrency']} | {t['seconds']} | "
            f"{t.get('rounds', 1)} |"
        )
    return [*lines, ""]


def _section_rehearsal(data: dict[str, Any]) -> list[str]:
    result = data.get("rehearsal")
    if result is None:
        if not data["scenario"].get("rehearsal"):
            return []
        return ["## Rehearsal", "", "Not checked (needs the database and Redis URLs).", ""]
    board = result["readiness"]
    zero = result["zero_report"]
    archived = _counts(result["archive_counts"])
    stored = _counts(result["stored_before_switch"])
    lines = [
        "## Rehearsal (readiness board, then the switch to live)",
        "",
        f"- Mode before the run: {result['mode_before']}; after the switch: "
        f"{result['mode_after'] or 'not switched'}",
        f"- Drills: {result['drills_planned']:,} planned ({result['drills_planned_right']:,} "
        f"keyed right, {result['drills_planned_unattested']:,} not attested by the carrier), "
        f"{result['drills_stored']:,} stored, {result['drills_as_planned']:,} matched as keyed"
        + (f"; astray: {result['drills_astray'][:20]}" if result["drills_astray"] else ""),
        f"- Readiness board, statewide: {board['precincts']:,} precincts, "
        f"{board['phone_registered']:,} chair phones, {board['pin_issued']:,} PINs issued, "
        f"{board['drilled']:,} drilled, {board['drill_matched']:,} matched, "
        f"{board['drill_unattested']:,} unattested drills, {board['ready']:,} ready, "
        f"{board['reachable']:,} reachable, {board['reported']:,} reported",
        f"- Stored before the switch: {stored}",
    ]
    if result["refused"]:
        return [*lines, f"- **The switch to live was refused**: {result['refused']}", ""]
    lines += [
        f"- Switch to live: {'drained' if result['drained'] else '**the drain gave up**'} "
        f"({result['calls_left']} call(s) left in the IVR), {result['redis_keys_cleared']:,} "
        f"Redis keys the rehearsal left cleared, {result['blocklist_to_review']} blocklist "
        "entries to review",
        f"- Archived: {archived}",
        f"- Zero report {zero.get('zero_report')} (archive {zero.get('archive')}): "
        f"{result['zero_report_rows']} results-bearing rows; counts {zero.get('counts')}",
        f"- Results export after the switch: {result['results_rows_after']} rows",
        "",
    ]
    return lines


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {count:,}" for name, count in counts.items()) or "none"
