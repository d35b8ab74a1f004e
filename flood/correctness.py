"""Did the hotline hold? Every chair's report against their worksheet, and every other report.

Per chair: `committed exactly` (committed with exactly the worksheet's figures),
`flagged as expected` (flagged with exactly the worksheet's figures where `hotline audit`
finds the worksheet itself inconsistent: about 250 of the 2020 sites; the hotline flags
those by design), `awaiting verification` (a chair whose calls the carrier did not attest
at level A: held as unverified with exactly the worksheet's figures, as the hotline must),
or a mismatch (anything else, listed). Reports made by any other caller (leaked PINs,
spoofers) must all be held (quarantined or unverified), and no chair may have been blocked.

It reads every stored report, not only the export's one per precinct, because a leaked
PIN's quarantined report can be a precinct's latest and a chair may have several.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from callflows.audit import PrecinctTable, Site, audit_site, read_precincts
from callflows.ballots import Ballot
from callflows.state import BLOCKS, DELEGATES, FINAL, FIRST
from flood.calls import CallSummary
from flood.personas import Chair
from flood.worksheets import PRECINCTS_2020, Worksheet
from models import Report
from softphone import APPLICATION_ERROR

COMMITTED_EXACTLY = "committed exactly"
FLAGGED_AS_EXPECTED = "flagged as expected"
AWAITING_VERIFICATION = "awaiting verification"
MISMATCH = "mismatch"
NO_REPORT_STORED = "no report stored"
"""A mismatch's detail when the chair ends the night without any stored report."""
HELD = frozenset({"quarantined", "unverified"})
"""The statuses of a report kept out of the results until someone vouches for its caller."""
VERDICTS = {
    "committed": COMMITTED_EXACTLY,
    "flagged": FLAGGED_AS_EXPECTED,
    "unverified": AWAITING_VERIFICATION,
}
"""A chair's verdict when their report has the status expected of it, by that status."""


@dataclass(frozen=True)
class StoredReport:
    """One stored submission, as much of it as the check needs."""

    precinct_id: str
    caller: str
    status: str
    figures: dict[str, list[int]]
    call_sid: str = ""


def stored_reports(session: Session) -> list[StoredReport]:
    """Every report in the database (committed, flagged, quarantined, duplicate, ...)."""
    reports = session.scalars(select(Report).options(joinedload(Report.precinct)))
    return [
        StoredReport(r.precinct.precinct_id, r.caller, str(r.status), dict(r.figures), r.call_sid)
        for r in reports
    ]


def load_precinct_table() -> PrecinctTable:
    with PRECINCTS_2020.open(newline="", encoding="utf-8") as handle:
        return read_precincts(list(csv.DictReader(handle)))


def worksheet_findings(sheet: Worksheet, ballot: Ballot, table: PrecinctTable) -> list[str]:
    """What `hotline audit` finds wrong with the worksheet itself (informational ones aside)."""
    key = (sheet.county, sheet.precinct)
    site = Site(
        county=sheet.county,
        precinct=sheet.precinct,
        precinct_id=sheet.precinct_id,
        names=tuple(ballot.group_names),
        first=tuple(sheet.block(ballot, FIRST)),
        final=tuple(sheet.block(ballot, FINAL)),
        delegates=tuple(sheet.block(ballot, DELEGATES)),
        is_satellite=key in table.satellites,
    )
    found = audit_site(site, table.delegates_to_elect.get(key))
    return [finding.code for finding in found.findings if not finding.informational]


@dataclass(frozen=True)
class ChairVerdict:
    precinct_id: str
    county: str
    precinct: str
    expected: str
    """"committed"; "flagged" where the worksheet itself is inconsistent; "unverified" for
    a chair whose calls were not attested at level A."""
    verdict: str
    detail: str = ""


