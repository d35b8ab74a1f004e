"""`hotline flood`: replay a caucus night under a call flood and report what held.

Plays Twilio (signed webhooks, TwiML executed by softphone) against a hotline with
Locust, the chairs replaying the real 2020 worksheets among prank and robot calls, then
writes a report (Markdown, JSON, PNG charts) into --out. See README "Load testing".
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import Any, TypeVar

import click

from flood.arrivals import PROFILES
from flood.options import FloodOptions, SwarmOptions, max_seconds_for
from flood.overload_run import OVERLOAD_SCENARIO
from flood.scenarios import SCENARIOS, ScenarioSpec
from flood.stack import StackOptions

T = TypeVar("T")
GEVENT_FIRST = "from gevent import monkey; monkey.patch_all(); from ivr.cli import cli; cli()"
"""The `hotline` command line, with gevent's patches applied before anything is imported."""
FILE = click.Path(dir_okay=False, path_type=Path)
EXISTING_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
SCENARIO_OVERRIDES = (
    "chairs", "prank_calls", "duration", "profile", "time_scale", "typo_rate", "drop_rate", "seed",
    "drill_share",
)  # fmt: skip


@click.command("flood")
# The scenario
@click.option(
    "--scenario",
    type=click.Choice(sorted([*SCENARIOS, OVERLOAD_SCENARIO])),
    default="iowa2020",
    show_default=True,
    help="A named scenario; the options below override it.",
)
@click.option(
    "--chairs",
    type=click.IntRange(min=0),
    help="Chairs replaying worksheets (iowa2020: every site).",
)
@click.option("--prank-calls", type=click.IntRange(min=0), help="Prank and robot calls.")
@click.option("--duration", type=click.FloatRange(min=1), help="Seconds over which calls arrive.")
@click.option("--profile", type=click.Choice(PROFILES), help="Arrival profile of the pranks.")
@click.option(
    "--time-scale",
    type=click.FloatRange(min=0),
    help="Share of virtual call time waited: 1 is real time, small is compressed.",
)
@click.option(
    "--typo-rate",
    type=click.FloatRange(0, 1),
    help="Chance a chair mistypes a figure (and fixes it).",
)
@click.option(
    "--drop-rate",
    type=click.FloatRange(0, 1),
    help="Chance a chair's first call drops (they call back and resume).",
)
@click.option("--seed", type=int, help="Seed of the plan: same seed, same night.")
@click.option(
    "--drill-share",
    type=click.FloatRange(0, 1),
    help="Share of the chairs who first call the drill line (rehearsal: 0.5).",
)
@click.option("--no-think", is_flag=True, help="Chairs key at once instead of pausing first.")
# The target
@click.option(
    "--start-stack",
    is_flag=True,
    help="Start the hotline here (Redis, PostgreSQL, the web server, rq workers), load it.",
)
@click.option(
    "--topology",
    type=click.Choice(["single", "ha"]),
    default="single",
    show_default=True,
    help="--start-stack: one of each process, or three web nodes behind two HAProxy entry "
    "points, Redis with two replicas and three Sentinels, PostgreSQL (flood/ha_topology.py).",
)
@click.option(
    "--chaos",
    is_flag=True,
    help="--topology ha: kill a web node, the first HAProxy, the Redis primary and a worker "
    "mid-commit, and stop PostgreSQL for 30 s, during the flood (flood/faults.py).",
)
@click.option(
    "--chaos-outage",
    type=click.FloatRange(min=0),
    help="--chaos: seconds the first HAProxy and PostgreSQL stay down (default 30; tests).",
)
@click.option(
    "--chaos-faults",
    help="--chaos: only these faults, comma-separated among web, haproxy, redis, worker, "
    "postgres (default: all five).",
)
@click.option("--url", help="Flood this hotline (base URL); needs --pins and TWILIO_AUTH_TOKEN.")
@click.option(
    "--pins",
    "pins_file",
    type=EXISTING_FILE,
    help="The pins file `hotline flood --prepare` wrote for that hotline.",
)
@click.option("--database-url", help="The hotline's database, for the correctness section.")
@click.option("--redis-url", help="The hotline's Redis, for the occupancy and queue charts.")
@click.option(
    "--web-workers",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="--start-stack: web server processes (`hotline serve`).",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=8,
    show_default=True,
    help="--start-stack: threads per web server process.",
)
@click.option(
    "--rq-workers",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="--start-stack: rq workers.",
)
@click.option(
    "--rq-nice",
    type=click.IntRange(0, 19),
    default=0,
    show_default=True,
    help="--start-stack: run the rq workers at this lower CPU priority.",
)
@click.option(
    "--ivr-capacity", type=click.IntRange(min=1), help="--start-stack: HOTLINE_IVR_CAPACITY."
)
@click.option(
    "--hold-max",
    type=click.IntRange(1, 5000),
    help="--start-stack: HOTLINE_HOLD_MAX (Twilio allows 5,000 at most).",
)
# Locust
@click.option(
    "--lines",
    type=click.IntRange(min=1),
    default=3000,
    show_default=True,
    help="Calls the load generator can have going at once (Locust users).",
)
@click.option(
    "--max-seconds",
    type=click.FloatRange(min=1),
    help="Hard bound of the run (default: duration + the longest calls + slack).",
)
@click.option(
    "--baseline-seconds",
    type=click.FloatRange(min=0),
    default=20,
    show_default=True,
    help="--start-stack: drive the hotline, then a bare Flask Gather endpoint, "
    "flat out this long each (0: skip).",
)
@click.option("--web-ui", is_flag=True, help="Serve Locust's web UI during the flood.")
@click.option("--web-port", type=int, default=8089, show_default=True)
@click.option("--master", is_flag=True, help="Be the Locust master of --expect-workers workers.")
@click.option("--expect-workers", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--worker", is_flag=True, help="Be a Locust worker of the master at --master-host.")
@click.option(
    "--master-host",
    default="127.0.0.1",
    show_default=True,
    help="The master's address (--master: the address it listens on).",
)
@click.option("--master-port", type=int, default=5557, show_default=True)
# Output, and preparing a hotline
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Report folder (default: reports/SCENARIO).",
)
@click.option(
    "--prepare",
    is_flag=True,
    help="Only load this hotline's database (the app's settings) for a flood.",
)
@click.option("--pins-out", type=FILE, help="--prepare: write the pins file here (mode 0600).")
@click.option(
    "--ballot",
    help="The ballot chairs key, and --prepare or --start-stack registers "
    "(default: iowa2020-other, every 2020 site as it was reported).",
)
def flood_command(**opts: Any) -> None:  # fmt: skip
    """Replay a caucus night under a call flood (Locust) and report what held."""
    if opts["prepare"]:
        _prepare(opts["pins_out"], opts["ballot"] or "iowa2020-other")
        return
    if opts["scenario"] == OVERLOAD_SCENARIO:
        # Its own benchmark (flood/overload_run.py), with threads and processes of its own:
        # before gevent's patches, which it must not run under.
        from flood.overload_run import run_scenario

        report = opts["out"] or Path("reports") / OVERLOAD_SCENARIO
        click.echo(run_scenario(report, seconds=opts["duration"], chairs=opts["chairs"],
                                seed=opts["seed"]))  # fmt: skip
        return
    _with_gevent_patches_first()
    from locust.log import setup_logging

    from flood import run
    from flood.rehearsal import NotInRehearsal

    setup_logging("INFO")  # type: ignore[no-untyped-call]
    if opts["worker"]:
        pins = _required(opts["pins_file"], "--worker needs --pins FILE")
        run.serve_as_worker(pins, _auth_token(), opts["master_host"], opts["master_port"])
        return
    spec = scenario_spec(opts)
    if opts["chaos"] and not (opts["start_stack"] and opts["topology"] == "ha"):
        raise click.UsageError("--chaos needs --start-stack --topology ha")
    out: Path = opts["out"] or Path("reports") / spec.name
    options = FloodOptions(
        spec=spec,
        swarm=_swarm_options(opts),
        out=out,
        command=shlex.join(["hotline", *sys.argv[1:]]),  # argv[0] is "-c" after the re-exec
        max_seconds=opts["max_seconds"] or max_seconds_for(spec),
        baseline_seconds=opts["baseline_seconds"],
    )
    try:
        if opts["start_stack"]:
            if opts["master"]:
                # Workers need the PINs, which a started stack keeps private: prepare a hotline.
                raise click.UsageError("--master floods a prepared hotline: use --url and --pins")
            stack = _stack_options(opts, spec)
            if opts["topology"] == "ha":
                chaos_over = spec.duration if opts["chaos"] else None
                with run.started_ha_stack(
                    stack,
                    out,
                    chaos_over=chaos_over,
                    chaos_outage=opts["chaos_outage"],
                    chaos_faults=_chaos_faults(opts["chaos_faults"]),
                ) as target:
                    # No throughput probe: its yardstick is one web process, not three.
                    data = run.flood(options, target, None)
            else:
                with run.started_stack(stack, out) as target:
                    data = run.flood(options, target, stack)
        else:
            data = run.flood(options, _external_target(opts), None)
    except NotInRehearsal as error:
        raise click.ClickException(str(error)) from error
    _summarise(data, out)


