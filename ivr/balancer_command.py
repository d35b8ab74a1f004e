"""`hotline haproxy`: the load balancer's configuration and its list of chair phones.

`hotline haproxy config` writes the haproxy.cfg of one entry point (`ivr.balancer`);
`hotline haproxy chair-phones` writes the registered chair phones it reads, from the
database. Re-run the second whenever staff change a chair's phone, then reload HAProxy
(`systemctl reload haproxy`: its seamless reload keeps every connection), as
docs/RUNBOOK.md says.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from ivr.balancer import BalancerOptions, Node, chair_phones_text, haproxy_config
from ivr.hotline import current_hotline
from models import Precinct


@click.group("haproxy")
def haproxy_group() -> None:
    """The HAProxy in front of the web nodes: its configuration, with overload control."""


@haproxy_group.command("config")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option(
    "--node",
    "nodes",
    multiple=True,
    required=True,
    metavar="NAME=HOST:PORT",
    help="A web node (`hotline serve`); repeat for each.",
)
@click.option(
    "--maxconn",
    type=click.IntRange(1, 10000),
    default=8,
    show_default=True,
    help="Requests each node serves at once: its workers x threads (WEB_CONCURRENCY x "
    "HOTLINE_THREADS). More wait in HAProxy's queue, in priority order.",
)
@click.option("--bind", default="127.0.0.1:8080", show_default=True, help="Where Twilio calls.")
@click.option(
    "--stats-bind",
    default="127.0.0.1:8404",
    show_default=True,
    help="HAProxy's statistics (HAPROXY_STATS_URLS): a private address only.",
)
@click.option(
    "--chair-phones",
    "chair_phones",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The file `hotline haproxy chair-phones` writes (chairs' first calls go first).",
)
@click.option(
    "--shed-queue",
    type=click.IntRange(1, 100000),
    help="Refuse new calls busy while more requests than this wait [default: twice the "
    "nodes' maxconn together].",
)
@click.option(
    "--overload-control/--no-overload-control",
    default=True,
    show_default=True,
    help="Off: plain balancing, only to measure what overload control buys.",
)
def config_command(
    out: Path,
    nodes: tuple[str, ...],
    maxconn: int,
    bind: str,
    stats_bind: str,
    chair_phones: Path | None,
    shed_queue: int | None,
    overload_control: bool,
) -> None:
    """Write the haproxy.cfg of one entry point to the web nodes."""
    options = BalancerOptions(
        bind=bind,
        stats_bind=stats_bind,
        nodes=[_node(text, maxconn) for text in nodes],
        # HAProxy reads the file relative to its own working directory: give it the whole path.
        chair_phones_file=chair_phones.resolve() if chair_phones else None,
        overload_control=overload_control,
        shed_queue=shed_queue,
    )
    _write(out, haproxy_config(options))
    click.echo(f"wrote {out} ({len(options.nodes)} nodes); check it with `haproxy -c -f {out}`")


@haproxy_group.command("chair-phones")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@with_appcontext
def chair_phones_command(out: Path) -> None:
    """Write the registered chair phones (one E.164 number a line) for HAProxy."""
    with current_hotline().sessions() as db:
        phones = db.scalars(select(Precinct.chair_phone).where(Precinct.chair_phone != ""))
        text = chair_phones_text(phones)
    _write(out, text)
    click.echo(f"wrote {out} ({text.count(chr(10))} chair phones); reload HAProxy to use it")


def _node(text: str, maxconn: int) -> Node:
    name, _, address = text.partition("=")
    if not name or ":" not in address or not name.replace("-", "").replace("_", "").isalnum():
        raise click.BadParameter(f"{text!r} is not NAME=HOST:PORT", param_hint="--node")
    return Node(name, address, maxconn)


def _write(path: Path, text: str) -> None:
    """Replace `path` at once: a reload that reads it mid-write would see half a list."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w") as stream:
        stream.write(text)
    os.chmod(temporary, 0o644)
    os.replace(temporary, path)
