"""Audit a whole results file: run the findings over every site and summarise them.

The input is rows of a results export, one row per site and candidate, as dicts with the
columns county, precinct, precinct_id, candidate, first_alignment, final_alignment,
county_delegates and sde (optional: is_satellite, status, receipt). The checks use the
head counts and county_delegates; sde is not needed, since it follows from the delegates.
Nothing here reads files; callers pass iterables of dicts (e.g. from ``csv.DictReader``).
A text cell that the export neutralised for spreadsheets (see ``SPREADSHEET_ESCAPED``) is
read back as it was before, so ``hotline audit`` reads an export as the precincts file names
its sites.

Sites are keyed by (county, precinct), because precinct_id is blank for a few satellites.
A site whose delegates_to_elect is unknown is handled like this:

* all its counts and delegates are zero: no finding (a site where nobody caucused);
* it is a satellite: delegates_to_elect comes from the satellite attendance table;
* otherwise: the audit-only finding ``delegates_to_elect_unknown``, and nothing else,
  since no other check can be made without it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from callflows import prompts
from callflows.caucus import satellite_delegates
from callflows.findings import CODES, Finding, check_report

__all__ = [
    "AUDIT_CODES",
    "DELEGATES_TO_ELECT_UNKNOWN",
    "SPREADSHEET_ESCAPED",
    "AuditSummary",
    "PrecinctTable",
    "Site",
    "SiteFindings",
    "SiteKey",
    "audit",
    "audit_site",
    "from_spreadsheet_cell",
    "read_precincts",
    "read_sites",
    "summarize",
]

SiteKey = tuple[str, str]

DELEGATES_TO_ELECT_UNKNOWN = "delegates_to_elect_unknown"

# Every code an audit can report, in report order.
AUDIT_CODES: tuple[str, ...] = (*CODES, DELEGATES_TO_ELECT_UNKNOWN)

SPREADSHEET_ESCAPE = "'"
SPREADSHEET_ESCAPED = ("=", "+", "-", "@", "\t", "\r", SPREADSHEET_ESCAPE)
"""First characters of a text cell that a CSV export prefixes with SPREADSHEET_ESCAPE.

