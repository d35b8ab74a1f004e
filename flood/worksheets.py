"""Worksheets from a results file in the 2020 columns: what each site's chair would key."""

from __future__ import annotations

import csv
import itertools
from dataclasses import dataclass, field
from pathlib import Path

from callflows.ballots import Ballot
from callflows.caucus import allocate, satellite_delegates
from callflows.state import DELEGATES, FINAL, FIRST
from ivr.data import PRECINCTS_2020, RESULTS_2020

__all__ = ["PRECINCTS_2020", "RESULTS_2020", "Worksheet", "load_worksheets"]


@dataclass
class Worksheet:
    """One site's figures by candidate: first alignment, final alignment, county delegates."""

    county: str
    precinct: str
    precinct_id: str
    first: dict[str, int] = field(default_factory=dict)
    final: dict[str, int] = field(default_factory=dict)
    delegates: dict[str, int] = field(default_factory=dict)
    sde: dict[str, float] = field(default_factory=dict)
    delegates_to_elect: int | None = None

    def game_winners(self, ballot: Ballot) -> list[int]:
        """The option numbers a chair keys to say who won the game of chance (if any)."""
        first, final = self.block(ballot, FIRST), self.block(ballot, FINAL)
        d = self.delegates_to_elect
        allocation = allocate(d if d is not None else satellite_delegates(sum(first)), first, final)
        delegates = tuple(self.block(ballot, DELEGATES))
        for game in allocation.games:
            for won in itertools.combinations(game.groups, game.winners):
                if allocation.resolve(won) == delegates:
                    return [game.groups.index(g) + 1 for g in won]
        return []

    def block(self, ballot: Ballot, block: str) -> list[int]:
        """The block's figures in ballot order (a candidate missing from the file is 0)."""
        figures = {FIRST: self.first, FINAL: self.final, DELEGATES: self.delegates}[block]
        return [figures.get(name, 0) for name in ballot.group_names]

    def candidates_with_figures(self) -> set[str]:
        return {
            name
            for name in self.first
            if self.first[name] or self.final[name] or self.delegates[name]
        }


def load_worksheets(
    path: Path = RESULTS_2020, precincts: Path = PRECINCTS_2020
) -> dict[tuple[str, str], Worksheet]:
    """Worksheets keyed by (county, precinct name), in file order."""
    sheets: dict[tuple[str, str], Worksheet] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            key = (row["county"], row["precinct"])
            sheet = sheets.get(key)
            if sheet is None:
                sheet = sheets[key] = Worksheet(row["county"], row["precinct"], row["precinct_id"])
            name = row["candidate"]
            sheet.first[name] = int(row["first_alignment"] or 0)
            sheet.final[name] = int(row["final_alignment"] or 0)
            # The sites with no results at all leave delegates blank.
            sheet.delegates[name] = int(row["county_delegates"] or 0)
            sheet.sde[name] = float(row["sde"] or 0)
    with precincts.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            found = sheets.get((row["county"], row["precinct"]))
            if found is not None and row["delegates_to_elect"]:
                found.delegates_to_elect = int(row["delegates_to_elect"])
    return sheets
