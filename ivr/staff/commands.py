"""`hotline staff`: add, list, disable and enable staff accounts from the command line."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from ivr.hotline import current_hotline
from ivr.staff import accounts
from models import StaffRole, StaffUser

ACTOR = "cli"


@click.group("staff")
def staff_group() -> None:
    """Staff accounts for the dashboard."""


@staff_group.command("add")
@click.argument("name")
@click.option(
    "--role",
    type=click.Choice([role.value for role in StaffRole]),
    required=True,
    help="viewer reads; reviewer also reviews reports; admin also manages blocklist and staff.",
)
@click.option("--generate", is_flag=True, help="Generate a password and print it once.")
@with_appcontext
def add(name: str, role: str, generate: bool) -> None:
    """Add a staff account NAME (the password is prompted for unless --generate)."""
    if generate:
        password = accounts.generate_password()
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        with current_hotline().sessions.begin() as db:
            accounts.add_staff(db, name, role, password, ACTOR)
    except accounts.AccountError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"added {role} {name.strip()}")
    if generate:
        click.echo(f"password (shown once): {password}")


@staff_group.command("list")
@with_appcontext
def list_staff() -> None:
    """Every account with its role and whether it is disabled."""
    with current_hotline().sessions() as db:
        users = db.scalars(select(StaffUser).order_by(StaffUser.name)).all()
    for user in users:
        state = "disabled" if user.disabled else "enabled"
        click.echo(f"{user.name}\t{user.role}\t{state}")


@staff_group.command("disable")
@click.argument("name")
@with_appcontext
def disable(name: str) -> None:
    """Disable NAME's account (accounts are never deleted); its sessions end at once."""
    _set_disabled(name, True)


@staff_group.command("enable")
@click.argument("name")
@with_appcontext
def enable(name: str) -> None:
    """Enable NAME's account again."""
    _set_disabled(name, False)


def _set_disabled(name: str, disabled: bool) -> None:
    with current_hotline().sessions.begin() as db:
        user = accounts.find(db, name)
        if user is None:
            raise click.ClickException(f"no staff account named {name!r}")
        accounts.set_disabled(db, user, disabled, ACTOR)
    click.echo(f"{name} is {'disabled' if disabled else 'enabled'}")