@dataclass
class Correctness:
    """The correctness section of a flood report."""

    chairs: int
    verdicts: Counter[str]
    mismatches: list[ChairVerdict]
    expected_flagged: int
    prank_reports: Counter[str]
    """Reports by callers other than the precinct's chair, by status."""
    awaiting_verification: list[str]
    """Precincts whose unattested chair's report is held, as it must be, until verified."""
    chairs_wrongly_blocked: list[str]
    """Chairs refused (busy, rejected, a PIN refused) who got no report in at all."""
    chairs_held: list[str]
    chairs_without_receipt: list[str]
    chairs_called_back: list[str] = field(default_factory=list)
    """Chairs whose report came on a call the hotline placed to their phone (a callback
    after spoofers of their number used up its PIN tries: queues.outbound)."""
    chairs_called_again: list[str] = field(default_factory=list)
    """Chairs who called again after the hotline cut them off (Twilio's application-error
    hang-up before a receipt: flood.calls.cut_off); judged, like all, by what is stored."""
    notes: list[str] = field(default_factory=list)

    @property
    def prank_reports_committed(self) -> int:
        return self.prank_reports.get("committed", 0)

    @property
    def prank_reports_not_held(self) -> int:
        """Reports by other callers that are anything but held (committed, flagged, ...)."""
        return sum(n for status, n in self.prank_reports.items() if status not in HELD)

    @property
    def chairs_correct(self) -> int:
        return sum(self.verdicts[name] for name in VERDICTS.values())

    @property
    def holds(self) -> bool:
        """All chairs correct, every prank report held, no chair blocked."""
        return (
            self.chairs_correct == self.chairs
            and self.prank_reports_not_held == 0
            and not self.chairs_wrongly_blocked
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "holds": self.holds,
            "chairs": self.chairs,
            "chairs_correct": self.chairs_correct,
            "committed_exactly": self.verdicts[COMMITTED_EXACTLY],
            "flagged_as_expected": self.verdicts[FLAGGED_AS_EXPECTED],
            "expected_flagged": self.expected_flagged,
            "awaiting_verification": self.verdicts[AWAITING_VERIFICATION],
            "awaiting_verification_precincts": self.awaiting_verification,
            "mismatches": [vars(m) for m in self.mismatches],
            "prank_reports": dict(self.prank_reports),
            "prank_reports_committed": self.prank_reports_committed,
            "prank_reports_not_held": self.prank_reports_not_held,
            "chairs_wrongly_blocked": self.chairs_wrongly_blocked,
            "chairs_held": self.chairs_held,
            "chairs_without_receipt": self.chairs_without_receipt,
            "chairs_called_back": self.chairs_called_back,
            "chairs_called_again": self.chairs_called_again,
            "notes": self.notes,
        }


def check(
    chairs: Sequence[Chair],
    reports: Iterable[StoredReport],
    calls: Iterable[CallSummary],
    table: PrecinctTable,
    placed: frozenset[str] = frozenset(),
) -> Correctness:
    """Classify every chair's outcome and count everything else that was stored; `placed`
    holds the SIDs of the calls the hotline placed (flood.callbacks)."""
    phones = {chair.precinct_id: chair.phone for chair in chairs}
    by_chair: dict[str, list[StoredReport]] = {}
    prank_reports: Counter[str] = Counter()
    called_back: set[str] = set()
    for report in reports:
        if phones.get(report.precinct_id) == report.caller:
            by_chair.setdefault(report.precinct_id, []).append(report)
            if report.call_sid in placed:
                called_back.add(report.precinct_id)
        else:
            prank_reports[report.status] += 1
    verdicts: Counter[str] = Counter()
    mismatches = []
    awaiting = []
    expected_flagged = 0
    for chair in chairs:
        reached = chair.precinct_id in called_back
        verdict = judge(chair, by_chair.get(chair.precinct_id, []), table, reached)
        expected_flagged += verdict.expected == "flagged"
        verdicts[verdict.verdict] += 1
        if verdict.verdict == MISMATCH:
            mismatches.append(verdict)
        elif verdict.verdict == AWAITING_VERIFICATION:
            awaiting.append(chair.precinct_id)
    calls = list(calls)
    blocked, held, without_receipt = _chair_calls(calls)
    return Correctness(
        chairs=len(chairs),
        verdicts=verdicts,
        mismatches=mismatches,
        expected_flagged=expected_flagged,
        prank_reports=prank_reports,
        awaiting_verification=sorted(awaiting),
        # A chair refused on their own calls whose report came on the hotline's callback
        # got in as designed; any other refused chair was wrongly blocked.
        chairs_wrongly_blocked=[pid for pid in blocked if pid not in called_back],
        chairs_held=held,
        chairs_without_receipt=[
            pid for pid in without_receipt if pid in phones and pid not in called_back
        ],
        chairs_called_back=sorted(called_back),
        chairs_called_again=_called_again(calls),
    )


