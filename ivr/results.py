"""Results: the export (one row per precinct x group) and the totals staff publish.

The export's columns match `iowa2020_precinct_candidate_results.csv` (plus status and
receipt) so a replayed caucus night can be diffed against the 2020 data. The totals
(statewide and by county) count committed reports only: a flagged, quarantined or
conflicting report is in no published figure until a reviewer has decided it.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from callflows.audit import SPREADSHEET_ESCAPE, SPREADSHEET_ESCAPED
from models import Precinct, Report, ReportStatus

COLUMNS = (
    "county",
    "precinct",
    "precinct_short_name",
    "precinct_id",
    "is_satellite",
    "candidate",
    "first_alignment",
    "final_alignment",
    "county_delegates",
    "sde",
    "status",
    "receipt",
)


def current_report(reports: list[Report]) -> Report | None:
    """The report that stands for a precinct: its latest committed one, else its latest."""
    if not reports:
        return None
    by_time = sorted(reports, key=lambda r: (r.received_at, r.committed_at))
    committed = [r for r in by_time if r.status == ReportStatus.COMMITTED]
    return (committed or by_time)[-1]


def committed_report(reports: Iterable[Report]) -> Report | None:
    """The precinct's latest committed report, or None: what the published results count."""
    committed = [r for r in reports if r.status == ReportStatus.COMMITTED]
    return max(committed, key=lambda r: (r.received_at, r.committed_at), default=None)


def export_rows(session: Session) -> Iterator[dict[str, Any]]:
    """Rows for every precinct that has reported, in precinct-ID order."""
    return _rows(session, current_report)


def committed_rows(session: Session) -> Iterator[dict[str, Any]]:
    """Export rows for precincts with a committed report, counting only that report."""
    return _rows(session, committed_report)


def _rows(
    session: Session, pick: Callable[[list[Report]], Report | None]
) -> Iterator[dict[str, Any]]:
    precincts = session.scalars(
        select(Precinct)
        .options(selectinload(Precinct.reports))
        .order_by(Precinct.county, Precinct.name)
    )
    for precinct in precincts:
        report = pick(list(precinct.reports))
        if report is None:
            continue
        for index, group in enumerate(report.groups):
            yield {
                "county": precinct.county,
                "precinct": precinct.name,
                "precinct_short_name": precinct.short_name,
                "precinct_id": precinct.precinct_id,
                "is_satellite": int(precinct.is_satellite),
                "candidate": group,
                "first_alignment": report.figures["first"][index],
                "final_alignment": report.figures["final"][index],
                "county_delegates": report.figures["delegates"][index],
                # The 2020 file writes SDEs as floats (0.0784, 0.0), so ours read the same.
                "sde": float(report.sdes[index]),
                "status": report.status,
                "receipt": report.receipt,
            }


