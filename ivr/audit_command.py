"""The ``hotline audit`` command: check a whole results file against the caucus rules.

It reads a results CSV in the export columns, takes delegates_to_elect per site from a
precincts CSV, prints how many sites have each finding (with a few examples) and can
write every finding to a CSV. The checking itself lives in :mod:`callflows.audit`.
"""

from __future__ import annotations

import csv
from pathlib import Path

import click

from callflows.audit import AuditSummary, SiteFindings, audit, read_precincts, summarize
from ivr.data import PRECINCTS_2020
from ivr.results import spreadsheet_cell

DEFAULT_PRECINCTS = PRECINCTS_2020

FINDINGS_COLUMNS = ("county", "precinct", "precinct_id", "code", "written")


@click.command("audit")
@click.argument("results_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--precincts",
    "precincts_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=DEFAULT_PRECINCTS,
    show_default=True,
    help="CSV with delegates_to_elect and is_satellite per (county, precinct).",
)
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Write every finding, one row per finding, to this CSV.",
)
@click.option("--examples", default=3, show_default=True, help="Example sites per finding code.")
def audit_command(
    results_file: Path, precincts_file: Path, out_file: Path | None, examples: int
) -> None:
    """Check every site in RESULTS_FILE against the 2020 Iowa caucus rules."""
    table = read_precincts(_read_csv(precincts_file))
    results = audit(_read_csv(results_file), table.delegates_to_elect, table.satellites)
    for line in summary_lines(summarize(results, examples)):
        click.echo(line)
    if out_file is not None:
        rows = write_findings(out_file, results)
        click.echo(f"Wrote {rows} findings to {out_file}")


def _read_csv(path: Path) -> list[dict[str, str]]:
    # utf-8-sig so a file saved by a spreadsheet (with a byte-order mark) reads the same.
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def summary_lines(summary: AuditSummary) -> list[str]:
    """The printed report: totals, then sites per finding code with a few examples."""
    lines = [
        f"Sites audited: {summary.sites}",
        f"Sites with findings: {summary.sites_with_errors}",
        f"Sites with information only: {summary.sites_with_information_only}",
        "",
        "Sites per finding code:",
    ]
    for code, count in summary.counts.items():
        lines.append(f"  {code}: {count}")
        for result in summary.examples.get(code, ()):
            written = "; ".join(f.written for f in result.findings if f.code == code)
            lines.append(f"    - {_site_label(result)}: {written}")
    return lines


def _site_label(result: SiteFindings) -> str:
    site = result.site
    ident = f" ({site.precinct_id})" if site.precinct_id else ""
    return f"{site.county} / {site.precinct}{ident}, D={result.delegates_to_elect}"


def write_findings(path: Path, results: list[SiteFindings]) -> int:
    """Write one CSV row per finding; return how many rows were written."""
    count = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(FINDINGS_COLUMNS)
        for result in results:
            site = result.site
            for finding in result.findings:
                cells = (
                    site.county,
                    site.precinct,
                    site.precinct_id,
                    finding.code,
                    finding.written,
                )
                writer.writerow([spreadsheet_cell(cell) for cell in cells])
                count += 1
    return count
