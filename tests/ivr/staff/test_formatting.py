"""Template helpers: Iowa time, numbers, durations."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from ivr.staff.formatting import duration, number, when


def test_times_show_in_iowas_zone_whether_or_not_the_database_kept_the_zone() -> None:
    caucus_night = datetime(2020, 2, 4, 3, 4, 5)  # SQLite gives back naive UTC times
    assert when(caucus_night) == "Feb 3, 21:04:05 CST"
    assert when(caucus_night.replace(tzinfo=UTC), with_date=False) == "21:04:05 CST"
    assert when(None) == ""


def test_numbers_and_durations() -> None:
    assert number(1765) == "1,765"
    assert number(Decimal("2152.0541"), 4) == "2,152.0541"
    assert number(None) == ""
    assert (duration(125), duration(9), duration(None)) == ("2m 05s", "9s", "")
