"""`hotline mode`: print the election's mode, go live (drain, archive, zero report), or go
back to rehearsal (refused once a live report exists)."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from ivr.hotline import current_hotline
from models import Mode
from queues import election_mode, go_live


@click.group("mode", invoke_without_command=True)
@click.pass_context
@with_appcontext
def mode_group(ctx: click.Context) -> None:
    """The election's mode: rehearsal, opening (switching) or live."""
    if ctx.invoked_subcommand is None:
        hotline = current_hotline()
        click.echo(election_mode.current(hotline.redis, hotline.sessions).value)


@mode_group.command("live")
@click.option("--by", "by", required=True, help="Who switches (goes into the audit trail).")
@with_appcontext
def live(by: str) -> None:
    """Drain calls in progress, archive the rehearsal, print the zero report, go live."""
    hotline = current_hotline()
    seconds = hotline.settings.go_live_drain_seconds
    click.echo(f"Opening: new calls hold; waiting up to {seconds} s for calls in progress.")
    try:
        switch = go_live.go_live(hotline.redis, hotline.sessions, f"cli:{by}", seconds)
    except go_live.Refused as error:
        raise click.ClickException(str(error)) from error
    if switch.drained:
        click.echo("Every call in progress ended.")
    else:
        click.echo(f"The drain gave up with {switch.calls_left} call(s) still in the IVR.")
    archived = ", ".join(f"{name} {count}" for name, count in switch.archive_counts.items())
    click.echo(f"Rehearsal archived: {archived}.")
    click.echo(f"Cleared {switch.redis_keys_cleared} Redis key(s) the rehearsal left.")
    click.echo("Zero report:")
    click.echo(json.dumps(go_live.zero_report_dict(switch.zero_report), indent=2))
    if switch.blocklist_to_review:
        click.echo("Blocklist entries added during the rehearsal (keep or drop on the dashboard):")
        for entry in switch.blocklist_to_review:
            click.echo(f"  {entry.number}  added by {entry.added_by}: {entry.reason}")
    click.echo(f"The hotline is {Mode.LIVE.value}.")


@mode_group.command("rehearsal")
@click.option("--by", "by", default="", help="Who switches (goes into the audit trail).")
@with_appcontext
def rehearsal(by: str) -> None:
    """Back to rehearsal: refused once a live report exists."""
    hotline = current_hotline()
    try:
        go_live.to_rehearsal(hotline.redis, hotline.sessions, f"cli:{by}" if by else "cli")
    except go_live.Refused as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"The hotline is in {Mode.REHEARSAL.value}.")