def to_csv(rows: Iterable[dict[str, Any]], columns: Sequence[str] = COLUMNS) -> str:
    """The rows as CSV (the export's columns by default); every text cell is neutralised
    for spreadsheets (`spreadsheet_cell`), which `hotline audit` undoes when it reads one."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {key: spreadsheet_cell(value) if isinstance(value, str) else value
             for key, value in row.items()}
        )  # fmt: skip
    return out.getvalue()


PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")
"""A cell that is only a number (a phone number in E.164, a negative count) runs nothing."""


def spreadsheet_cell(text: str) -> str:
    """`text` as a CSV cell that a spreadsheet shows as text and never runs as a formula.

    OWASP's advice against CSV injection: a cell starting with =, +, -, @, a tab or a
    carriage return gets a leading apostrophe (callflows.audit.SPREADSHEET_ESCAPED, where
    reading it back is defined).
    """
    if text.startswith(SPREADSHEET_ESCAPED) and not PLAIN_NUMBER.fullmatch(text):
        return SPREADSHEET_ESCAPE + text
    return text


def to_json(rows: Iterator[dict[str, Any]]) -> str:
    return json.dumps(list(rows), indent=1) + "\n"


@dataclass
class GroupTotals:
    """One preference group's figures summed over an area's committed reports."""

    group: str
    first_alignment: int = 0
    final_alignment: int = 0
    county_delegates: int = 0
    sde: Decimal = Decimal("0")

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "first_alignment": self.first_alignment,
            "final_alignment": self.final_alignment,
            "county_delegates": self.county_delegates,
            # Like the export: SDEs as numbers with (at most) four decimals.
            "sde": float(self.sde),
        }


@dataclass
class AreaResults:
    """Committed results of an area (the state or one county), groups in ballot order."""

    name: str
    precincts_total: int = 0
    precincts_reporting: int = 0
    groups: dict[str, GroupTotals] = field(default_factory=dict)

    def add(self, report: Report) -> None:
        self.precincts_reporting += 1
        for index, name in enumerate(report.groups):
            totals = self.groups.setdefault(name, GroupTotals(name))
            totals.first_alignment += report.figures["first"][index]
            totals.final_alignment += report.figures["final"][index]
            totals.county_delegates += report.figures["delegates"][index]
            totals.sde += Decimal(report.sdes[index])

    def ordered(self, group_order: Sequence[str]) -> list[GroupTotals]:
        """Every group in `group_order` (zeros when none reported it), then any others."""
        extra = [name for name in self.groups if name not in group_order]
        return [self.groups.get(name, GroupTotals(name)) for name in (*group_order, *extra)]

    def leader(self) -> GroupTotals | None:
        """The group with the most SDEs, if any has one."""
        best = max(self.groups.values(), key=lambda totals: totals.sde, default=None)
        return best if best is not None and best.sde > 0 else None


@dataclass
class Results:
    """Statewide and by-county committed results."""

    group_order: tuple[str, ...]
    statewide: AreaResults
    counties: dict[str, AreaResults]

    def area_dict(self, area: AreaResults) -> dict[str, Any]:
        return {
            "name": area.name,
            "precincts_total": area.precincts_total,
            "precincts_reporting": area.precincts_reporting,
            "groups": [totals.to_dict() for totals in area.ordered(self.group_order)],
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "statewide": self.area_dict(self.statewide),
            "counties": [self.area_dict(area) for area in self.counties.values()],
        }

    def county_rows(self) -> Iterator[dict[str, Any]]:
        """One row per county x group, for a CSV download."""
        for area in self.counties.values():
            for totals in area.ordered(self.group_order):
                yield {
                    "county": area.name,
                    "precincts_total": area.precincts_total,
                    "precincts_reporting": area.precincts_reporting,
                    **totals.to_dict(),
                }


COUNTY_COLUMNS = (
    "county",
    "precincts_total",
    "precincts_reporting",
    "group",
    "first_alignment",
    "final_alignment",
    "county_delegates",
    "sde",
)


def summarize(session: Session, group_order: Sequence[str] = ()) -> Results:
    """Sum every precinct's committed report, statewide and by county."""
    statewide = AreaResults("Statewide")
    counties: dict[str, AreaResults] = {}
    for county, count in session.execute(
        select(Precinct.county, func.count()).group_by(Precinct.county).order_by(Precinct.county)
    ):
        counties[county] = AreaResults(county, precincts_total=count)
        statewide.precincts_total += count
    committed = session.execute(
        select(Report, Precinct.county)
        .join(Precinct, Report.precinct_pk == Precinct.id)
        .where(Report.status == ReportStatus.COMMITTED)
    ).all()
    by_precinct: dict[int, list[Report]] = {}
    county_of: dict[int, str] = {}
    for report, county in committed:
        by_precinct.setdefault(report.precinct_pk, []).append(report)
        county_of[report.precinct_pk] = county
    for precinct_pk, reports in by_precinct.items():
        latest = committed_report(reports)
        if latest is not None:
            statewide.add(latest)
            counties[county_of[precinct_pk]].add(latest)
    return Results(tuple(group_order), statewide, counties)


def rows_to_csv(rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
