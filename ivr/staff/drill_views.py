"""The practice worksheet on the dashboard (any staff role): the page the caucus packet
prints, for staff to print again or read out to a chair."""

from __future__ import annotations

from ivr.drill_worksheet import worksheet_page
from ivr.hotline import current_hotline
from ivr.staff.access import staff_blueprint

bp = staff_blueprint("drill", __name__, "/drill")


@bp.get("/worksheet")
def worksheet() -> str:
    return worksheet_page(current_hotline().settings.drill_number, standalone=False)
