"""`hotline flood --prepare`: load a hotline's database with what a flood replays.

Migrates, registers the ballot, imports every 2020 site (sites with no precinct ID get one
from 9001 on) with a registered chair phone each, issues fresh PINs and writes them, with
the chair phones, to a pins file (mode 0600) that `hotline flood --pins` reads, through
the hotline's own operations (`ivr.operations`), against the hotline under test (its
DATABASE_URL, PIN_KEY, ...).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from ivr import operations
from ivr.data import PRECINCTS_2020
from ivr.hotline import Hotline


def prepare(hotline: Hotline, pins_out: Path, ballot: str, precincts: Path = PRECINCTS_2020) -> int:
    """Load `hotline` for a flood; returns how many PINs were issued."""
    operations.upgrade_database(hotline)
    operations.register_ballot(hotline, ballot)
    with tempfile.TemporaryDirectory(prefix="hotline-flood-") as directory:
        with_phones = Path(directory) / "precincts.csv"
        operations.write_precincts_with_phones(precincts, with_phones)
        operations.import_precincts(hotline, with_phones, assign_missing_ids=True)
    return operations.issue_pins(hotline, pins_out, force=True).count
