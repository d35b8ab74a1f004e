"""`hotline outbound`: start, stop and follow rounds of calls to outstanding precincts."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from ivr.hotline import current_hotline
from queues import outbound

ACTOR = "cli"


@click.group("outbound")
def outbound_group() -> None:
    """Calls the hotline places to chairs (a worker places them)."""


@outbound_group.command("start")
@with_appcontext
def start() -> None:
    """Call the registered phone of every precinct with no report."""
    try:
        with current_hotline().sessions.begin() as db:
            started = outbound.start_round(db, ACTOR)
            click.echo(f"Round {started.id}: calling {started.precincts} precinct(s).")
    except outbound.RoundRunning as error:
        raise click.ClickException(str(error)) from error


@outbound_group.command("remind")
@with_appcontext
def remind() -> None:
    """Call every chair who has no drill that matched, with the drill line's number."""
    hotline = current_hotline()
    if not hotline.settings.drill_number:
        raise click.ClickException("no drill line to remind chairs of: set HOTLINE_DRILL_NUMBER")
    try:
        with hotline.sessions.begin() as db:
            count = outbound.start_reminders(
                db, ACTOR, drill_closes_at=hotline.settings.drill_line_closes_at
            )
    except outbound.RemindersRefused as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Reminding {count} chair(s) to call the drill line.")


@outbound_group.command("stop")
@with_appcontext
def stop() -> None:
    """Stop the running round and any reminders (calls already placed run to their end)."""
    with current_hotline().sessions.begin() as db:
        skipped = outbound.stop_round(db, ACTOR) + outbound.stop_reminders(db, ACTOR)
    click.echo(f"Stopped: {skipped} call(s) not yet placed will not be.")


@outbound_group.command("status")
@with_appcontext
def status() -> None:
    """Totals of every call placed, by purpose and outcome."""
    with current_hotline().sessions() as db:
        running = outbound.active_round(db)
        totals = outbound.totals(db)
    click.echo(f"Round running: {running.id if running else 'none'}")
    for purpose, counts in sorted(totals.by_purpose.items()):
        listed = ", ".join(f"{name} {count}" for name, count in sorted(counts.items()))
        click.echo(f"{purpose}: {listed}")
    results = totals.results
    confirmed, denied = results.get("confirmed", 0), results.get("denied", 0)
    click.echo(f"callback answers: confirmed {confirmed}, denied {denied}")