def _chaos_faults(text: str | None) -> frozenset[str] | None:
    """`--chaos-faults`' names as flood.faults.SCHEDULE names them (None: all)."""
    from flood.faults import FAULT_KEYS

    if not text:
        return None
    keys = [key.strip() for key in text.split(",") if key.strip()]
    unknown = [key for key in keys if key not in FAULT_KEYS]
    if unknown or not keys:
        raise click.BadParameter(
            f"choose among {', '.join(FAULT_KEYS)}", param_hint="--chaos-faults"
        )
    return frozenset(FAULT_KEYS[key] for key in keys)


def _with_gevent_patches_first() -> None:
    """Locust runs on gevent, whose patches must come before anything imports ssl; the
    hotline command line has imported it by now, so run the command again, patched first."""
    from gevent import monkey

    if monkey.is_module_patched("socket"):
        return
    if Path(sys.argv[0]).name != "hotline":
        raise click.ClickException("run `hotline flood` as a process of its own")
    os.execv(sys.executable, [sys.executable, "-c", GEVENT_FIRST, *sys.argv[1:]])


def scenario_spec(opts: dict[str, Any]) -> ScenarioSpec:
    """The named scenario with the options given on the command line applied."""
    spec = SCENARIOS[opts["scenario"]]
    overrides = {name: opts[name] for name in SCENARIO_OVERRIDES if opts.get(name) is not None}
    if opts.get("ballot"):
        overrides["ballot"] = opts["ballot"]
    if opts.get("no_think"):
        overrides["human_think"] = False
    return ScenarioSpec(**{**spec.as_dict(), **overrides})


