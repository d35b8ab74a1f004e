"""The practice worksheet as a printable page: one template for the file that
`hotline drill worksheet` writes (for the caucus packet) and the staff dashboard's page.

The figures are callflows.drill's, so the page a chair practises from and the worksheet
the drill line compares with cannot differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from flask import current_app, url_for

from callflows import drill
from callflows.caucus import allocate, viability_threshold
from callflows.phones import e164
from callflows.state import BLOCKS, DELEGATES, FINAL, FIRST

STYLESHEET = "drill_worksheet.css"
"""In ivr/static: linked from the dashboard's page (whose CSP allows no inline style),
written into the file so it is one self-contained page."""


@dataclass(frozen=True)
class Row:
    group: str
    figures: tuple[int, ...]
    """First alignment, final alignment, county delegates."""


def worksheet_page(drill_number: str, *, standalone: bool) -> str:
    """The worksheet as HTML: `standalone` for a file (its style inline), else for the
    dashboard (its style linked). Needs an app context (the template)."""
    sheet, ballot = drill.WORKSHEET, drill.practice_ballot()
    first, final = sheet.figures[FIRST], sheet.figures[FINAL]
    allocation = allocate(sheet.delegates_to_elect, first, final)
    game = allocation.games[0]
    names = [group.name for group in ballot.groups]
    rows = [
        Row(group.name, tuple(sheet.figures[block][i] for block in BLOCKS))
        for i, group in enumerate(ballot.groups)
    ]
    # The template alone, without the dashboard's context processors (they read the
    # request, which the command line has none of).
    template = current_app.jinja_env.get_template("drill_worksheet.html")
    return template.render(
        rows=rows,
        totals=tuple(sheet.total(block) for block in BLOCKS),
        delegates_to_elect=sheet.delegates_to_elect,
        attendance=allocation.attendance,
        threshold=viability_threshold(sheet.delegates_to_elect, allocation.attendance),
        not_viable=[names[i] for i, viable in enumerate(allocation.viable) if not viable],
        tied=[names[i] for i in game.groups],
        winners=[names[i] for i in sheet.chance_winners],
        chance_keys=drill.chance_keys(sheet),
        delegates_total=sheet.total(DELEGATES),
        drill_number=_spoken_number(drill_number),
        css=_stylesheet() if standalone else "",
        stylesheet_url="" if standalone else url_for("static", filename=STYLESHEET),
    )


def _spoken_number(number: str) -> str:
    """+15155550100 as a chair dials it: (515) 555-0100; anything else as given."""
    normal = e164(number)
    if normal.startswith("+1") and len(normal) == 12:
        return f"({normal[2:5]}) {normal[5:8]}-{normal[8:]}"
    return normal or number


def _stylesheet() -> str:
    return resources.files("ivr").joinpath("static", STYLESHEET).read_text("utf-8")
