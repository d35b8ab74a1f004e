"""How ready each precinct's chair is for the night, by precinct, by county and statewide.

A precinct is *ready* when its chair has a registered phone, a PIN has been issued and a
drill has matched (below); one that is not ready is on the list of chairs still to train.
*Reachable* is the outbound caller's own rule (`queues.outbound.reachable`), shown beside
it. The reporting status is `ivr.staff.precinct_status`'s, the one the precinct table shows.

The county map is shaded by readiness until the first report of the night arrives (any
report, as `precinct_status` counts "reported"), and by the share of precincts reported from
then on: before the night the question is who still needs training, during it who is still
missing.

A chair is ready only once they have also called the drill line and keyed the practice
worksheet right (`queues.drill.drill_statuses`): a drill proves the PIN, the phone and the
keypad at once. A drill the carrier did not attest predicts a callback on the night.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.staff import county_map, precinct_status
from models import Precinct
from queues.drill import DrillStatus, drill_statuses
from queues.outbound import reachable

READINESS = "readiness"
REPORTING = "reporting"


@dataclass(frozen=True)
class PrecinctReadiness:
    precinct: Precinct
    reachable: bool
    states: tuple[str, ...]
    """The reporting status, as the precinct table shows it."""
    drill: DrillStatus | None = None
    """The chair's practice calls; None: never drilled."""

    @property
    def chair_named(self) -> bool:
        return bool(self.precinct.chair_name.strip())

    @property
    def phone_registered(self) -> bool:
        return bool(self.precinct.chair_phone)

    @property
    def pin_issued(self) -> bool:
        return self.precinct.pin_hmac is not None

    @property
    def reported(self) -> bool:
        return "reported" in self.states

    @property
    def drilled(self) -> bool:
        return self.drill is not None

    @property
    def drill_matched(self) -> bool:
        return self.drill is not None and self.drill.ever_matched

    @property
    def drill_unattested(self) -> bool:
        """The last drill came from the chair's phone, and the carrier did not attest it."""
        return self.drill is not None and self.drill.last_attested is False

    @property
    def missing(self) -> tuple[str, ...]:
        """What the chair still lacks, in words (the to-train list's reason)."""
        lacks = []
        if not self.phone_registered:
            lacks.append("chair phone")
        if not self.pin_issued:
            lacks.append("PIN")
        if not self.drilled:
            lacks.append("drill")
        elif not self.drill_matched:
            lacks.append("a drill that matched")
        return tuple(lacks)

    @property
    def ready(self) -> bool:
        return not self.missing


@dataclass
class Tally:
    precincts: int = 0
    chair_named: int = 0
    phone_registered: int = 0
    pin_issued: int = 0
    reachable: int = 0
    drilled: int = 0
    drill_matched: int = 0
    drill_unattested: int = 0
    ready: int = 0
    reported: int = 0

    def add(self, row: PrecinctReadiness) -> None:
        self.precincts += 1
        self.chair_named += row.chair_named
        self.phone_registered += row.phone_registered
        self.pin_issued += row.pin_issued
        self.reachable += row.reachable
        self.drilled += row.drilled
        self.drill_matched += row.drill_matched
        self.drill_unattested += row.drill_unattested
        self.ready += row.ready
        self.reported += row.reported

    def percent(self, count: int) -> float:
        return 100 * count / self.precincts if self.precincts else 0.0


@dataclass(frozen=True)
class Board:
    rows: list[PrecinctReadiness]
    """Every precinct (or the county's asked for), by county then name."""
    by_county: dict[str, Tally]
    """Every county, by name, whatever `rows` were asked for."""
    statewide: Tally = field(default_factory=Tally)

    @property
    def any_report(self) -> bool:
        return self.statewide.reported > 0

    @property
    def to_train(self) -> list[PrecinctReadiness]:
        return [row for row in self.rows if not row.ready]


def board(session: Session, county: str = "") -> Board:
    """The readiness of every precinct, tallied by county and statewide; `rows` only the
    precincts of `county` when one is given."""
    states = precinct_status.states_by_precinct(session)
    dialable = set(session.scalars(select(Precinct.id).where(reachable())))
    drills = drill_statuses(session)
    everyone = [
        PrecinctReadiness(
            p, p.id in dialable, states.get(p.id, ("outstanding",)), drills.get(p.precinct_id)
        )
        for p in session.scalars(select(Precinct).order_by(Precinct.county, Precinct.name))
    ]
    by_county: dict[str, Tally] = {}
    statewide = Tally()
    for row in everyone:
        by_county.setdefault(row.precinct.county, Tally()).add(row)
        statewide.add(row)
    rows = [row for row in everyone if row.precinct.county == county] if county else everyone
    return Board(rows, dict(sorted(by_county.items())), statewide)


def map_of(found: Board) -> county_map.CountyMap:
    """The county map: readiness before the first report, reporting once one exists."""
    if found.any_report:
        return county_map.draw(
            {name: (t.reported, t.precincts) for name, t in found.by_county.items()},
            mode=REPORTING,
            measure="reported",
            caption="Share of each county's precincts that have reported",
        )
    return county_map.draw(
        {name: (t.ready, t.precincts) for name, t in found.by_county.items()},
        mode=READINESS,
        measure="ready",
        caption=(
            "Share of each county's precincts ready "
            "(chair phone registered, PIN issued, a drill that matched)"
        ),
    )


TO_TRAIN_COLUMNS = (
    "county",
    "precinct",
    "precinct_id",
    "chair_name",
    "chair_phone",
    "missing",
    "drill_calls",
    "last_drill_at",
)


def to_train_rows(rows: Iterable[PrecinctReadiness]) -> list[dict[str, str]]:
    """The chairs still to train, as CSV rows."""
    return [
        {
            "county": row.precinct.county,
            "precinct": row.precinct.name,
            "precinct_id": row.precinct.precinct_id,
            "chair_name": row.precinct.chair_name,
            "chair_phone": row.precinct.chair_phone,
            "missing": "; ".join(row.missing),
            "drill_calls": str(row.drill.calls if row.drill else 0),
            "last_drill_at": row.drill.last_called_at.isoformat() if row.drill else "",
        }
        for row in rows
        if not row.ready
    ]
