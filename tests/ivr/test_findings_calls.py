"""Caucus math on the line: a chair replaying an inconsistent 2020 precinct (issue 3)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from flask.testing import FlaskClient, FlaskCliRunner

from callflows.caucus import allocate
from flood.worksheets import RESULTS_2020, Worksheet, load_worksheets
from ivr.cli import cli
from ivr.hotline import Hotline
from models import Report
from queues.worker import run_worker
from softphone import GatherPrompt, Keys
from tests.support.calls import CALLER, chair, place_call
from tests.support.data import import_precincts

# Black Hawk "WL 4-6" in 2020: Biden had 5 of 34 in the final alignment, below the 6 needed
# to be viable with 5 delegates, yet the published figures give Biden a delegate.
WL_4_6 = ("Black Hawk", "WL 4-6")
FINDING = (
    "Your worksheet gives Biden 1 delegate, but Biden had 5 people of 34 in the final "
    "alignment, below the 6 needed to be viable."
)


@pytest.fixture
def sheet() -> Worksheet:
    return load_worksheets()[WL_4_6]


@pytest.fixture
def pin(runner: FlaskCliRunner, tmp_path: Path) -> str:
    phones = {"946634": CALLER}
    return import_precincts(runner, tmp_path, counties=("Black Hawk",), chair_phones=phones)[
        "946634"
    ]


def the_report(hotline: Hotline) -> Report:
    run_worker(hotline.redis, hotline.sessions, burst=True)
    with hotline.sessions() as session:
        (report,) = session.query(Report).all()
        return report


def test_the_chair_hears_the_finding_rekeys_the_delegates_and_gets_a_clean_receipt(
    client: FlaskClient, hotline: Hotline, sheet: Worksheet, pin: str
) -> None:
    ballot = hotline.ballot
    first, final = sheet.block(ballot, "first"), sheet.block(ballot, "final")
    (correct,) = allocate(5, first, final).outcomes
    worksheet = chair("946634", pin, sheet, ballot)
    fixes = 0
    rekeying = False

    def chair_who_corrects_the_worksheet(prompt: GatherPrompt) -> Keys:
        nonlocal fixes, rekeying
        if prompt.step == "fix/delegates":
            fixes += 1
            assert FINDING in prompt.text
            rekeying = True
            return "1"
        if rekeying and prompt.step.startswith("figure/delegates/"):
            return f"{correct[int(prompt.step.rsplit('/', 1)[1]) - 1]}#"
        return worksheet(prompt)

    record = place_call(client, chair_who_corrects_the_worksheet)
    assert fixes == 1
    assert "Your receipt number is" in record.spoken
    report = the_report(hotline)
    assert report.status == "committed"
    assert report.figures["delegates"] == list(correct)
    assert [f for f in report.findings if not f["informational"]] == []


def test_submitting_it_flagged_stores_the_findings_hotline_audit_finds(
    client: FlaskClient,
    runner: FlaskCliRunner,
    hotline: Hotline,
    sheet: Worksheet,
    pin: str,
    tmp_path: Path,
) -> None:
    record = place_call(
        client, chair("946634", pin, sheet, hotline.ballot, **{"fix/delegates": "2"})
    )
    assert FINDING in record.spoken
    report = the_report(hotline)
    assert report.status == "flagged"
    assert report.flagged_blocks == {"delegates": "delegates_to_nonviable_group"}

    out = tmp_path / "findings.csv"
    result = runner.invoke(cli, ["audit", str(RESULTS_2020), "--out", str(out)])
    assert result.exit_code == 0, result.output
    with out.open() as handle:
        audited = sorted(
            row["code"] for row in csv.DictReader(handle) if row["precinct_id"] == "946634"
        )
    assert audited == ["delegates_to_nonviable_group"]
    assert sorted(f["code"] for f in report.findings) == audited
    assert report.findings[0]["spoken"] == FINDING
