"""The rehearsal scenario's bookends: the hotline must be in rehearsal mode before anything
is sent, and afterwards it must show what a staff rehearsal should see.

Before (`require_rehearsal`): the target's mode, read with queues.election_mode from its
database (or its Redis); anything but `rehearsal` is refused, because the night's calls
would count (live) or the switch is under way (opening).

Afterwards (`afterwards`, with the database and Redis reachable): the readiness board's
statewide tally against the plan (every drilling chair drilled; matched exactly those who
keyed the practice worksheet right; unattested exactly those the carrier did not attest),
then the switch to live (queues.go_live, by "flood"): it drains, archives what the rehearsal
stored, and its zero report must count no results-bearing row, the archive exactly what was
stored, and the results export must be empty. The checks assume the hotline's drills are
the run's own (a fresh database, as `--start-stack` gives).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from redis import Redis
from sqlalchemy import Table
from sqlalchemy.orm import Session, sessionmaker

from flood.drills import keyed_right
from flood.personas import Chair
from ivr.results import export_rows
from ivr.staff.readiness import board
from models import Mode, make_engine, make_session_factory
from queues import election_mode, go_live
from queues.drill import drill_statuses
from queues.keys import ELECTION_MODE

SWITCHED_BY = "flood"
"""Who the audit trail says switched the hotline live."""
DRAIN_SECONDS = 60
"""The switch's drain: the flood has ended and its queues are empty, so calls still in the
IVR after this long are a finding (the switch goes on without them, as it would for staff)."""
REPORT_TABLE = "report"


class NotInRehearsal(Exception):
    """The target is not in rehearsal mode (or its mode cannot be read): nothing was sent."""


def target_mode(database_url: str | None, redis_url: str | None) -> Mode | None:
    """The target's election mode: from its database (through its Redis when given, as the
    call path reads it), else its Redis's mirror; None when neither says."""
    redis = Redis.from_url(redis_url) if redis_url else None
    try:
        if database_url:
            return _database_mode(database_url, redis)
        return None if redis is None else _mirrored_mode(redis)
    finally:
        if redis is not None:
            redis.close()


def _database_mode(database_url: str, redis: Redis | None) -> Mode:
    engine = make_engine(database_url)
    try:
        sessions = make_session_factory(engine)
        if redis is not None:
            return election_mode.current(redis, sessions)
        with sessions() as session:
            return election_mode.stored(session)
    finally:
        engine.dispose()


def _mirrored_mode(redis: Redis) -> Mode | None:
    raw = redis.get(ELECTION_MODE)
    if raw is None:
        return None
    try:
        return Mode(raw.decode() if isinstance(raw, bytes) else str(raw))
    except ValueError:
        return None  # not a mode: nobody says


def require_rehearsal(database_url: str | None, redis_url: str | None) -> Mode:
    """Refuse (NotInRehearsal) unless the target is in rehearsal mode."""
    mode = target_mode(database_url, redis_url)
    if mode is None:
        raise NotInRehearsal(
            "Refused: the rehearsal scenario must first see the hotline in rehearsal mode; "
            "give --database-url (or --redis-url) of the hotline, or --start-stack."
        )
    if mode is not Mode.REHEARSAL:
        raise NotInRehearsal(
            f"Refused: the hotline is {mode.value}, not in rehearsal. A rehearsal's calls "
            "against it would count (or meet the switch to live); nothing was sent."
        )
    return mode


