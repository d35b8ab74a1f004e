"""Where each precinct stands, for the precinct table and the callers' outstanding list.

A precinct is `outstanding` until any report arrives (the same count the overview shows),
then `reported`; on top of that it is `committed` once a report is in the results, and
`flagged`, `quarantined`, `unverified` or `conflict` while a report of that status waits
for review.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from models import NEEDS_REVIEW, Precinct, Report, ReportStatus

STATES = (
    "outstanding",
    "reported",
    "committed",
    "flagged",
    "quarantined",
    "unverified",
    "conflict",
)
"""The states staff filter on, in the order a row shows them."""
PAGE_SIZE = 100


@dataclass(frozen=True)
class PrecinctRow:
    precinct: Precinct
    states: tuple[str, ...]


@dataclass(frozen=True)
class Page:
    rows: list[PrecinctRow]
    total: int
    page: int
    pages: int


def states_by_precinct(
    session: Session, precinct_pk: int | None = None
) -> dict[int, tuple[str, ...]]:
    """The states of every precinct that has reported (or just of `precinct_pk`), by key."""
    query = select(Report.precinct_pk, Report.status)
    if precinct_pk is not None:
        query = query.where(Report.precinct_pk == precinct_pk)
    found: dict[int, set[str]] = {}
    for pk, status in session.execute(query):
        states = found.setdefault(pk, {"reported"})
        if status == ReportStatus.COMMITTED or status in NEEDS_REVIEW:
            states.add(status)
    return {pk: tuple(s for s in STATES if s in states) for pk, states in found.items()}


def search(
    session: Session,
    *,
    text: str = "",
    county: str = "",
    state: str = "",
    page: int = 1,
) -> Page:
    """Precincts matching `text` (ID, name, county or chair), `county` and `state`."""
    query = select(Precinct).order_by(Precinct.county, Precinct.name)
    if county:
        query = query.where(Precinct.county == county)
    if text.strip():
        like = f"%{_escape_like(text.strip())}%"
        query = query.where(
            or_(
                *(
                    column.ilike(like, escape="\\")
                    for column in (
                        Precinct.precinct_id,
                        Precinct.name,
                        Precinct.county,
                        Precinct.chair_name,
                        Precinct.chair_phone,
                    )
                )
            )
        )
    states = states_by_precinct(session)
    rows = [
        PrecinctRow(precinct, states.get(precinct.id, ("outstanding",)))
        for precinct in session.scalars(query)
    ]
    if state in STATES:
        rows = [row for row in rows if state in row.states]
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    page = min(max(page, 1), pages)
    start = (page - 1) * PAGE_SIZE
    return Page(rows[start : start + PAGE_SIZE], len(rows), page, pages)


def outstanding(session: Session, county: str = "") -> list[Precinct]:
    """Precincts with no report yet, by county then name: the list callers work through."""
    reported = select(Report.precinct_pk).distinct()
    query = (
        select(Precinct)
        .where(Precinct.id.not_in(reported))
        .order_by(Precinct.county, Precinct.name)
    )
    if county:
        query = query.where(Precinct.county == county)
    return list(session.scalars(query))


def counties(session: Session) -> list[str]:
    return list(session.scalars(select(Precinct.county).distinct().order_by(Precinct.county)))


def outstanding_rows(precincts: Iterable[Precinct]) -> list[dict[str, str]]:
    """The outstanding list as CSV rows."""
    return [
        {
            "county": p.county,
            "precinct": p.name,
            "precinct_id": p.precinct_id,
            "chair_name": p.chair_name,
            "chair_phone": p.chair_phone,
        }
        for p in precincts
    ]


OUTSTANDING_COLUMNS = ("county", "precinct", "precinct_id", "chair_name", "chair_phone")


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
