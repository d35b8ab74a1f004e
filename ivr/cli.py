"""The `hotline` command line: everything an operator does, as one Flask command group."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext

from callflows.state import BLOCKS
from callflows.trust import FULL_ATTESTATION
from flood.capacity_command import capacity_command
from flood.command import flood_command
from flood.speech_time_command import speech_time_command
from ivr import create_app, operations
from ivr.audit_command import audit_command
from ivr.balancer_command import haproxy_group
from ivr.call_log_command import call_log_group
from ivr.data import PRECINCTS_2020
from ivr.drill_command import drill_group
from ivr.hotline import current_hotline
from ivr.jobs_command import jobs_group
from ivr.mode_command import mode_group
from ivr.outbound_command import outbound_group
from ivr.precinct_import import ImportFailed
from ivr.results import export_rows, to_csv, to_json
from ivr.settings import SettingsError
from ivr.spoken_names_command import spoken_command
from ivr.staff.commands import staff_group
from ivr.twilio_command import twilio_group
from ivr.twilio_setup_command import check_command, configure_command

DEMO_PRECINCTS = PRECINCTS_2020
DEMO_PRECINCTS_FILE = "demo-precincts.csv"
"""The demo's copy of the 2020 sites with a chair phone each, next to its pins file."""


def _create_app() -> Flask:
    try:
        return create_app()
    except SettingsError as error:
        raise click.ClickException(str(error)) from error


def _web_app() -> Flask:
    """The app of a web process (its database waits bounded), for gunicorn's workers."""
    return create_app(web=True)


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False)
def cli() -> None:
    """Caucus results hotline: migrate, load, issue PINs, serve, work, call, export."""


cli.add_command(audit_command)
cli.add_command(call_log_group)
cli.add_command(flood_command)
cli.add_command(capacity_command)
cli.add_command(speech_time_command)
cli.add_command(drill_group)
cli.add_command(jobs_group)
cli.add_command(haproxy_group)
cli.add_command(mode_group)
cli.add_command(outbound_group)
cli.add_command(staff_group)
cli.add_command(twilio_group)
twilio_group.add_command(configure_command)
twilio_group.add_command(check_command)


@cli.group()
def db() -> None:
    """Database migrations."""


@db.command("upgrade")
@with_appcontext
def db_upgrade() -> None:
    """Bring the database schema up to date (Alembic)."""
    operations.upgrade_database(current_hotline())
    click.echo("database is up to date")


@cli.group()
def ballot() -> None:
    """Ballots (the preference groups of an election)."""


@ballot.command("load")
@click.argument("name", required=False)
@with_appcontext
def ballot_load(name: str | None) -> None:
    """Register a ballot (default: HOTLINE_BALLOT) as an election in the database."""
    _register_ballot(name)


def _register_ballot(name: str | None) -> None:
    loaded = operations.register_ballot(current_hotline(), name)
    click.echo(f"ballot {loaded.name}: {len(loaded.groups)} groups, {len(BLOCKS)} blocks")


@cli.group()
def precincts() -> None:
    """The precinct directory."""


precincts.add_command(spoken_command)


@precincts.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--assign-missing-ids", is_flag=True, help="Give sites with no precinct ID one (9001...)."
)
@with_appcontext
def precincts_import(file: Path, assign_missing_ids: bool) -> None:
    """Import precincts from FILE (all rows or none)."""
    _import_precincts(file, assign_missing_ids=assign_missing_ids)


def _import_precincts(file: Path, *, assign_missing_ids: bool) -> None:
    try:
        result = operations.import_precincts(
            current_hotline(), file, assign_missing_ids=assign_missing_ids
        )
    except ImportFailed as failure:
        for error in failure.errors:
            click.echo(f"{file}: {error}", err=True)
        raise click.ClickException(str(failure)) from failure
    click.echo(
        f"imported {result.created + result.updated} precincts "
        f"({result.created} new, {result.updated} updated)"
    )
    for assigned in result.assigned_ids:
        click.echo(f"  assigned precinct ID {assigned}")
    if result.without_chair_phone:
        # Said on every import: their reports are held, so staff should know before the night.
        click.echo(
            f"{result.without_chair_phone} precinct(s) have no chair phone: their reports "
            "will be held as unverified until they are confirmed"
        )


@cli.group()
def pins() -> None:
    """Precinct chairs' PINs."""


