"""The `hotline` command line: import, PINs, export, demo, settings."""

from __future__ import annotations

import csv
import json
import stat
from pathlib import Path

import pytest
from flask.testing import FlaskCliRunner

from flood.worksheets import PRECINCTS_2020
from ivr.cli import cli
from ivr.hotline import Hotline
from ivr.pins import pin_matches
from ivr.settings import Settings, SettingsError
from models import Precinct
from tests.support.data import precinct_rows


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def count_precincts(hotline: Hotline) -> int:
    with hotline.sessions() as session:
        return session.query(Precinct).count()


def test_the_2020_file_imports_as_it_is_with_missing_ids_assigned(
    runner: FlaskCliRunner, hotline: Hotline
) -> None:
    result = runner.invoke(
        cli, ["precincts", "import", str(PRECINCTS_2020), "--assign-missing-ids"]
    )
    assert result.exit_code == 0, result.output
    assert "imported 1765 precincts (1765 new, 0 updated)" in result.output
    assert result.output.count("assigned precinct ID 90") == 5
    assert count_precincts(hotline) == 1765


def test_the_2020_file_without_the_flag_names_the_sites_without_an_id_and_imports_nothing(
    runner: FlaskCliRunner, hotline: Hotline
) -> None:
    result = runner.invoke(cli, ["precincts", "import", str(PRECINCTS_2020)])
    assert result.exit_code != 0
    assert result.output.count("precinct_id is empty") == 5
    assert "5 bad row(s); nothing was imported" in result.output
    assert count_precincts(hotline) == 0


def test_bad_rows_are_reported_by_line_and_nothing_is_half_imported(
    runner: FlaskCliRunner, hotline: Hotline, tmp_path: Path
) -> None:
    rows = precinct_rows(("Adair", "Adams"))
    for row in rows:
        row.update(chair_name="", chair_phone="", pin="")
    rows[1]["precinct_id"] = "94x200"
    rows[2]["chair_phone"] = "555-1234"
    rows[3]["precinct_id"] = rows[0]["precinct_id"]
    rows[4]["pin"] = "12345"
    rows[5]["delegates_to_elect"] = "many"
    result = runner.invoke(cli, ["precincts", "import", str(write_csv(tmp_path / "p.csv", rows))])
    assert result.exit_code != 0
    lines = [line.split(": ", 1)[1] for line in result.output.splitlines() if ": line " in line]
    assert lines == [
        "line 3: precinct_id '94x200' is not 4 to 7 digits",
        "line 4: chair_phone '555-1234' is not a valid phone number",
        "line 5: precinct_id 948199 is also on line 2",
        "line 6: pin must be exactly 6 digits",
        "line 7: delegates_to_elect 'many' is not a whole number",
    ]
    assert count_precincts(hotline) == 0


def test_chair_phones_are_stored_in_e164_and_pins_only_as_hmac(
    runner: FlaskCliRunner, hotline: Hotline, tmp_path: Path
) -> None:
    rows = precinct_rows(("Adair",))
    for row in rows:
        row.update(chair_name="", chair_phone="", pin="")
    rows[0].update(chair_name="Pat Chair", chair_phone="(515) 555-0123", pin="042017")
    assert (
        runner.invoke(
            cli, ["precincts", "import", str(write_csv(tmp_path / "p.csv", rows))]
        ).exit_code
        == 0
    )
    with hotline.sessions() as session:
        precinct = session.query(Precinct).filter_by(precinct_id="948199").one()
        assert precinct.chair_phone == "+15155550123"
        assert precinct.pin_hmac is not None and "042017" not in precinct.pin_hmac
        assert pin_matches(hotline.settings.pin_key, "948199", "042017", precinct.pin_hmac)


def test_pins_issue_writes_each_pin_once_to_a_private_file(
    runner: FlaskCliRunner, hotline: Hotline, tmp_path: Path
) -> None:
    runner.invoke(cli, ["precincts", "import", str(PRECINCTS_2020), "--assign-missing-ids"])
    out = tmp_path / "pins.csv"
    result = runner.invoke(cli, ["pins", "issue", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 1765
    assert all(len(row["pin"]) == 6 and row["pin"].isdigit() for row in rows)
    assert not any(row["pin"] in result.output for row in rows[:50])
    with hotline.sessions() as session:
        stored = {p.precinct_id: p.pin_hmac for p in session.query(Precinct)}
    assert all(
        pin_matches(hotline.settings.pin_key, r["precinct_id"], r["pin"], stored[r["precinct_id"]])
        for r in rows
    )
    again = runner.invoke(cli, ["pins", "issue", "--out", str(out)])
    assert again.exit_code != 0 and "exists" in again.output


def test_demo_loads_the_ballot_all_sites_and_fresh_pins(
    runner: FlaskCliRunner, hotline: Hotline, tmp_path: Path
) -> None:
    result = runner.invoke(cli, ["demo", "--pins-out", str(tmp_path / "pins.csv")])
    assert result.exit_code == 0, result.output
    assert count_precincts(hotline) == 1765
    assert len(list(csv.DictReader((tmp_path / "pins.csv").open()))) == 1765


def test_export_json_is_empty_before_any_report(runner: FlaskCliRunner, hotline: Hotline) -> None:
    result = runner.invoke(cli, ["results", "export", "--format", "json"])
    assert result.exit_code == 0
    assert json.loads(result.output) == []


def test_production_refuses_to_start_without_secrets() -> None:
    with pytest.raises(SettingsError, match=r"^TWILIO_AUTH_TOKEN is not set"):
        Settings.from_env({"HOTLINE_PROFILE": "production", "PUBLIC_BASE_URL": "https://x.example"})
    with pytest.raises(SettingsError, match=r"^PUBLIC_BASE_URL is not set"):
        Settings.from_env(
            {
                "HOTLINE_PROFILE": "production",
                "TWILIO_AUTH_TOKEN": "t",
                "SECRET_KEY": "s",
                "PIN_KEY": "p",
            }
        )


def test_dev_profile_starts_with_dev_secrets_and_sqlite_under_instance(tmp_path: Path) -> None:
    settings = Settings.from_env({"HOTLINE_PROFILE": "dev", "HOTLINE_INSTANCE_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path}/hotline.db"
    assert settings.ballot == "iowa2020"
    assert "dev-twilio" not in repr(settings)
