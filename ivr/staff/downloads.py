"""File downloads from staff pages (CSV, JSON): named, and never cached by a browser.

Every CSV a staff member downloads passes through here, so this is where its text cells are
neutralised for spreadsheets (`ivr.results.spreadsheet_cell`): a county, precinct, chair or
group named "=HYPERLINK(...)" opens as text, not as a formula that runs.
"""

from __future__ import annotations

import csv
import io

from flask import Response

from ivr.results import spreadsheet_cell

CSV = "text/csv"


def download(text: str, mimetype: str, filename: str) -> Response:
    """`text` as an attachment named `filename`; a CSV's cells are made spreadsheet-safe."""
    if mimetype == CSV:
        text = spreadsheet_safe(text)
    response = Response(text, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    # Staff downloads hold chairs' phone numbers and unpublished figures.
    response.headers["Cache-Control"] = "no-store"
    # A browser must not sniff a download into something it renders (HTML in a cell).
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def spreadsheet_safe(text: str) -> str:
    """A CSV (one line per row, as `ivr.results.rows_to_csv` writes it) with every cell
    neutralised for spreadsheets; a cell that needs nothing is left exactly as it was."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in csv.reader(io.StringIO(text, newline="")):
        writer.writerow([spreadsheet_cell(cell) for cell in row])
    return out.getvalue()