@dataclass
class Rehearsal:
    """The rehearsal section of a flood report: what the board and the switch showed."""

    mode_before: str
    drills_planned: int
    drills_planned_right: int
    """Drilling chairs who key the practice worksheet as printed (their drill must match)."""
    drills_planned_unattested: int
    """Drilling chairs whose calls the carrier does not attest at level A."""
    drills_stored: int
    """Drilling chairs with a drill stored for their precinct."""
    drills_as_planned: int
    """Drilling chairs with a drill stored that matched exactly when they keyed it right."""
    drills_astray: list[str]
    """Drilling chairs' precincts with no drill stored, or one (not) matched otherwise."""
    readiness: dict[str, int]
    """The readiness board's statewide tally (ivr.staff.readiness), before the switch."""
    stored_before_switch: dict[str, int]
    """Rows of each results-bearing table just before the switch."""
    switched: bool = False
    refused: str = ""
    """Why the switch to live was refused, if it was."""
    archive_counts: dict[str, int] = field(default_factory=dict)
    zero_report: dict[str, Any] = field(default_factory=dict)
    drained: bool = False
    calls_left: int = 0
    redis_keys_cleared: int = 0
    blocklist_to_review: int = 0
    mode_after: str = ""
    results_rows_after: int = -1
    """Rows of the results export after the switch (ivr.results.export_rows)."""

    @property
    def zero_report_rows(self) -> int:
        """Results-bearing rows the zero report counted (all must be 0)."""
        counts = self.zero_report.get("counts", {})
        return sum(int(counts.get(name, 0)) for name in self.stored_before_switch)

    def checks(self) -> dict[str, tuple[str, int, int]]:
        """Each check as (label, measured, goal); it holds when they are equal."""
        reports = self.stored_before_switch.get(REPORT_TABLE, 0)
        return {
            "rehearsal_board_drilled": (
                "readiness board: precincts drilled (every drilling chair's drill stored)",
                self.readiness.get("drilled", 0),
                self.drills_planned,
            ),
            "rehearsal_board_matched": (
                "readiness board: drills matched (exactly the chairs who keyed it right)",
                self.readiness.get("drill_matched", 0),
                self.drills_planned_right,
            ),
            "rehearsal_board_unattested": (
                "readiness board: drills the carrier did not attest",
                self.readiness.get("drill_unattested", 0),
                self.drills_planned_unattested,
            ),
            "rehearsal_drills_as_planned": (
                "drilling chairs whose drill is stored and matched as keyed",
                self.drills_as_planned,
                self.drills_planned,
            ),
            "rehearsal_switch_drained": (
                "switch to live drained every call in progress (1: yes)",
                int(self.switched and self.drained),
                1,
            ),
            "rehearsal_zero_report": (
                "zero report: results-bearing rows after the switch",
                self.zero_report_rows if self.switched else -1,
                0,
            ),
            "rehearsal_reports_archived": (
                "rehearsal reports archived (goal: the reports stored before the switch)",
                self.archive_counts.get(REPORT_TABLE, -1),
                reports,
            ),
            "rehearsal_results_empty": (
                "results export rows after the switch",
                self.results_rows_after,
                0,
            ),
        }

    @property
    def holds(self) -> bool:
        return all(value == goal for _, value, goal in self.checks().values())

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["zero_report_rows"] = self.zero_report_rows
        data["holds"] = self.holds
        return data


def afterwards(
    drills: list[Chair], mode_before: Mode, database_url: str, redis_url: str
) -> Rehearsal:
    """Check the readiness board against the drills planned, then go live and check the
    zero report, the archive and the results."""
    engine = make_engine(database_url)
    redis = Redis.from_url(redis_url)
    try:
        sessions = make_session_factory(engine)
        with sessions() as session:
            found = _drills_and_board(session, drills, mode_before)
        _switch(found, redis, sessions)
        return found
    finally:
        redis.close()
        engine.dispose()


def _drills_and_board(session: Session, drills: list[Chair], mode_before: Mode) -> Rehearsal:
    statuses = drill_statuses(session)
    astray = []
    stored = as_planned = 0
    for chair in drills:
        status = statuses.get(chair.precinct_id)
        stored += status is not None
        if status is not None and status.ever_matched == keyed_right(chair):
            as_planned += 1
        else:
            astray.append(chair.precinct_id)
    return Rehearsal(
        mode_before=mode_before.value,
        drills_planned=len(drills),
        drills_planned_right=sum(1 for chair in drills if keyed_right(chair)),
        drills_planned_unattested=sum(1 for chair in drills if not chair.attested),
        drills_stored=stored,
        drills_as_planned=as_planned,
        drills_astray=sorted(astray),
        readiness=dataclasses.asdict(board(session).statewide),
        stored_before_switch={
            name: count
            for name, count in go_live.zero_counts(session).items()
            if name in _results_tables()
        },
    )


def _switch(found: Rehearsal, redis: Redis, sessions: sessionmaker[Session]) -> None:
    try:
        switch = go_live.go_live(redis, sessions, SWITCHED_BY, DRAIN_SECONDS)
    except go_live.Refused as error:
        found.refused = str(error)
        return
    found.switched = True
    found.archive_counts = dict(switch.archive_counts)
    found.zero_report = go_live.zero_report_dict(switch.zero_report)
    found.drained = switch.drained
    found.calls_left = switch.calls_left
    found.redis_keys_cleared = switch.redis_keys_cleared
    found.blocklist_to_review = len(switch.blocklist_to_review)
    found.mode_after = election_mode.current(redis, sessions).value
    with sessions() as session:
        found.results_rows_after = len(list(export_rows(session)))


def _results_tables() -> set[str]:
    """The results-bearing tables the switch archives (queues.go_live.ARCHIVED)."""
    names = set()
    for model in go_live.ARCHIVED:
        table = model.__table__
        assert isinstance(table, Table)
        names.add(table.name)
    return names
