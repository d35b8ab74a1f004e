"""The practice worksheet, printed: the file for the caucus packet and the dashboard's
page are one template, and hold callflows.drill's figures."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

from flask.testing import FlaskClient, FlaskCliRunner

from callflows.drill import WORKSHEET, chance_keys, practice_ballot
from callflows.state import BLOCKS
from ivr.cli import cli
from ivr.hotline import Hotline
from models import StaffRole
from tests.ivr.staff.support import staff_client

MAIN = re.compile(r"<main>.*</main>", re.DOTALL)


def table_rows(page: str) -> list[list[str]]:
    """The worksheet's table, cell texts by row (header, groups, totals)."""
    found = re.search(r"<table>.*</table>", page, re.DOTALL)
    assert found
    table = ET.fromstring(found.group(0))
    return [[(cell.text or "").strip() for cell in row] for row in table.iter("tr")]


def test_the_file_is_one_self_contained_page_with_the_practice_figures(
    runner: FlaskCliRunner, hotline: Hotline, tmp_path: Path
) -> None:
    hotline.settings = replace(hotline.settings, drill_number="+15155550142")
    out = tmp_path / "worksheet.html"

    result = runner.invoke(cli, ["drill", "worksheet", "--out", str(out)])

    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert "<style>" in page and "@page" in page
    assert 'th[scope="row"]' in page  # the style as written, not HTML-escaped
    assert "<link" not in page and "src=" not in page and "http" not in page
    assert "(515) 555-0142" in page
    rows = table_rows(page)
    groups = practice_ballot().groups
    assert rows[0] == ["Preference group", "First alignment", "Final alignment", "County delegates"]
    for i, group in enumerate(groups):
        assert rows[i + 1] == [group.name, *(str(WORKSHEET.figures[b][i]) for b in BLOCKS)]
    assert rows[-1] == ["Total", *(str(WORKSHEET.total(b)) for b in BLOCKS)]
    assert f"press <strong>{chance_keys()}</strong> for Maple" in page


def test_the_dashboard_shows_the_same_page_to_any_signed_in_staff(
    client: FlaskClient, runner: FlaskCliRunner, hotline: Hotline, tmp_path: Path
) -> None:
    assert client.get("/staff/drill/worksheet").status_code == 302  # to the login page
    out = tmp_path / "worksheet.html"
    assert runner.invoke(cli, ["drill", "worksheet", "--out", str(out)]).exit_code == 0

    staff = staff_client(client, hotline, StaffRole.VIEWER)
    response = staff.get("/staff/drill/worksheet")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    file_main, page_main = MAIN.search(out.read_text()), MAIN.search(page)
    assert file_main and page_main and file_main.group(0) == page_main.group(0)
    # The dashboard's CSP allows no inline style: the page links the same stylesheet.
    assert "<style>" not in page
    assert staff.get("/static/drill_worksheet.css").status_code == 200
