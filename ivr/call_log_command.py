"""`hotline calllog`: the call log's dead letters (call events the database refused)."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from ivr.hotline import current_hotline
from queues import call_log


@click.group("calllog")
def call_log_group() -> None:
    """The call log: calls started and ended, blocks keyed, written in batches."""


@call_log_group.command("dead-letters")
@click.option("--limit", type=click.IntRange(min=1), help="Only the most recent N.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line.")
@with_appcontext
def dead_letters(limit: int | None, as_json: bool) -> None:
    """Entries set aside because the database refused them (or they were no call event),
    most recent first: when, kind, the error and its message, and the event's fields."""
    found = call_log.dead_letters(current_hotline().redis, limit=limit)
    for letter in found:
        when = letter.at.isoformat(timespec="seconds") if letter.at else ""
        if as_json:
            record = {
                "at": when,
                "entry": letter.entry,
                "kind": letter.kind,
                "error": letter.error,
                "message": letter.message,
                "fields": letter.fields,
                "payload": letter.payload,
            }
            click.echo(json.dumps(record))
        else:
            event = json.dumps(letter.fields) if letter.fields else letter.payload
            message = f"{letter.error}: {letter.message}" if letter.message else letter.error
            click.echo(f"{when}\t{letter.kind}\t{message}\t{event}")
    if not found:
        click.echo("no dead letters", err=True)
