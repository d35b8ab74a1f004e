"""The command line's part in trusting chairs: import counts precincts with no chair phone,
the demo registers one for every site, and `hotline call` sends the carrier's attestation."""

from __future__ import annotations

import csv
import inspect
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import ClassVar

import pytest
from flask.testing import FlaskClient, FlaskCliRunner

from ivr import operations
from ivr.cli import cli
from ivr.data import PRECINCTS_2020
from softphone import FlaskClientTransport, terminal
from tests.support.data import precinct_rows


def write_precincts(path: Path, phones: dict[str, str]) -> Path:
    rows = precinct_rows(("Adair",))
    for row in rows:
        row["chair_phone"] = phones.get(row["precinct_id"], "")
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_import_says_how_many_precincts_have_no_chair_phone(
    runner: FlaskCliRunner, tmp_path: Path
) -> None:
    first = write_precincts(tmp_path / "some.csv", {"948199": "+15155550123"})
    result = runner.invoke(cli, ["precincts", "import", str(first)])
    assert result.exit_code == 0, result.output
    assert "4 precinct(s) have no chair phone" in result.output
    assert "held as unverified" in result.output

    # A phone stored before stays registered when a later file leaves the column empty.
    everyone = {pid: f"+1515555{i:04d}" for i, pid in enumerate(("948200", "948201", "948202"))}
    again = runner.invoke(
        cli, ["precincts", "import", str(write_precincts(tmp_path / "more.csv", everyone))]
    )
    assert again.exit_code == 0, again.output
    assert "1 precinct(s) have no chair phone" in again.output


def test_import_with_every_chair_phone_says_nothing_of_them(
    runner: FlaskCliRunner, tmp_path: Path
) -> None:
    ids = [row["precinct_id"] for row in precinct_rows(("Adair",))]
    path = write_precincts(
        tmp_path / "all.csv", {pid: f"+1515555{i:04d}" for i, pid in enumerate(ids)}
    )
    result = runner.invoke(cli, ["precincts", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "no chair phone" not in result.output


def test_the_demo_registers_a_distinct_chair_phone_for_every_site(
    runner: FlaskCliRunner, tmp_path: Path
) -> None:
    pins_out = tmp_path / "instance" / "pins.csv"
    result = runner.invoke(cli, ["demo", "--pins-out", str(pins_out)])
    assert result.exit_code == 0, result.output
    assert "no chair phone" not in result.output
    with pins_out.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    phones = {row["precinct_id"]: row["chair_phone"] for row in rows}
    assert len(rows) == 1765 and len(set(phones.values())) == 1765 and all(phones.values())
    # The README's example call: Adair "1NW ADAIR" from its demo chair phone.
    assert phones["948199"] == operations.demo_chair_phone(0) == "+15152000000"
    assert (pins_out.parent / "demo-precincts.csv").exists()


def test_demo_numbering_is_the_flood_numbering(tmp_path: Path) -> None:
    from flood.plan import chair_phone

    out = tmp_path / "with-phones.csv"
    assert operations.write_precincts_with_phones(PRECINCTS_2020, out) == 1765
    with out.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["chair_phone"] for row in rows[:3]] == [chair_phone(i) for i in range(3)]


class Recording(FlaskClientTransport):
    """The Flask test client as the terminal's transport, keeping every form it posts."""

    posted: ClassVar[list[Mapping[str, str]]] = []

    def post(
        self, url: str, params: Mapping[str, str], headers: Mapping[str, str]
    ) -> tuple[int, str]:
        Recording.posted.append(dict(params))
        return super().post(url, params, headers)

    def __enter__(self) -> Recording:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        return None


@pytest.mark.parametrize(
    ("options", "sent"),
    [
        ([], "TN-Validation-Passed-A"),
        (["--unattested"], None),
        (["--stir-verstat", "TN-Validation-Passed-B"], "TN-Validation-Passed-B"),
    ],
)
def test_hotline_call_sends_attestation_a_unless_told_otherwise(
    client: FlaskClient,
    runner: FlaskCliRunner,
    monkeypatch: pytest.MonkeyPatch,
    options: list[str],
    sent: str | None,
) -> None:
    Recording.posted = []
    monkeypatch.setattr(terminal, "HttpTransport", lambda: Recording(client))
    result = runner.invoke(
        cli, ["call", "--from", "+15152000000", "--url", "http://hotline.test/voice", *options],
        input="q\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert Recording.posted, "the call placed no request"
    assert all(form.get("StirVerstat") == sent for form in Recording.posted)


def test_the_terminal_softphone_defaults_to_attestation_a() -> None:
    parameter = inspect.signature(terminal.run_terminal_call).parameters["stir_verstat"]
    assert parameter.default == "TN-Validation-Passed-A"