A spreadsheet runs a cell that starts with =, +, -, @, a tab or a carriage return as a
formula (OWASP, "CSV Injection"); the apostrophe makes it text. A cell that already starts
with an apostrophe gets one more, so that reading back is exact: one leading apostrophe
before any of these characters is removed, and nothing else is ever changed."""


@dataclass(frozen=True)
class Site:
    """One precinct or satellite caucus: its groups and what was reported for each."""

    county: str
    precinct: str
    precinct_id: str
    names: tuple[str, ...]
    first: tuple[int, ...]
    final: tuple[int, ...]
    delegates: tuple[int, ...]
    is_satellite: bool = False
    status: str = ""
    receipt: str = ""

    @property
    def key(self) -> SiteKey:
        """The (county, precinct) pair that identifies the site."""
        return (self.county, self.precinct)

    @property
    def attendance(self) -> int:
        """The first-alignment total."""
        return sum(self.first)

    @property
    def is_empty(self) -> bool:
        """True when every count and every delegate is zero."""
        return not any((*self.first, *self.final, *self.delegates))


@dataclass(frozen=True)
class SiteFindings:
    """The findings for one site and the delegates_to_elect they were checked against."""

    site: Site
    delegates_to_elect: int | None
    findings: tuple[Finding, ...]

    @property
    def codes(self) -> tuple[str, ...]:
        """The distinct finding codes, in report order."""
        present = {f.code for f in self.findings}
        return tuple(code for code in AUDIT_CODES if code in present)


@dataclass(frozen=True)
class PrecinctTable:
    """What the audit needs to know about each site besides its results."""

    delegates_to_elect: Mapping[SiteKey, int | None]
    satellites: frozenset[SiteKey] = frozenset()


@dataclass(frozen=True)
class AuditSummary:
    """Counts of sites per finding code, with a few example sites for each."""

    sites: int
    sites_with_errors: int
    sites_with_information_only: int
    counts: Mapping[str, int] = field(default_factory=dict)
    examples: Mapping[str, tuple[SiteFindings, ...]] = field(default_factory=dict)


def read_sites(rows: Iterable[Mapping[str, str]]) -> list[Site]:
    """Group result rows (one per site and candidate) into sites, in file order."""
    grouped: dict[SiteKey, list[Mapping[str, str]]] = {}
    for row in rows:
        key = (_text(row, "county"), _text(row, "precinct"))
        grouped.setdefault(key, []).append(row)
    return [_site(site_rows) for site_rows in grouped.values()]


def from_spreadsheet_cell(text: str) -> str:
    """A text cell of a CSV export as it was before the export neutralised it."""
    if text[:1] == SPREADSHEET_ESCAPE and text[1:2] and text[1] in SPREADSHEET_ESCAPED:
        return text[1:]
    return text


def _text(row: Mapping[str, str], column: str) -> str:
    return from_spreadsheet_cell(row.get(column) or "")


def _site(rows: Sequence[Mapping[str, str]]) -> Site:
    head = rows[0]
    return Site(
        county=_text(head, "county"),
        precinct=_text(head, "precinct"),
        precinct_id=_text(head, "precinct_id"),
        names=tuple(_text(row, "candidate") for row in rows),
        first=tuple(_count(row, "first_alignment") for row in rows),
        final=tuple(_count(row, "final_alignment") for row in rows),
        delegates=tuple(_count(row, "county_delegates") for row in rows),
        is_satellite=any(_is_true(row.get("is_satellite")) for row in rows),
        status=_text(head, "status"),
        receipt=_text(head, "receipt"),
    )


def _count(row: Mapping[str, str], column: str) -> int:
    # A blank cell means nothing was reported; the 2020 file leaves county_delegates blank
    # for the satellites where nobody caucused.
    text = (row.get(column) or "").strip()
    try:
        return int(text) if text else 0
    except ValueError:
        where = f"{row.get('county')} / {row.get('precinct')} / {row.get('candidate')}"
        raise ValueError(f"{column} is not a whole number at {where}: {text!r}") from None


def _is_true(text: str | None) -> bool:
    return (text or "").strip().lower() in {"1", "true", "yes", "y"}


def read_precincts(rows: Iterable[Mapping[str, str]]) -> PrecinctTable:
    """Read delegates_to_elect (blank means unknown) and is_satellite per (county, precinct)."""
    delegates: dict[SiteKey, int | None] = {}
    satellites: set[SiteKey] = set()
    for row in rows:
        key = (row["county"], row["precinct"])
        text = (row.get("delegates_to_elect") or "").strip()
        delegates[key] = int(text) if text else None
        if _is_true(row.get("is_satellite")):
            satellites.add(key)
    return PrecinctTable(delegates, frozenset(satellites))


def audit_site(site: Site, delegates_to_elect: int | None) -> SiteFindings:
    """Check one site; ``None`` means delegates_to_elect is unknown (see the module doc)."""
    if delegates_to_elect is None:
        if site.is_empty:
            return SiteFindings(site, None, ())
        if not site.is_satellite:
            return SiteFindings(site, None, (_unknown_delegates(site),))
        delegates_to_elect = satellite_delegates(site.attendance)
    findings = check_report(site.names, site.first, site.final, site.delegates, delegates_to_elect)
    return SiteFindings(site, delegates_to_elect, tuple(findings))


def _unknown_delegates(site: Site) -> Finding:
    spoken = prompts.delegates_to_elect_unknown(site.precinct)
    written = "delegates_to_elect unknown; no other check possible"
    return Finding(DELEGATES_TO_ELECT_UNKNOWN, spoken, written)


def audit(
    rows: Iterable[Mapping[str, str]],
    delegates_to_elect: Mapping[SiteKey, int | None],
    satellites: Collection[SiteKey] = frozenset(),
) -> list[SiteFindings]:
    """Audit every site in ``rows`` against its delegates_to_elect, in file order.

    A site is a satellite if its rows say so (is_satellite) or its key is in ``satellites``.
    """
    results = []
    for site in read_sites(rows):
        if site.key in satellites and not site.is_satellite:
            site = replace(site, is_satellite=True)
        results.append(audit_site(site, delegates_to_elect.get(site.key)))
    return results


def summarize(results: Sequence[SiteFindings], examples_per_code: int = 3) -> AuditSummary:
    """Count the sites per finding code and keep the first few sites of each as examples."""
    counts: Counter[str] = Counter()
    examples: dict[str, list[SiteFindings]] = {code: [] for code in AUDIT_CODES}
    errors = information_only = 0
    for result in results:
        if any(not f.informational for f in result.findings):
            errors += 1
        elif result.findings:
            information_only += 1
        for code in result.codes:
            counts[code] += 1
            if len(examples[code]) < examples_per_code:
                examples[code].append(result)
    return AuditSummary(
        sites=len(results),
        sites_with_errors=errors,
        sites_with_information_only=information_only,
        counts={code: counts[code] for code in AUDIT_CODES},
        examples={code: tuple(found) for code, found in examples.items()},
    )
