"""The reviewer's correction form under odd input: a specific error on the page, never a 500,
and nothing changed."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from ivr.hotline import Hotline
from models import Report, StaffRole
from tests.ivr.staff.support import GOOD_FIGURES, add_precinct, add_report, post_form, staff_client

NOT_DIGITS = "Sanders, final: enter a whole number in digits (0 for none)"
TOO_BIG = "Sanders, final: a figure is at most 9999"


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        (str(10**1000) + "0" * 4000, TOO_BIG),  # 10**5000
        ("9" * 5000, TOO_BIG),
        ("10000", TOO_BIG),
        ("²", NOT_DIGITS),
        ("٣", NOT_DIGITS),  # an Arabic-Indic three: a digit to str.isdigit(), not to us
        ("1e9", NOT_DIGITS),
        ("-0", NOT_DIGITS),
        ("+5", NOT_DIGITS),
        ("1_000", NOT_DIGITS),
        ("0x10", NOT_DIGITS),
        ("8\x00", NOT_DIGITS),
        ("", NOT_DIGITS),
    ],
)
def test_an_odd_figure_gives_a_specific_error_and_changes_nothing(
    client: FlaskClient, hotline: Hotline, typed: str, message: str
) -> None:
    add_precinct(hotline)
    flagged = add_report(hotline)
    staff_client(client, hotline, StaffRole.REVIEWER)
    page = f"/staff/review/{flagged}"
    form = {f"{b}-{i}": str(GOOD_FIGURES[b][i]) for b in GOOD_FIGURES for i in range(4)}
    form["final-2"] = typed
    response = post_form(client, f"{page}/correct", {**form, "reason": "photo"}, page)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with hotline.sessions() as db:
        assert [r.status for r in db.scalars(select(Report))] == ["flagged"]


def test_leading_zeros_are_still_a_figure(client: FlaskClient, hotline: Hotline) -> None:
    add_precinct(hotline)
    flagged = add_report(hotline)
    staff_client(client, hotline, StaffRole.REVIEWER)
    page = f"/staff/review/{flagged}"
    form = {f"{b}-{i}": str(GOOD_FIGURES[b][i]) for b in GOOD_FIGURES for i in range(4)}
    form["final-2"] = "0008"
    response = post_form(client, f"{page}/correct", {**form, "reason": "photo"}, page)
    assert response.status_code == 303
    with hotline.sessions() as db:
        corrected = db.scalars(select(Report).where(Report.source == "staff")).one()
    assert corrected.figures["final"][2] == 8


@pytest.mark.parametrize("action", ["approve", "reject", "correct"])
def test_a_reason_with_a_nul_byte_or_of_a_megabyte_is_refused_on_the_page(
    client: FlaskClient, hotline: Hotline, action: str
) -> None:
    add_precinct(hotline)
    flagged = add_report(hotline)
    staff_client(client, hotline, StaffRole.REVIEWER)
    page = f"/staff/review/{flagged}"
    form = {f"{b}-{i}": str(GOOD_FIGURES[b][i]) for b in GOOD_FIGURES for i in range(4)}
    for reason in ("photo\x00checked", "r" * 100_000):
        response = post_form(client, f"{page}/{action}", {**form, "reason": reason}, page)
        assert response.status_code == 400, (action, reason[:10])
        assert "the reason" in response.get_data(as_text=True)
    with hotline.sessions() as db:
        assert [r.status for r in db.scalars(select(Report))] == ["flagged"]
