"""A chair's whole call, through the Twilio stand-in, against real Redis and both databases."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from flask.testing import FlaskClient, FlaskCliRunner

from callflows import prompts
from flood.worksheets import load_worksheets
from ivr.cli import cli
from ivr.hotline import Hotline
from models import Report
from queues.worker import run_worker
from softphone import COMPLETED
from tests.support.calls import CALLER, chair, place_call
from tests.support.data import import_precincts

ADAIR_1NW = ("Adair", "1NW ADAIR")


def drain(hotline: Hotline) -> None:
    run_worker(hotline.redis, hotline.sessions, burst=True)


def export(runner: FlaskCliRunner) -> list[dict[str, str]]:
    result = runner.invoke(cli, ["results", "export", "--format", "csv"])
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.output)))


def test_chair_reports_adair_1nw_and_export_holds_its_2020_figures(
    client: FlaskClient, runner: FlaskCliRunner, hotline: Hotline, tmp_path: Path
) -> None:
    pins = import_precincts(runner, tmp_path, chair_phones={"948199": CALLER})
    sheet = load_worksheets()[ADAIR_1NW]

    record = place_call(client, chair("948199", pins["948199"], sheet, hotline.ballot))

    assert record.outcome == COMPLETED
    assert record.application_errors == 0
    assert set(record.statuses) == {200}
    assert "Your receipt number is" in record.spoken
    drain(hotline)

    with hotline.sessions() as session:
        (report,) = session.query(Report).all()
    assert report.status == "committed"
    assert prompts.receipt(report.receipt)[1] in record.heard

    rows = [row for row in export(runner) if row["precinct_id"] == "948199"]
    assert [row["candidate"] for row in rows] == list(hotline.ballot.group_names)
    for row in rows:
        name = row["candidate"]
        assert int(row["first_alignment"]) == sheet.first[name]
        assert int(row["final_alignment"]) == sheet.final[name]
        assert int(row["county_delegates"]) == sheet.delegates[name]
        assert float(row["sde"]) == sheet.sde[name]
        assert row["status"] == "committed"
        assert row["receipt"] == report.receipt
    # The two 2020 candidates not on the 12-group ballot had no supporters here.
    assert sheet.first["Delaney"] == sheet.first["Other"] == 0