@pins.command("issue")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--precinct", "precinct_ids", multiple=True, help="Only this precinct ID (repeatable)."
)
@click.option("--missing", is_flag=True, help="Only precincts that have no PIN yet.")
@click.option("--force", is_flag=True, help="Overwrite OUT if it exists.")
@with_appcontext
def pins_issue(out: Path, precinct_ids: tuple[str, ...], missing: bool, force: bool) -> None:
    """Issue new random PINs and write them once to OUT (mode 0600); only HMACs are stored."""
    _issue_pins(out, precinct_ids=precinct_ids, missing=missing, force=force)


def _issue_pins(
    out: Path, *, precinct_ids: tuple[str, ...] = (), missing: bool = False, force: bool = False
) -> None:
    try:
        issued = operations.issue_pins(
            current_hotline(), out, precinct_ids=precinct_ids, missing=missing, force=force
        )
    except operations.OperationFailed as failure:
        raise click.ClickException(str(failure)) from failure
    click.echo(f"issued {issued.count} PINs; they are in {out} (shown once, stored only as HMACs)")


@cli.group()
def results() -> None:
    """Results."""


@results.command("export")
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True
)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="File (default: stdout)."
)
@with_appcontext
def results_export(fmt: str, out: Path | None) -> None:
    """One row per precinct x group, in the 2020 results file's columns plus status and receipt."""
    hotline = current_hotline()
    with hotline.sessions() as session:
        rows = export_rows(session)
        text = to_csv(rows) if fmt == "csv" else to_json(rows)
    if out is None:
        sys.stdout.write(text)
    else:
        # Unpublished figures and receipts: written like the pins, mode 0600, no symlinks.
        try:
            operations.write_private_text(out, text)
        except operations.OperationFailed as failure:
            raise click.ClickException(str(failure)) from failure
        click.echo(f"wrote {out}", err=True)


@cli.command("serve")
@click.option(
    "--bind", default=None, help="HOST:PORT (default: HOTLINE_BIND, else 127.0.0.1:5000)."
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Processes (default: WEB_CONCURRENCY, else cores, at least 2).",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=None,
    help="Threads per process (default: HOTLINE_THREADS, else 8).",
)
@click.option(
    "--server",
    type=click.Choice(["granian", "gunicorn", "uwsgi"]),
    default="granian",
    show_default=True,
    help="The WSGI server (granian: chosen by `hotline capacity`, see ivr/server.py).",
)
def serve(bind: str | None, workers: int | None, threads: int | None, server: str) -> None:
    """Serve the webhooks and the dashboard with granian (see ivr/server.py).

    Bind address, processes and threads default to HOTLINE_BIND, WEB_CONCURRENCY and
    HOTLINE_THREADS for every server. `--server gunicorn` runs the same configuration as
    `gunicorn --config python:ivr.gunicorn_config ivr.wsgi:app`.
    """
    from ivr import gunicorn_config
    from ivr.server import HotlineServer, exec_server

    _create_app()  # fail fast, with a one-line message, on bad settings
    if server == "gunicorn":
        HotlineServer(_web_app, bind=bind, workers=workers, threads=threads).run()
        return
    exec_server(
        server,
        "ivr.wsgi:app",
        bind=bind or gunicorn_config.bind,
        workers=workers or gunicorn_config.workers,
        threads=threads or gunicorn_config.threads,
    )


@cli.command("worker")
@click.option("--burst", is_flag=True, help="Exit when the queues are empty.")
@with_appcontext
def worker(burst: bool) -> None:
    """Run an rq worker that commits reports to the database."""
    from ivr.hotline import UnsupportedRedis, check_redis_version, worker_redis
    from ivr.twilio_api import outbound_runtime
    from ivr.twilio_messages import messaging_runtime
    from queues import blocklist
    from queues.worker import run_worker

    hotline = current_hotline()
    # Checked here too, with Redis required: the web tier starts without an answering
    # Redis, but a worker can do nothing without one, and its call log needs XAUTOCLAIM.
    try:
        check_redis_version(hotline.redis, hotline.settings.redis_url, when_down="raise")
    except UnsupportedRedis as error:
        raise click.ClickException(str(error)) from error
    # The call path reads the blocklist from Redis: rebuild it in case Redis lost it.
    with hotline.sessions() as session:
        blocklist.sync(session, hotline.redis)
    outbound = outbound_runtime(hotline.settings)
    if outbound is None:
        click.echo("No TWILIO_ACCOUNT_SID or HOTLINE_PHONE_NUMBER: this worker places no calls.")
    run_worker(
        worker_redis(hotline.settings),
        hotline.sessions,
        burst=burst,
        outbound=outbound,
        messaging=messaging_runtime(hotline.settings),
    )


