"""Named flood scenarios, and the plan of a run: which persona calls at what second.

A scenario says how many chairs and prank calls, over how long, with which arrival profile
and think time, and what share of the chairs drill first (a rehearsal's drill phase). The
plan binds it to a hotline's precincts (the pins file that
`hotline flood --prepare` writes: precinct IDs, chairs' registered phones, PINs) and to
the 2020 worksheets, deterministically from the seed.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass, field, replace
from pathlib import Path

from callflows.ballots import Ballot
from flood.arrivals import arrival_times
from flood.drills import drilling_chairs
from flood.personas import Chair, Prank
from flood.plan import build_scenario, pranks_for_calls, replayable
from flood.worksheets import Worksheet

CHAIR_WINDOW = 0.8
"""Chairs start calling within this fraction of the run, so the last ones finish in it."""
DRILL_PHASE = 0.3
"""With drills, the fraction of the run that is the drill phase (drills start within
CHAIR_WINDOW of it); the night (chairs and pranks) takes the rest."""


@dataclass(frozen=True)
class ScenarioSpec:
    """What a flood replays; every field can be overridden on the command line."""

    name: str
    chairs: int | None
    """Chairs replaying worksheets; None: every site in the pins file."""
    prank_calls: int
    duration: float
    """Seconds over which calls arrive."""
    profile: str = "steady"
    time_scale: float = 0.01
    """Fraction of the virtual call time actually waited (1: realistic, real time)."""
    typo_rate: float = 0.02
    drop_rate: float = 0.05
    seed: int = 2020
    ballot: str = "iowa2020-other"
    human_think: bool = True
    unattested_rate: float = 0.15
    """Share of chairs whose calls the carrier does not attest at level A (landlines, some
    carriers); every out-of-state satellite's chair is unattested on top of it."""
    drill_share: float = 0.0
    """Share of the chairs who first call the drill line and key the practice worksheet
    (flood.drills), in a drill phase before the night."""
    rehearsal: bool = False
    """A staff rehearsal (flood.rehearsal): the hotline must be in rehearsal mode before
    anything is sent; afterwards the readiness board is checked and the hotline goes live."""

    def as_dict(self) -> dict[str, object]:
        return {field: getattr(self, field) for field in self.__dataclass_fields__}


SCENARIOS = {
    "iowa2020": ScenarioSpec("iowa2020", chairs=None, prank_calls=20_000, duration=600.0),
    "small": ScenarioSpec("small", chairs=30, prank_calls=300, duration=30.0),
    "rehearsal": ScenarioSpec(
        "rehearsal",
        chairs=300,
        prank_calls=3000,
        duration=120.0,
        drill_share=0.5,
        rehearsal=True,
    ),
}
"""iowa2020: the standard benchmark (all 1,765 sites of 2020 and 20,000 prank and robot
calls over ten minutes, compressed think time); small: what the test suite runs;
rehearsal: a staff rehearsal in two minutes (half of 300 chairs drill first, then the night
with 3,000 prank calls; then the readiness board, the switch to live and its zero report)."""


@dataclass(frozen=True)
class PinEntry:
    """One row of a pins file."""

    precinct_id: str
    county: str
    precinct: str
    chair_phone: str
    pin: str


def read_pins(path: Path) -> list[PinEntry]:
    """The rows of a pins file (`hotline pins issue` columns), in file order."""
    with path.open(newline="", encoding="utf-8") as handle:
        return [
            PinEntry(
                row["precinct_id"], row["county"], row["precinct"], row["chair_phone"], row["pin"]
            )
            for row in csv.DictReader(handle)
        ]


@dataclass(frozen=True)
class Arrival:
    """A persona and when (seconds after the start) it places its first call."""

    at: float
    caller: Chair | Prank


@dataclass
class Plan:
    spec: ScenarioSpec
    chairs: list[Chair]
    pranks: list[Prank]
    arrivals: list[Arrival]
    drills: list[Chair] = field(default_factory=list)
    """The drill phase's personas (flood.drills), one per drilling chair."""

    def slice(self, index: int, count: int) -> list[Arrival]:
        """The arrivals one of `count` load-generator processes plays."""
        return self.arrivals[index::count]


def bind_worksheets(
    sheets: dict[tuple[str, str], Worksheet], entries: list[PinEntry]
) -> list[Worksheet]:
    """Worksheets of the sites in the pins file, with the precinct IDs the hotline knows
    (sites with no ID in the 2020 data got one on import)."""
    bound = []
    for entry in entries:
        sheet = sheets.get((entry.county, entry.precinct))
        if sheet is not None:
            bound.append(replace(sheet, precinct_id=entry.precinct_id))
    return bound


def build_plan(
    spec: ScenarioSpec,
    entries: list[PinEntry],
    sheets: dict[tuple[str, str], Worksheet],
    ballot: Ballot,
) -> Plan:
    """Chairs, pranks and their arrival times for `spec` against the hotline's precincts."""
    rng = random.Random(spec.seed)
    bound = [entry for entry in entries if entry.chair_phone]
    # On a ballot without "Other" (12 groups), sites where Other got votes cannot be keyed.
    worksheets = [sheet for sheet in bind_worksheets(sheets, bound) if replayable(sheet, ballot)]
    if spec.chairs is not None:
        worksheets = rng.sample(worksheets, min(spec.chairs, len(worksheets)))
    scenario = build_scenario(
        worksheets,
        {entry.precinct_id: entry.pin for entry in entries},
        ballot,
        pranks=pranks_for_calls(spec.prank_calls),
        seed=spec.seed,
        typo_rate=spec.typo_rate,
        drop_rate=spec.drop_rate,
        phones={entry.precinct_id: entry.chair_phone for entry in bound},
        unattested_rate=spec.unattested_rate,
        out_of_state_unattested=True,
    )
    drills = drilling_chairs(scenario.chairs, spec.drill_share, spec.seed)
    # Without drills the night is the whole run (and the plan what it always was).
    night_starts = spec.duration * DRILL_PHASE if drills else 0.0
    night = spec.duration - night_starts
    calling_order = list(scenario.chairs)
    rng.shuffle(calling_order)
    chair_times = arrival_times("steady", len(calling_order), night * CHAIR_WINDOW, rng)
    prank_times = arrival_times(spec.profile, len(scenario.pranks), night, rng)
    drill_times = arrival_times(
        "steady", len(drills), night_starts * CHAIR_WINDOW, random.Random(f"{spec.seed}:drill")
    )
    arrivals = [
        *(Arrival(at, chair) for at, chair in zip(drill_times, drills, strict=True)),
        *(
            Arrival(night_starts + at, chair)
            for at, chair in zip(chair_times, calling_order, strict=True)
        ),
        *(
            Arrival(night_starts + at, prank)
            for at, prank in zip(prank_times, scenario.pranks, strict=True)
        ),
    ]
    arrivals.sort(key=lambda arrival: arrival.at)
    return Plan(spec, scenario.chairs, scenario.pranks, arrivals, drills)
