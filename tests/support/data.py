"""Loading real 2020 precincts into a test database, with PINs the test knows."""

from __future__ import annotations

import csv
from pathlib import Path

from flask.testing import FlaskCliRunner

from flood.worksheets import PRECINCTS_2020
from ivr.cli import cli
from ivr.pins import new_pin


def precinct_rows(counties: tuple[str, ...] | None = None) -> list[dict[str, str]]:
    with PRECINCTS_2020.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [row for row in rows if counties is None or row["county"] in counties]


def import_precincts(
    runner: FlaskCliRunner,
    directory: Path,
    counties: tuple[str, ...] | None = ("Adair",),
    chair_phones: dict[str, str] | None = None,
    columns: dict[str, dict[str, str]] | None = None,
) -> dict[str, str]:
    """Import 2020 precincts through `hotline precincts import`; returns their PINs by ID.
    `columns` adds optional columns: each a column's values by precinct ID."""
    rows = precinct_rows(counties)
    pins: dict[str, str] = {}
    extra = columns or {}
    for row in rows:
        if row["precinct_id"]:
            pins[row["precinct_id"]] = row["pin"] = new_pin()
            row["chair_phone"] = (chair_phones or {}).get(row["precinct_id"], "")
        for column, values in extra.items():
            row[column] = values.get(row["precinct_id"], "")
    path = directory / "precincts.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        fieldnames = [*rows[0].keys()]
        fieldnames += [name for name in ("pin", "chair_phone") if name not in fieldnames]
        writer = csv.DictWriter(handle, fieldnames=fieldnames)
        writer.writeheader()
        writer.writerows(rows)
    result = runner.invoke(cli, ["precincts", "import", str(path), "--assign-missing-ids"])
    assert result.exit_code == 0, result.output
    return pins