@cli.command("demo")
@click.option("--pins-out", type=click.Path(dir_okay=False, path_type=Path), default=None)
@with_appcontext
def demo(pins_out: Path | None) -> None:
    """Load the demo election: migrate, the 2020 Iowa ballot, all 2020 sites, fresh PINs.

    In the dev profile only, also a staff admin `dev` with a fresh password, written to
    the instance folder's dev-sign-in.txt.
    """
    hotline = current_hotline()
    pins = pins_out or hotline.settings.instance_dir / "pins.csv"
    operations.upgrade_database(hotline)
    _register_ballot(None)
    # Every site gets a registered chair phone (Adair "1NW ADAIR", 948199: +15152000000),
    # so a demo call from it, attested, commits as a real chair's would.
    with_phones = pins.parent / DEMO_PRECINCTS_FILE
    operations.write_precincts_with_phones(DEMO_PRECINCTS, with_phones)
    _import_precincts(with_phones, assign_missing_ids=True)
    _issue_pins(pins, force=True)
    sign_in = operations.dev_sign_in(hotline)
    if sign_in is not None:
        who = f"{sign_in.name} / {sign_in.password}"
        click.echo(f"staff dashboard: {sign_in.url}  sign in as {who}  (also in {sign_in.file})")


@cli.command("call")
@click.option(
    "--from", "from_number", required=True, help="The caller's number, e.g. +15152000000."
)
@click.option("--url", default=None, help="The Voice URL (default: PUBLIC_BASE_URL/voice).")
@click.option(
    "--stir-verstat",
    default=FULL_ATTESTATION,
    show_default=True,
    help="The carrier's attestation to send as StirVerstat.",
)
@click.option("--unattested", is_flag=True, help="Send no StirVerstat (an unattested call).")
@with_appcontext
def call(from_number: str, url: str | None, stir_verstat: str, unattested: bool) -> None:
    """Call the hotline from this terminal: hear the prompts, type keys (Enter alone = silence)."""
    from softphone.terminal import run_terminal_call

    settings = current_hotline().settings
    run_terminal_call(
        voice_url=url or f"{settings.public_base_url}/voice",
        auth_token=settings.twilio_auth_token,
        from_number=from_number,
        stir_verstat="" if unattested else stir_verstat,
    )


# --- fixing a chair's night (ivr.staff.chairs, shared with the precinct page) -----------


@precincts.command("set-phone")
@click.argument("precinct_id")
@click.argument("number")
@click.option("--reason", required=True, help="Why (goes into the audit trail).")
@click.option("--name", "chair_name", default="", help="The substitute chair's name.")
@with_appcontext
def precincts_set_phone(precinct_id: str, number: str, reason: str, chair_name: str) -> None:
    """Register NUMBER as the chair's phone of PRECINCT_ID (a substitute chair); audited."""
    from ivr.staff import chairs

    try:
        phone = chairs.set_chair_phone(
            current_hotline(), precinct_id, number, reason, "cli", chair_name=chair_name
        )
    except chairs.ChairError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"precinct {precinct_id}: the chair's registered phone is now {phone}")


@pins.command("reissue")
@click.argument("precinct_id")
@click.option("--reason", required=True, help="Why (goes into the audit trail).")
@with_appcontext
def pins_reissue(precinct_id: str, reason: str) -> None:
    """Issue PRECINCT_ID a new random PIN and print it once (only its HMAC is stored)."""
    from ivr.staff import chairs

    try:
        pin = chairs.reissue_pin(current_hotline(), precinct_id, reason, "cli")
    except chairs.ChairError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"precinct {precinct_id}: new PIN (shown once; the old one no longer works): {pin}")


@pins.command("unlock")
@click.argument("precinct_id")
@click.option("--reason", required=True, help="Why (goes into the audit trail).")
@with_appcontext
def pins_unlock(precinct_id: str, reason: str) -> None:
    """Lift PRECINCT_ID's PIN lock and forget its wrong PINs; audited."""
    from ivr.staff import chairs

    try:
        was_locked = chairs.lift_pin_lock(current_hotline(), precinct_id, reason, "cli")
    except chairs.ChairError as error:
        raise click.ClickException(str(error)) from error
    state = "lifted its PIN lock" if was_locked else "it was not locked"
    click.echo(f"precinct {precinct_id}: {state}; its wrong PINs are forgotten")
