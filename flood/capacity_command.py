"""`hotline capacity`: requests per second one web process serves, per kind of webhook.

See flood/capacity.py for what is measured and how; README "Load testing" for its use.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

import click

from flood.webhook_kinds import KIND_NAMES
from ivr.server import DEFAULT_SERVER, SERVERS


def _cpu_list(text: str) -> tuple[int, ...]:
    try:
        cpus = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not a list of CPU numbers such as 0 or 0,1"
        ) from None
    available = os.sched_getaffinity(0)
    missing = [cpu for cpu in cpus if cpu not in available]
    if missing:
        raise click.BadParameter(f"CPU {missing[0]} is not available here ({sorted(available)})")
    return cpus


def _acks(text: str, replicas: int) -> tuple[int, ...]:
    """The REDIS_MIN_REPLICAS_ACK values to measure: none above the replicas started, or a
    confirming request would wait for acknowledgements that can never come."""
    try:
        acks = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError as error:
        hint = "--min-replicas-ack"
        raise click.BadParameter(f"not whole numbers: {text!r}", param_hint=hint) from error
    if not acks or any(ack < 0 or ack > replicas for ack in acks):
        raise click.BadParameter(
            f"each must be from 0 to --replicas ({replicas})", param_hint="--min-replicas-ack"
        )
    return acks


def listed_names(text: str, allowed: tuple[str, ...], what: str) -> tuple[str, ...]:
    """The comma-separated names of an option, each one of `allowed` (`what` they are)."""
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in allowed]
    if unknown or not names:
        raise click.BadParameter(f"{what} are {', '.join(allowed)}; not {unknown or text!r}")
    return names


@click.command("capacity")
@click.option("--seconds", type=click.FloatRange(min=1, max=120), default=10, show_default=True,
              help="How long each kind of webhook is driven flat out.")  # fmt: skip
@click.option("--kinds", default=",".join(KIND_NAMES), show_default=True,
              help="The kinds of webhook to measure, comma-separated.")  # fmt: skip
@click.option("--servers", default=DEFAULT_SERVER, show_default=True,
              help=f"WSGI servers to compare, comma-separated ({', '.join(SERVERS)}).")  # fmt: skip
@click.option("--server-cpus", default="0", show_default=True,
              help="CPUs of the stack (web process, Redis, worker).")  # fmt: skip
@click.option("--generator-cpus", default="1", show_default=True, help="CPUs of wrk.")
@click.option("--threads", type=click.IntRange(1, 64), default=8, show_default=True,
              help="Threads of the web process.")  # fmt: skip
@click.option("--connections", type=click.IntRange(1, 1000), default=16, show_default=True,
              help="Connections wrk keeps open.")  # fmt: skip
@click.option("--rate-bound", type=click.IntRange(100, 100_000), default=8000,
              show_default=True, help="Requests prepared per second of each kind.")  # fmt: skip
@click.option("--rq-nice", type=click.IntRange(0, 19), default=0, show_default=True,
              help="Run the worker at this lower CPU priority.")  # fmt: skip
@click.option("--database-url", help="A PostgreSQL server to create the database on.")
@click.option(
    "--replicas",
    type=click.IntRange(0, 4),
    default=0,
    show_default=True,
    help="Replicas of the stack's Redis.",
)
@click.option(
    "--min-replicas-ack",
    default="0",
    show_default=True,
    help="REDIS_MIN_REPLICAS_ACK values, e.g. 0,1: each measured on its own stack.",
)
@click.option("--no-bare", is_flag=True, help="Skip the bare Flask endpoint.")
@click.option("--profile", is_flag=True, help="Profile the web process with py-spy per kind.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              default=Path("reports/capacity"), show_default=True)  # fmt: skip
def capacity_command(**opts: object) -> None:
    """Measure, per kind of webhook, the requests per second one web process serves."""
    # Imported here: the measurement needs the flood extra (psutil, wrk's driver), which an
    # installation of the hotline alone does not have.
    from flood.capacity import CapacityOptions, headroom_ok, measure

    options = CapacityOptions(
        seconds=float(opts["seconds"]),  # type: ignore[arg-type]
        rate_bound=int(opts["rate_bound"]),  # type: ignore[call-overload]
        kinds=listed_names(str(opts["kinds"]), KIND_NAMES, "kinds"),
        servers=listed_names(str(opts["servers"]), SERVERS, "servers"),
        server_cpus=_cpu_list(str(opts["server_cpus"])),
        generator_cpus=_cpu_list(str(opts["generator_cpus"])),
        threads=int(opts["threads"]),  # type: ignore[call-overload]
        connections=int(opts["connections"]),  # type: ignore[call-overload]
        rq_nice=int(opts["rq_nice"]),  # type: ignore[call-overload]
        database_url=opts["database_url"] or None,  # type: ignore[arg-type]
        bare=not opts["no_bare"],
        profile=bool(opts["profile"]),
        redis_replicas=int(opts["replicas"]),  # type: ignore[call-overload]
        min_replicas_ack=_acks(str(opts["min_replicas_ack"]), int(opts["replicas"])),  # type: ignore[call-overload]
    )
    out = opts["out"]
    assert isinstance(out, Path)
    command = shlex.join(["hotline", *sys.argv[1:]])
    report = measure(options, out, command)
    click.echo((out / "capacity.md").read_text())
    if not headroom_ok(report):
        click.echo("warning: wrk used nearly all of its core: the figures may be its own", err=True)
