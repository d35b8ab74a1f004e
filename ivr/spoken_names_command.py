"""`hotline precincts spoken`: the names chairs hear, and the ones a person should check."""

from __future__ import annotations

from dataclasses import dataclass

import click
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.orm import Session

from callflows.spoken_names import read_name
from ivr.hotline import current_hotline
from models import Precinct


@dataclass(frozen=True)
class SpokenName:
    precinct_id: str
    name: str
    spoken: str
    doubts: tuple[str, ...]
    """Why the rules' reading needs a person's eye; none once the import gave its own."""


def spoken_names(session: Session) -> list[SpokenName]:
    """Every precinct's stored and spoken names, by precinct ID."""
    found: list[SpokenName] = []
    for precinct in session.scalars(select(Precinct).order_by(Precinct.precinct_id)):
        reading = read_name(precinct.name, precinct.county)
        # A spoken name other than the rules' came from the import file: a person's choice.
        overridden = precinct.spoken_name not in ("", reading.spoken)
        doubts = () if overridden else reading.doubts
        spoken = precinct.spoken_name or reading.spoken
        found.append(SpokenName(precinct.precinct_id, precinct.name, spoken, doubts))
    return found


@click.command("spoken")
@click.option(
    "--check", is_flag=True, help="Only the names the rules leave doubtful, with the reason."
)
@with_appcontext
def spoken_command(check: bool) -> None:
    """List each precinct's ID, stored name and spoken name (tab-separated). A doubtful one
    is fixed by a spoken_name column in the precinct import."""
    with current_hotline().sessions() as session:
        names = spoken_names(session)
    doubtful = [name for name in names if name.doubts]
    for name in doubtful if check else names:
        fields = [name.precinct_id, name.name, name.spoken]
        if check:
            fields.append("; ".join(name.doubts))
        click.echo("\t".join(fields))
    if check:
        click.echo(f"{len(doubtful)} of {len(names)} precinct names are doubtful")