def _prepare(pins_out: Path | None, ballot: str) -> None:
    from flood.prepare import prepare
    from ivr.hotline import Hotline
    from ivr.settings import Settings, SettingsError

    path = _required(pins_out, "--prepare needs --pins-out FILE")
    try:
        hotline = Hotline.from_settings(Settings.from_env())
    except SettingsError as error:
        raise click.ClickException(str(error)) from error
    prepare(hotline, path, ballot)


def _swarm_options(opts: dict[str, Any]) -> SwarmOptions:
    return SwarmOptions(
        lines=opts["lines"],
        web_ui=opts["web_ui"],
        web_port=opts["web_port"],
        expect_workers=opts["expect_workers"] if opts["master"] else 0,
        master_bind_host=opts["master_host"],
        master_bind_port=opts["master_port"],
    )


def _stack_options(opts: dict[str, Any], spec: ScenarioSpec) -> StackOptions:
    return StackOptions(
        database_url=opts["database_url"],
        redis_url=opts["redis_url"],
        web_workers=opts["web_workers"],
        threads=opts["threads"],
        rq_workers=opts["rq_workers"],
        rq_nice=opts["rq_nice"],
        ivr_capacity=opts["ivr_capacity"],
        hold_max=opts["hold_max"],
        ballot=spec.ballot,
        # The night itself is live; a rehearsal scenario switches live at its end.
        live=not spec.rehearsal,
    )


def _external_target(opts: dict[str, Any]) -> Any:
    from flood.run import Target

    url = _required(opts["url"], "give --start-stack, or --url of a hotline with --pins")
    return Target(
        base_url=url.rstrip("/"),
        auth_token=_auth_token(),
        pins_file=_required(opts["pins_file"], "--url needs --pins FILE"),
        database_url=opts["database_url"],
        redis_url=opts["redis_url"],
        description=f"the hotline at {url}",
    )


def _summarise(data: dict[str, Any], out: Path) -> None:
    click.echo("")
    for target in data["targets"].values():
        mark = "met   " if target["met"] else "MISSED"
        relation = f"{target['relation']} {target['target']}"
        click.echo(f"  {mark} {target['label']}: {target['value']} ({relation})")
    click.echo(f"\nReport: {out / 'report.md'} (data: report.json, charts: *.png)")
    correctness = data["correctness"]
    if correctness is not None and not correctness["holds"]:
        raise click.ClickException("the hotline did not hold: see the correctness section")
    rehearsal = data.get("rehearsal")
    if rehearsal is not None and not rehearsal["holds"]:
        raise click.ClickException("the rehearsal did not hold: see the rehearsal section")


def _required(value: T | None, message: str) -> T:
    if value is None:
        raise click.UsageError(message)
    return value


def _auth_token() -> str:
    token = os.environ.get("TWILIO_AUTH_TOKEN", "")
    if not token:
        raise click.UsageError("set TWILIO_AUTH_TOKEN to the hotline's Twilio auth token")
    return token