def judge(
    chair: Chair,
    reports: Sequence[StoredReport],
    table: PrecinctTable,
    called_back: bool = False,
) -> ChairVerdict:
    """One chair's verdict from the reports made from their phone (`called_back`: one came
    on a call the hotline placed to it, which vouches for the phone as attestation does)."""
    sheet, ballot = chair.sheet, chair.ballot
    findings = worksheet_findings(sheet, ballot, table)
    # Unattested, the chair's report is held whatever its figures (before any check of them).
    vouched = chair.attested or called_back
    expected = "unverified" if not vouched else "flagged" if findings else "committed"
    worksheet = {block: sheet.block(ballot, block) for block in BLOCKS}

    def verdict(name: str, detail: str = "") -> ChairVerdict:
        return ChairVerdict(chair.precinct_id, sheet.county, sheet.precinct, expected, name, detail)

    if not reports:
        return verdict(MISMATCH, NO_REPORT_STORED)
    wrong = [r for r in reports if r.figures != worksheet]
    if wrong:
        return verdict(
            MISMATCH,
            f"{len(wrong)} report(s) with other figures: {_diff(wrong[0].figures, worksheet)}",
        )
    statuses = Counter(r.status for r in reports)
    if statuses[expected] != 1:
        detail = f"statuses {dict(statuses)}; the worksheet audit finds {findings or 'nothing'}"
        return verdict(MISMATCH, detail)
    return verdict(VERDICTS[expected])


def _diff(stored: Mapping[str, list[int]], worksheet: Mapping[str, list[int]]) -> str:
    for block, figures in worksheet.items():
        if stored.get(block) != figures:
            return f"{block}: stored {stored.get(block)}, worksheet {figures}"
    return "same figures"


def _called_again(calls: Iterable[CallSummary]) -> list[str]:
    """Chairs who placed another call after one that the hotline cut off before a receipt."""
    cut_off_at: dict[str, int] = {}
    attempts: dict[str, int] = {}
    for call in calls:
        if call.persona != "chair":
            continue
        attempts[call.precinct_id] = max(attempts.get(call.precinct_id, 0), call.attempt)
        if call.outcome == APPLICATION_ERROR and not call.receipt:
            first = cut_off_at.get(call.precinct_id, call.attempt)
            cut_off_at[call.precinct_id] = min(first, call.attempt)
    return sorted(pid for pid, attempt in cut_off_at.items() if attempts[pid] > attempt)


def _chair_calls(calls: Iterable[CallSummary]) -> tuple[list[str], list[str], list[str]]:
    """Chairs refused (busy, rejected, PIN refused), chairs held, chairs never given a receipt."""
    blocked: set[str] = set()
    held: set[str] = set()
    receipted: set[str] = set()
    called: set[str] = set()
    for call in calls:
        if call.persona != "chair":
            continue
        called.add(call.precinct_id)
        if call.screening in ("busy", "rejected") or call.refused_pin:
            blocked.add(call.precinct_id)
        if call.screening == "held":
            held.add(call.precinct_id)
        if call.receipt:
            receipted.add(call.precinct_id)
    return sorted(blocked), sorted(held), sorted(called - receipted)
