"""Tests for the audit: small hand-made files, and the shipped 2020 results.

The 2020 figures asserted here are the ones explained in docs/AUDIT_2020.md.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

from callflows.audit import (
    AUDIT_CODES,
    DELEGATES_TO_ELECT_UNKNOWN,
    SiteFindings,
    audit,
    audit_site,
    read_precincts,
    read_sites,
    summarize,
)
from callflows.findings import (
    ALLOCATION_DIFFERS,
    FINAL_TOTAL_EXCEEDS_FIRST,
    TIE_NEEDS_GAME_OF_CHANCE,
    VIABLE_GROUP_WITHOUT_DELEGATE,
)
from ivr.data import PRECINCTS_2020, RESULTS_2020

DATA = RESULTS_2020.parent
PRERECANVASS_2020 = DATA / "iowa2020_precinct_candidate_results_2020-02-08_prerecanvass.csv"


def rows(
    site: tuple[str, str], counts: dict[str, tuple[int, int, int]]
) -> Iterator[dict[str, str]]:
    """Result rows for one site: candidate -> (first, final, county delegates)."""
    county, precinct = site
    for candidate, (first, final, delegates) in counts.items():
        yield {
            "county": county,
            "precinct": precinct,
            "precinct_id": "123",
            "candidate": candidate,
            "first_alignment": str(first),
            "final_alignment": str(final),
            "county_delegates": str(delegates),
            "sde": "0.0",
        }


# --- hand-made files ------------------------------------------------------------------------


def test_read_sites_groups_rows_by_county_and_precinct() -> None:
    data = [
        *rows(("Adair", "A"), {"Biden": (20, 20, 4), "Sanders": (10, 10, 2)}),
        *rows(("Adair", "B"), {"Biden": (1, 1, 1), "Sanders": (0, 0, 0)}),
    ]
    sites = read_sites(data)
    assert [s.key for s in sites] == [("Adair", "A"), ("Adair", "B")]
    assert sites[0].names == ("Biden", "Sanders")
    assert sites[0].first == (20, 10)
    assert sites[0].delegates == (4, 2)
    assert sites[0].attendance == 30
    assert sites[0].precinct_id == "123"


def test_optional_columns_are_kept() -> None:
    data = [
        dict(r, status="confirmed", receipt="R-42", is_satellite="1")
        for r in rows(("CD1 Satellite", "S"), {"Biden": (3, 3, 4)})
    ]
    site = read_sites(data)[0]
    assert (site.status, site.receipt, site.is_satellite) == ("confirmed", "R-42", True)


def test_blank_delegates_count_as_zero() -> None:
    data = [dict(r, county_delegates="") for r in rows(("X", "Y"), {"Biden": (0, 0, 0)})]
    assert read_sites(data)[0].delegates == (0,)


def test_bad_number_is_reported_with_its_place() -> None:
    data = [dict(r, final_alignment="ten") for r in rows(("X", "Y"), {"Biden": (10, 10, 1)})]
    with pytest.raises(ValueError, match=r"final_alignment .* X / Y / Biden"):
        read_sites(data)


def test_audit_uses_delegates_to_elect_per_site() -> None:
    data = [
        *rows(("C", "right"), {"Biden": (20, 20, 4), "Sanders": (10, 10, 2), "Warren": (7, 7, 1)}),
        *rows(("C", "wrong"), {"Biden": (20, 20, 3), "Sanders": (10, 10, 3), "Warren": (7, 7, 1)}),
    ]
    results = audit(data, {("C", "right"): 7, ("C", "wrong"): 7})
    assert [r.codes for r in results] == [(), (ALLOCATION_DIFFERS,)]
    assert results[1].delegates_to_elect == 7


def test_unknown_delegates_at_an_empty_site_is_no_finding() -> None:
    data = list(rows(("CD1 Satellite", "empty"), {"Biden": (0, 0, 0), "Sanders": (0, 0, 0)}))
    (result,) = audit(data, {})
    assert result.findings == ()
    assert result.delegates_to_elect is None


def test_unknown_delegates_at_a_satellite_uses_the_attendance_table() -> None:
    data = list(rows(("CD1 Satellite", "S"), {"Biden": (15, 15, 3), "Sanders": (7, 7, 2)}))
    (result,) = audit(data, {("CD1 Satellite", "S"): None}, {("CD1 Satellite", "S")})
    assert result.delegates_to_elect == 5  # 22 attended
    assert result.findings == ()


def test_unknown_delegates_at_a_precinct_is_named() -> None:
    site = read_sites(rows(("Adair", "Z"), {"Biden": (5, 5, 1)}))[0]
    result = audit_site(site, None)
    assert result.codes == (DELEGATES_TO_ELECT_UNKNOWN,)


def test_read_precincts() -> None:
    table = read_precincts(
        [
            {"county": "A", "precinct": "P", "delegates_to_elect": "8", "is_satellite": "0"},
            {"county": "S", "precinct": "Q", "delegates_to_elect": "", "is_satellite": "1"},
        ]
    )
    assert table.delegates_to_elect == {("A", "P"): 8, ("S", "Q"): None}
    assert table.satellites == frozenset({("S", "Q")})


def test_summary_counts_sites_not_findings() -> None:
    data = [
        *rows(("C", "1"), {"Biden": (10, 12, 2), "Sanders": (10, 10, 2)}),
        *rows(("C", "2"), {"Biden": (10, 11, 2), "Sanders": (10, 10, 2)}),
        *rows(("C", "3"), {"Biden": (10, 10, 2), "Sanders": (10, 10, 2)}),
    ]
    summary = summarize(audit(data, dict.fromkeys([("C", "1"), ("C", "2"), ("C", "3")], 4)), 1)
    assert summary.sites == 3
    assert summary.counts[FINAL_TOTAL_EXCEEDS_FIRST] == 2
    assert [r.site.precinct for r in summary.examples[FINAL_TOTAL_EXCEEDS_FIRST]] == ["1"]
    assert summary.sites_with_errors == 2
    assert set(summary.counts) == set(AUDIT_CODES)


# --- the shipped 2020 data ------------------------------------------------------------------


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@cache
def audit_2020(results: Path = RESULTS_2020) -> dict[tuple[str, str], SiteFindings]:
    table = read_precincts(_read(PRECINCTS_2020))
    found = audit(_read(results), table.delegates_to_elect, table.satellites)
    return {r.site.key: r for r in found}


# Sites per code over the post-recanvass 2020 file (docs/AUDIT_2020.md explains each class).
EXPECTED_2020 = {
    "final_total_exceeds_first": 80,
    "viable_group_shrank": 63,
    "more_viable_groups_than_delegates": 57,
    "delegate_total_mismatch": 13,
    "delegates_to_nonviable_group": 16,
    "viable_group_without_delegate": 7,
    "allocation_differs": 28,
    "tie_needs_game_of_chance": 130,
    "delegates_to_elect_unknown": 0,
}


def test_2020_summary() -> None:
    summary = summarize(list(audit_2020().values()))
    assert summary.sites == 1765
    assert dict(summary.counts) == EXPECTED_2020
    assert summary.sites_with_errors == 248
    assert summary.sites_with_information_only == 102


def test_2020_prerecanvass_summary() -> None:
    summary = summarize(list(audit_2020(PRERECANVASS_2020).values()))
    assert summary.counts[ALLOCATION_DIFFERS] == 45
    assert summary.counts["delegate_total_mismatch"] == 27
    assert summary.sites_with_errors == 294


def test_2020_adair_1nw_has_only_the_tie() -> None:
    result = audit_2020()[("Adair", "1NW ADAIR")]
    assert result.site.precinct_id == "948199"
    assert result.delegates_to_elect == 8
    (finding,) = result.findings
    assert finding.code == TIE_NEEDS_GAME_OF_CHANCE
    assert finding.informational
    assert [result.site.names[g] for g in finding.groups] == ["Buttigieg", "Klobuchar"]


def test_2020_ocheyedan_before_and_after_the_recanvass() -> None:
    key = ("Osceola", "Ocheyedan Precinct 0500")
    before = audit_2020(PRERECANVASS_2020)[key]
    after = audit_2020()[key]
    names = before.site.names
    picked = [names.index(n) for n in ("Buttigieg", "Klobuchar", "Sanders")]
    assert [before.site.delegates[i] for i in picked] == [2, 1, 0]
    assert [after.site.delegates[i] for i in picked] == [1, 1, 1]
    assert before.codes == (VIABLE_GROUP_WITHOUT_DELEGATE,)
    assert before.findings[0].groups == (names.index("Sanders"),)
    assert after.findings == ()


def test_2020_empty_satellites_have_no_finding() -> None:
    empty = [r for r in audit_2020().values() if r.delegates_to_elect is None]
    assert len(empty) == 4
    assert all(r.site.is_empty and r.findings == () for r in empty)


@pytest.mark.parametrize(
    ("county", "precinct", "codes"),
    [
        ("Polk", "DES MOINES-80", ("final_total_exceeds_first", "delegates_to_nonviable_group")),
        ("Story", "Ames 3-1", ("allocation_differs",)),
        ("Scott", "(BF) City of Buffalo", ("allocation_differs",)),
        (
            "Bremer",
            "CITY OF PLAINFIELD/POLK TWP/DOUGLAS TWP",
            ("more_viable_groups_than_delegates",),
        ),
        ("Dallas", "ADEL 2", ("viable_group_shrank",)),
        ("Black Hawk", "CF W4 P1", ("viable_group_without_delegate",)),
        ("Black Hawk", "Big Creek La Porte", ("delegate_total_mismatch",)),
        ("Adams", "Adams 2", ("viable_group_shrank", "tie_needs_game_of_chance")),
    ],
)
def test_2020_known_sites(county: str, precinct: str, codes: tuple[str, ...]) -> None:
    assert audit_2020()[(county, precinct)].codes == codes
