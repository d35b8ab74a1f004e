"""Tests for the ``hotline audit`` command, run through click's CliRunner."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

from click.testing import CliRunner

from ivr.audit_command import DEFAULT_PRECINCTS, FINDINGS_COLUMNS, audit_command
from ivr.data import RESULTS_2020

REPO = Path(__file__).resolve().parents[2]

RESULT_COLUMNS = (
    "county",
    "precinct",
    "precinct_id",
    "candidate",
    "first_alignment",
    "final_alignment",
    "county_delegates",
    "sde",
    "status",
    "receipt",
)


def write_csv(path: Path, header: tuple[str, ...], lines: list[tuple[object, ...]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(lines)
    return path


def test_default_precincts_file_ships_in_the_package() -> None:
    assert DEFAULT_PRECINCTS == REPO / "ivr" / "data" / "iowa2020" / "iowa2020_precincts.csv"
    assert DEFAULT_PRECINCTS.is_file()


def test_audit_of_a_small_export(tmp_path: Path) -> None:
    results = write_csv(
        tmp_path / "results.csv",
        RESULT_COLUMNS,
        [
            ("Adair", "Good", "1", "Biden", 20, 20, 4, "0.3", "confirmed", "R1"),
            ("Adair", "Good", "1", "Sanders", 10, 10, 2, "0.2", "confirmed", "R1"),
            ("Adair", "Good", "1", "Warren", 7, 7, 1, "0.1", "confirmed", "R1"),
            ("Adair", "Bad", "2", "Biden", 20, 20, 3, "0.3", "confirmed", "R2"),
            ("Adair", "Bad", "2", "Sanders", 10, 10, 3, "0.3", "confirmed", "R2"),
            ("Adair", "Bad", "2", "Warren", 7, 7, 1, "0.1", "confirmed", "R2"),
        ],
    )
    precincts = write_csv(
        tmp_path / "precincts.csv",
        ("precinct_id", "county", "precinct", "delegates_to_elect", "is_satellite"),
        [("1", "Adair", "Good", 7, 0), ("2", "Adair", "Bad", 7, 0)],
    )
    out = tmp_path / "findings.csv"
    args = [str(results), "--precincts", str(precincts), "--out", str(out)]
    result = CliRunner().invoke(audit_command, args)
    assert result.exit_code == 0, result.output
    assert "Sites audited: 2" in result.output
    assert "  allocation_differs: 1" in result.output
    assert "Adair / Bad (2), D=7: expected [Biden 4, Sanders 2, Warren 1]" in result.output
    assert "  final_total_exceeds_first: 0" in result.output
    with out.open(newline="", encoding="utf-8") as handle:
        written = list(csv.reader(handle))
    assert tuple(written[0]) == FINDINGS_COLUMNS
    assert written[1][:4] == ["Adair", "Bad", "2", "allocation_differs"]
    assert len(written) == 2


def test_audit_of_the_2020_data(tmp_path: Path) -> None:
    out = tmp_path / "findings.csv"
    result = CliRunner().invoke(audit_command, [str(RESULTS_2020), "--out", str(out)])
    assert result.exit_code == 0, result.output
    expected = {
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
    assert "Sites audited: 1765" in result.output
    assert "Sites with findings: 248" in result.output
    for code, count in expected.items():
        assert f"  {code}: {count}\n" in result.output
    sites: dict[str, set[tuple[str, str]]] = defaultdict(set)
    with out.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            sites[row["code"]].add((row["county"], row["precinct"]))
    assert {code: len(found) for code, found in sites.items()} == {
        code: count for code, count in expected.items() if count
    }


def test_missing_results_file_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(audit_command, [str(tmp_path / "nope.csv")])
    assert result.exit_code == 2
