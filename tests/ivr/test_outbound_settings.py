"""The settings of calls the hotline places, and a site's own scheduled close on import."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

from flask.testing import FlaskCliRunner
from sqlalchemy import select

from ivr.cli import cli
from ivr.hotline import Hotline
from ivr.settings import DEV_ACCOUNT_SID, DEV_HOTLINE_NUMBER, Settings
from models import Precinct
from tests.ivr.test_settings_hardening import PRODUCTION, refusal
from tests.support.data import precinct_rows


def test_production_has_no_account_or_number_unless_given() -> None:
    settings = Settings.from_env(PRODUCTION)
    assert settings.twilio_account_sid == "" and settings.hotline_number == ""
    assert settings.outbound_auto_start_minutes is None and settings.caucus_closes_at is None
    dev = Settings.from_env({"HOTLINE_PROFILE": "dev"})
    assert dev.twilio_account_sid == DEV_ACCOUNT_SID and dev.hotline_number == DEV_HOTLINE_NUMBER


def test_the_stand_ins_address_is_refused_in_production() -> None:
    message = refusal({**PRODUCTION, "TWILIO_API_BASE_URL": "http://127.0.0.1:8081"})
    assert "TWILIO_API_BASE_URL" in message and "production" in message


def test_outbound_settings_are_read_and_checked() -> None:
    settings = Settings.from_env(
        {
            **PRODUCTION,
            "TWILIO_ACCOUNT_SID": "AC" + "a" * 32,
            "HOTLINE_PHONE_NUMBER": "(515) 555-0100",
            "HOTLINE_OUTBOUND_CPS": "5",
            "HOTLINE_CAUCUS_CLOSES_AT": "2020-02-03T19:00:00-06:00",
            "HOTLINE_OUTBOUND_AUTO_START_MINUTES": "45",
        }
    )
    assert settings.hotline_number == "+15155550100"
    assert settings.outbound_calls_per_second == 5
    assert settings.caucus_closes_at == datetime(2020, 2, 4, 1, 0, tzinfo=UTC)
    assert settings.outbound_auto_start_minutes == 45
    assert "TWILIO_ACCOUNT_SID" in refusal({**PRODUCTION, "TWILIO_ACCOUNT_SID": "AC123"})
    assert "HOTLINE_PHONE_NUMBER" in refusal({**PRODUCTION, "HOTLINE_PHONE_NUMBER": "12"})
    # A close with no offset would be a different moment on every server.
    assert "UTC offset" in refusal({**PRODUCTION, "HOTLINE_CAUCUS_CLOSES_AT": "2020-02-03T19:00"})


def test_import_stores_a_sites_own_close_in_utc_and_refuses_one_without_an_offset(
    runner: FlaskCliRunner, hotline: Hotline, tmp_path: Path
) -> None:
    rows = precinct_rows(("Adair",))
    rows[0]["closes_at"] = "2020-02-04T03:00:00+01:00"
    path = tmp_path / "precincts.csv"

    def write() -> None:
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=[*rows[0].keys()])
            writer.writeheader()
            writer.writerows(rows)

    write()
    result = runner.invoke(cli, ["precincts", "import", str(path)])
    assert result.exit_code == 0, result.output
    with hotline.sessions() as session:
        site = session.scalars(select(Precinct).where(Precinct.precinct_id == "948199")).one()
        assert site.closes_at is not None
        assert site.closes_at.replace(tzinfo=UTC) == datetime(2020, 2, 4, 2, 0, tzinfo=UTC)
    rows[1]["closes_at"] = "2020-02-04T03:00"
    write()
    result = runner.invoke(cli, ["precincts", "import", str(path)])
    assert result.exit_code != 0 and "line 3" in result.output and "UTC offset" in result.output
