"""What a new report is: its findings, its SDEs and its status, computed one way.

The worker calls `assess` for a report a chair submitted by phone, and a reviewer's
correction calls it for the figures a reviewer entered, so both store findings of one JSON
shape, apply the satellite rule alike, and cannot drift apart. The caller locks the
precinct's row first (both do), so the status sees every report committed before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from callflows.caucus import satellite_delegates, sde
from callflows.findings import TIE_NEEDS_GAME_OF_CHANCE, check_report
from callflows.state import DELEGATES, FINAL, FIRST
from callflows.trust import Trust, report_trust
from models import Precinct, Report, ReportStatus


@dataclass(frozen=True)
class Assessment:
    status: ReportStatus
    findings: list[dict[str, Any]]
    """As `Report.findings` stores them: code, spoken, written, groups (by name),
    informational, and for a game of chance the winners the chair reported."""
    sdes: list[str]
    """State delegate equivalents by group, as strings with four decimals."""


def assess(
    session: Session,
    precinct: Precinct,
    *,
    groups: Sequence[str],
    figures: dict[str, list[int]],
    flagged: dict[str, str],
    chance: Sequence[str] = (),
    caller: str | None,
    stir_verstat: str = "",
    reached_by_hotline: bool = False,
) -> Assessment:
    """Assess a new report for `precinct`; `caller` None means a reviewer entered it.

    `stir_verstat` is the carrier's attestation of the call the report came on: without
    level A (none given included) a report from the chair's phone is only `unverified`,
    unless `reached_by_hotline` (the hotline placed the call to that phone itself)."""
    findings = report_findings(precinct, groups, figures, chance)
    trust = None if caller is None else _trust(precinct, caller, stir_verstat, reached_by_hotline)
    return Assessment(
        status=_status(session, precinct, figures, flagged, findings, trust, caller),
        findings=findings,
        sdes=[str(sde(n, precinct.sde_per_county_delegate or 0)) for n in figures[DELEGATES]],
    )


def delegates_to_elect(precinct: Precinct, attendance: int) -> int | None:
    """The delegates the precinct elects: as on file; a satellite with none on file elects
    by its attendance; None when there is nothing to check the delegates against."""
    if precinct.delegates_to_elect is not None:
        return precinct.delegates_to_elect
    return satellite_delegates(attendance) if precinct.is_satellite else None


def report_findings(
    precinct: Precinct,
    groups: Sequence[str],
    figures: dict[str, list[int]],
    chance: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """The caucus-math findings on a complete set of figures, as `hotline audit` finds them."""
    first, final, delegates = figures[FIRST], figures[FINAL], figures[DELEGATES]
    to_elect = delegates_to_elect(precinct, sum(first))
    if to_elect is None:
        return []
    findings = []
    for found in check_report(groups, first, final, delegates, to_elect):
        finding: dict[str, Any] = {
            "code": found.code,
            "spoken": found.spoken,
            "written": found.written,
            "groups": [groups[g] for g in found.groups],
            "informational": found.informational,
        }
        if found.code == TIE_NEEDS_GAME_OF_CHANCE and chance:
            finding["reported_winners"] = list(chance)
        findings.append(finding)
    return findings


def _repeats_a_held_report(
    session: Session, precinct: Precinct, figures: dict[str, list[int]], caller: str | None
) -> bool:
    """An unverified report of `precinct` from the same number with the same figures waits
    already. Only a held report counts: a repeat is never read against the results."""
    held = session.scalars(
        select(Report.figures).where(
            Report.precinct_pk == precinct.id,
            Report.status == ReportStatus.UNVERIFIED,
            Report.caller == (caller or ""),
        )
    )
    return any(stored == figures for stored in held)


def _trust(precinct: Precinct, caller: str, stir_verstat: str, reached_by_hotline: bool) -> Trust:
    return report_trust(
        caller, precinct.chair_phone, stir_verstat, reached_by_hotline=reached_by_hotline
    )


def _status(
    session: Session,
    precinct: Precinct,
    figures: dict[str, list[int]],
    flagged: dict[str, str],
    findings: list[dict[str, Any]],
    trust: Trust | None,
    caller: str | None,
) -> ReportStatus:
    """Where a new report goes: quarantine, unverified, duplicate, conflict, flagged, or
    the results; `trust` None for figures a reviewer entered."""
    if trust is None:
        # A reviewer entered it from a checked worksheet, superseding what was committed.
        return ReportStatus.COMMITTED
    if trust is Trust.OTHER_NUMBER:
        # A right PIN from a number that is not the chair's: perhaps a PIN read off a photo.
        return ReportStatus.QUARANTINED
    if not trust.commits:
        # The chair's number without the carrier's level-A attestation (anyone can show
        # it), or a precinct with no registered phone. Decided before the committed report
        # is looked at, so a report nobody has verified is never compared with one in the
        # results: it never becomes a `duplicate` (which would read as a confirmation) nor
        # a `conflict` (which would tell staff the chair changed their figures), and it
        # never replaces anything; only a reviewer (later: a call back to the chair's
        # phone, `queues.outbound`) puts it in the results.
        if _repeats_a_held_report(session, precinct, figures, caller):
            # The chair who heard no receipt (a failover lost it, the call dropped) calls
            # again and confirms the same figures: one report awaits its one callback.
            return ReportStatus.DUPLICATE
        return ReportStatus.UNVERIFIED
    committed = session.scalars(
        select(Report)
        .where(Report.precinct_pk == precinct.id, Report.status == ReportStatus.COMMITTED)
        .order_by(Report.received_at.desc())
    ).first()
    if committed is not None:
        return ReportStatus.DUPLICATE if committed.figures == figures else ReportStatus.CONFLICT
    if flagged or any(not finding["informational"] for finding in findings):
        return ReportStatus.FLAGGED
    return ReportStatus.COMMITTED
