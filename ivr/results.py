"""Results export: one row per precinct x group, in the columns of the 2020 results file.

The columns match `iowa2020_precinct_candidate_results.csv` (plus status and receipt) so
a replayed caucus night can be diffed against the 2020 data.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

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


def export_rows(session: Session) -> Iterator[dict[str, Any]]:
    """Rows for every precinct that has reported, in precinct-ID order."""
    precincts = session.scalars(
        select(Precinct)
        .options(selectinload(Precinct.reports))
        .order_by(Precinct.county, Precinct.name)
    )
    for precinct in precincts:
        report = current_report(list(precinct.reports))
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


def to_csv(rows: Iterator[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def to_json(rows: Iterator[dict[str, Any]]) -> str:
    return json.dumps(list(rows), indent=1) + "\n"
