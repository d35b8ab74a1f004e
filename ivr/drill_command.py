"""`hotline drill`: the drill line's commands (the practice worksheet for the packet)."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from ivr.drill_worksheet import worksheet_page
from ivr.hotline import current_hotline


@click.group("drill")
def drill_group() -> None:
    """The drill line chairs call to practise (callflows.drill)."""


@drill_group.command("worksheet")
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    required=True,
    help="The HTML file to write: one self-contained page, for the caucus packet.",
)
@with_appcontext
def worksheet(out: Path) -> None:
    """Write the practice worksheet every chair keys on the drill line, ready to print."""
    out.write_text(worksheet_page(current_hotline().settings.drill_number, standalone=True))
    click.echo(f"Wrote the practice worksheet to {out}")
