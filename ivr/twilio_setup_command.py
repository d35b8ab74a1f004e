"""`hotline twilio configure` and `hotline twilio check`: the numbers' webhooks (the results
line's, and the drill line's when HOTLINE_DRILL_NUMBER is set) and the hold queue, set and
verified through Twilio's REST API (the logic is `ivr.twilio_setup`).

Credentials come only from the environment (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, read
into the settings): no option takes them, so they never reach a shell's history or a
process list. Exit codes: 0 nothing to change (or applied, or the check passed), 1 changes
pending (or the check found differences), 2 a Twilio or settings error, shown in one line
with Twilio's error code, never a traceback.
"""

from __future__ import annotations

from typing import NoReturn

import click
import requests
from flask.cli import with_appcontext
from redis import Redis
from redis.exceptions import RedisError
from twilio.base.exceptions import TwilioException

from ivr import twilio_setup
from ivr.hotline import current_hotline
from ivr.settings import Settings, SettingsError
from ivr.twilio_api import describe_error, rest_client
from ivr.twilio_setup import Change, Current, Desired

OK, PENDING, FAILED = 0, 1, 2
"""The commands' exit codes."""

FAILURES = (TwilioException, requests.RequestException, SettingsError, twilio_setup.SetupError)
"""What stops a command with exit code 2 (in one line)."""


class _Stopped(Exception):
    """A failure already described in one line."""


def _read(settings: Settings) -> tuple[Desired, Current, list[Change]]:
    """The desired set-up, the current one and their differences; _Stopped on a failure."""
    try:
        want = twilio_setup.desired(settings)
        client = rest_client(settings)
        current = twilio_setup.read_current(client, want)
    except FAILURES as error:
        raise _Stopped(_describe(error)) from error
    return want, current, twilio_setup.diff(current, want)


def _describe(error: BaseException) -> str:
    if isinstance(error, (SettingsError, twilio_setup.SetupError)):
        return str(error)
    return describe_error(error)


def _what(want: Desired) -> str:
    """`number +1... and queue hotline-hold`, with `, drill line number +1...` after the
    results line's number when there is a drill line."""
    numbers = ", ".join(
        f"{wanted.role.label.lower()}number {wanted.number}" for wanted in want.numbers
    )
    return f"{numbers} and queue {want.queue_name}"


@click.command("configure")
@click.option(
    "--apply", "apply_changes", is_flag=True, help="Make the changes (else only show them)."
)
@with_appcontext
def configure_command(apply_changes: bool) -> None:
    """Set the hotline's numbers' webhooks and the hold queue's size through Twilio's API.

    Shows each field that differs (old -> new); changes them only with --apply. Exit code
    0: nothing to change, or applied; 1: changes pending; 2: a Twilio or settings error.
    Credentials: TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN in the environment.
    """
    settings = current_hotline().settings
    try:
        want, current, changes = _read(settings)
    except _Stopped as stopped:
        click.echo(f"error: {stopped}", err=True)
        _exit(FAILED)
    if not changes:
        click.echo(f"nothing to change: the {_what(want)} are as configured")
        _exit(OK)
    for change in changes:
        click.echo(f"  {change.line()}")
    if not apply_changes:
        click.echo(
            f"{len(changes)} change(s) pending for the {_what(want)}; nothing was changed "
            "(run with --apply to make them)"
        )
        _exit(PENDING)
    try:
        twilio_setup.apply(rest_client(settings), current, want, changes)
    except FAILURES as error:
        click.echo(f"error: {_describe(error)}", err=True)
        _exit(FAILED)
    click.echo(f"applied {len(changes)} change(s) to the {_what(want)}")


@click.command("check")
@with_appcontext
def check_command() -> None:
    """Verify the hotline's numbers' webhooks and the hold queue without changing anything.

    Prints each difference; exit code 0 when everything matches, 1 otherwise, 2 on a Twilio
    or settings error. The result is kept for the staff overview ("Twilio set-up").
    """
    hotline = current_hotline()
    try:
        want, _, changes = _read(hotline.settings)
    except _Stopped as stopped:
        click.echo(f"error: {stopped}", err=True)
        _record(hotline.redis, passed=False, lines=[f"check failed: {stopped}"])
        _exit(FAILED)
    lines = [change.line() for change in changes]
    _record(hotline.redis, passed=not changes, lines=lines)
    if not changes:
        click.echo(f"Twilio set-up matches: the {_what(want)} are as configured")
        _exit(OK)
    for line in lines:
        click.echo(f"  {line}")
    click.echo(
        f"Twilio set-up differs in {len(changes)} field(s) for the {_what(want)} "
        "(`hotline twilio configure --apply` sets them)"
    )
    _exit(PENDING)


def _exit(code: int) -> NoReturn:
    raise click.exceptions.Exit(code)


def _record(redis: Redis, *, passed: bool, lines: list[str]) -> None:
    try:
        twilio_setup.record_check(redis, passed, lines)
    except RedisError as error:
        # The check's verdict still stands; only the overview will not show it.
        click.echo(
            f"warning: the result could not be kept in Redis ({type(error).__name__})", err=True
        )
