"""`hotline flood --prepare`: load a hotline's database with what a flood replays.

Migrates, registers the ballot, imports every 2020 site (sites with no precinct ID get one
from 9001 on) with a registered chair phone each, issues fresh PINs and writes them, with
the chair phones, to a pins file (mode 0600) that `hotline flood --pins` reads. Runs in
the app context of the hotline under test (its DATABASE_URL, PIN_KEY, ...).
"""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

from ivr.flood.plan import chair_phone
from ivr.worksheets import PRECINCTS_2020


def write_precincts_with_phones(source: Path, out: Path) -> int:
    """Copy the precincts file, giving the i-th site the chair phone `chair_phone(i)`."""
    with source.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
        columns = [*(reader.fieldnames or []), "chair_phone"]
    for index, row in enumerate(rows):
        row["chair_phone"] = chair_phone(index)
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


def prepare(pins_out: Path, ballot: str, precincts: Path = PRECINCTS_2020) -> int:
    """Load the hotline in the current app context; returns how many PINs were issued."""
    # The command line imports this package's command; importing it back only here keeps
    # the import graph free of cycles.
    from ivr.cli import ballot_load, import_precincts, issue_pins, upgrade_database

    upgrade_database()
    ballot_load.callback(ballot)  # type: ignore[misc]
    with tempfile.TemporaryDirectory(prefix="hotline-flood-") as directory:
        with_phones = Path(directory) / "precincts.csv"
        write_precincts_with_phones(precincts, with_phones)
        import_precincts(with_phones, assign_missing_ids=True)
    return issue_pins(pins_out, force=True)
