"""The real results of the 2020 Iowa caucuses, all 1,765 sites (see iowa2020/SOURCE.md).

Shipped inside the package so an installed hotline has them: `hotline demo` loads the
sites, `hotline audit` checks the results file, and the load tester replays the worksheets.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def _iowa2020(name: str) -> Path:
    return Path(str(resources.files(__name__).joinpath("iowa2020", name)))


PRECINCTS_2020 = _iowa2020("iowa2020_precincts.csv")
"""Every 2020 site: county, precinct, precinct_id, delegates_to_elect, SDEs per delegate."""
RESULTS_2020 = _iowa2020("iowa2020_precinct_candidate_results.csv")
"""The results as published after the recanvass: one row per site and candidate."""
