"""Spoken names end to end: stored at import (or given by the file), listed and checked by
`hotline precincts spoken`, and heard by a chair who calls."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select

from ivr.cli import cli
from ivr.data import PRECINCTS_2020
from ivr.hotline import Hotline
from models import Precinct
from softphone import HANGUP, Keys
from tests.callflows.test_spoken_names import DOUBTFUL_2020
from tests.support.calls import place_call
from tests.support.data import import_precincts, precinct_rows

STUART = "948200"  # Adair "2NE STUART"
ALLAMAKEE_1 = "948208"  # "Pct 01 - WL/HV"


def stored_spoken_names(hotline: Hotline) -> dict[str, str]:
    with hotline.sessions() as session:
        return {p.precinct_id: p.spoken_name for p in session.scalars(select(Precinct))}


def test_the_import_stores_the_rules_spoken_name_unless_the_file_gives_one(
    runner: FlaskCliRunner, hotline: Hotline, tmp_path: Path
) -> None:
    given = {STUART: "Stuart, in northeast Adair"}
    import_precincts(runner, tmp_path, columns={"spoken_name": given})
    spoken = stored_spoken_names(hotline)
    assert spoken["948199"] == "1 Northwest Adair"
    assert spoken[STUART] == "Stuart, in northeast Adair"

    # Imported again without the column, the rules' reading comes back.
    import_precincts(runner, tmp_path)
    assert stored_spoken_names(hotline)[STUART] == "2 Northeast Stuart"


def test_a_bad_spoken_name_is_reported_by_line_and_nothing_is_imported(
    runner: FlaskCliRunner, hotline: Hotline, tmp_path: Path
) -> None:
    rows = precinct_rows(("Adair",))
    for row in rows:
        row["spoken_name"] = ""
    rows[1]["spoken_name"] = "Stuart\tnortheast"
    rows[3]["spoken_name"] = "Orient " * 40
    path = tmp_path / "precincts.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    result = runner.invoke(cli, ["precincts", "import", str(path)])

    assert result.exit_code != 0
    errors = [line.split(": ", 1)[1] for line in result.output.splitlines() if ": line " in line]
    assert errors == [
        "line 3: spoken_name 'Stuart\\tnortheast' has a control character",
        "line 5: spoken_name is longer than 200 characters",
    ]
    assert stored_spoken_names(hotline) == {}


def test_precincts_spoken_lists_each_id_stored_name_and_spoken_name(
    runner: FlaskCliRunner, tmp_path: Path
) -> None:
    import_precincts(runner, tmp_path)

    result = runner.invoke(cli, ["precincts", "spoken"])

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "948199\t1NW ADAIR\t1 Northwest Adair",
        "948200\t2NE STUART\t2 Northeast Stuart",
        "948201\t3SW FONTANELLE\t3 Southwest Fontanelle",
        "948202\t4SE ORIENT\t4 Southeast Orient",
        "948203\t5GF GREENFIELD\t5 Greenfield",
    ]


def test_the_check_lists_only_doubtful_names_with_the_reason_and_a_count(
    runner: FlaskCliRunner, tmp_path: Path
) -> None:
    # Allamakee's precincts 1 to 8 name townships by codes; the file fixes precinct 1.
    given = {ALLAMAKEE_1: "Allamakee precinct 1"}
    import_precincts(runner, tmp_path, ("Adair", "Allamakee"), columns={"spoken_name": given})

    result = runner.invoke(cli, ["precincts", "spoken", "--check"])

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == (
        "948211\tPct 02 - FC/JF/LL/MK/UP\tPrecinct 2, F C, J F, L L, M K and U P"
        "\tread letter by letter: FC, JF, LL, MK, UP"
    )
    assert [line.split("\t")[0] for line in lines[:-1]] == [
        "948211",
        "948212",
        "948213",
        "948214",
        "948215",
        "948216",
        "948217",
    ]
    assert lines[-1] == "7 of 16 precinct names are doubtful"


def test_the_check_of_the_2020_file_lists_as_many_as_the_readme_says(
    runner: FlaskCliRunner,
) -> None:
    imported = runner.invoke(
        cli, ["precincts", "import", str(PRECINCTS_2020), "--assign-missing-ids"]
    )
    assert imported.exit_code == 0, imported.output

    result = runner.invoke(cli, ["precincts", "spoken", "--check"])

    lines = result.output.splitlines()
    assert lines[-1] == f"{DOUBTFUL_2020} of 1765 precinct names are doubtful"
    assert len(lines) == DOUBTFUL_2020 + 1
    assert all(len(line.split("\t")) == 4 for line in lines[:-1])


def test_a_chair_hears_the_spoken_name_not_the_stored_one(
    client: FlaskClient, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    given = {STUART: "Stuart, in northeast Adair"}
    import_precincts(runner, tmp_path, columns={"spoken_name": given})
    keys: Iterator[Keys] = iter([f"{STUART}#", HANGUP])

    record = place_call(client, lambda prompt: next(keys))

    assert "Stuart, in northeast Adair, Adair County." in record.heard
    assert not any("2NE STUART" in said for said in record.heard)
