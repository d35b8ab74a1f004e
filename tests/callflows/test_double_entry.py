"""Two entries of a worksheet: what a form holds, where two entries differ, what a
reviewer's decisions make (callflows.double_entry)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callflows.double_entry import Field, differences, fields, read_entry, resolve, totals

GROUPS = 3


def form_of(figures: dict[str, list[int]]) -> dict[str, str]:
    return {
        f"{block}-{i}": str(v) for block, values in figures.items() for i, v in enumerate(values)
    }


SHEET = {"first": [10, 4, 0], "final": [12, 0, 2], "delegates": [2, 0, 1]}


def test_a_complete_form_reads_as_its_figures() -> None:
    figures, problems = read_entry(form_of(SHEET), GROUPS)
    assert (figures, problems) == (SHEET, {})
    assert totals(figures) == {"first": 14, "final": 14, "delegates": 3}


def test_each_unusable_field_is_named_with_why() -> None:
    form = {**form_of(SHEET), "first-1": "", "final-0": "12a", "delegates-2": "10000"}
    _, problems = read_entry(form, GROUPS)
    assert problems == {"first-1": "missing", "final-0": "not_digits", "delegates-2": "too_large"}


def test_differences_name_each_differing_field_in_worksheet_order() -> None:
    typo = {**SHEET, "final": [12, 0, 3], "first": [10, 5, 0]}
    assert differences(SHEET, typo) == [Field("first", 1), Field("final", 2)]
    assert differences(SHEET, SHEET) == []


def test_a_reviewer_decides_every_differing_field_and_nothing_else() -> None:
    typo = {**SHEET, "final": [12, 0, 3]}
    differing = differences(SHEET, typo)
    assert resolve(SHEET, {Field("final", 2): 2}, differing) == SHEET
    with pytest.raises(ValueError, match="final-2"):
        resolve(SHEET, {}, differing)


@given(st.lists(st.integers(0, 9999), min_size=9, max_size=9), st.data())
def test_resolving_with_the_second_entrys_values_gives_the_second_entry(
    values: list[int], data: st.DataObject
) -> None:
    first = {"first": values[0:3], "final": values[3:6], "delegates": values[6:9]}
    changed = data.draw(st.lists(st.sampled_from(fields(GROUPS)), unique=True))
    second = {block: list(v) for block, v in first.items()}
    for field in changed:
        second[field.block][field.group] += 1
    differing = differences(first, second)
    assert set(differing) == set(changed)
    decided = {field: second[field.block][field.group] for field in differing}
    assert resolve(first, decided, differing) == second
