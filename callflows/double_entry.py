"""Two operators key each worksheet, blind to each other; the two entries are compared
field by field (issue 18). Pure: the staff pages read the forms and the database, and this
module says what was keyed, where two entries differ, and what a reviewer's choices make.

Kenya's results system compares what the presiding officer typed with the scanned form;
NDI's Apollo flags every field where two observers disagree. Here a worksheet becomes a
report only when two entries agree, or when a reviewer (never one of its two operators)
has decided each field where they differ.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from callflows.keypad import MAX_FIGURE, parse_number
from callflows.state import BLOCKS

Figures = dict[str, list[int]]
"""{"first": [...], "final": [...], "delegates": [...]}, in ballot order."""


@dataclass(frozen=True, order=True)
class Field:
    """One figure of a worksheet: a block's figure for a group (by ballot position)."""

    block: str
    group: int

    @property
    def name(self) -> str:
        """The form field's name, e.g. "final-3"."""
        return f"{self.block}-{self.group}"


def fields(groups: int) -> list[Field]:
    """Every figure of a worksheet on a ballot of `groups` groups, in worksheet order."""
    return [Field(block, group) for block in BLOCKS for group in range(groups)]


MISSING = "missing"
"""A field left empty: every figure is needed (0 for a group nobody stood for)."""


def read_entry(form: Mapping[str, str], groups: int) -> tuple[Figures, dict[str, str]]:
    """The figures a form holds, and for each field that is not one why (MISSING, or the
    keypad's EntryError value: not_digits, too_large), for the page to word."""
    figures: Figures = {block: [0] * groups for block in BLOCKS}
    problems: dict[str, str] = {}
    for field in fields(groups):
        text = form.get(field.name, "").strip()
        value = parse_number(text, maximum=MAX_FIGURE) if text else MISSING
        if isinstance(value, int):
            figures[field.block][field.group] = value
        else:
            problems[field.name] = value if isinstance(value, str) else value.value
    return figures, problems


def differences(first: Figures, second: Figures) -> list[Field]:
    """The fields where two entries of one worksheet differ, in worksheet order."""
    return [
        Field(block, group)
        for block in BLOCKS
        for group, (a, b) in enumerate(zip(first[block], second[block], strict=True))
        if a != b
    ]


def resolve(first: Figures, decided: Mapping[Field, int], differing: Sequence[Field]) -> Figures:
    """The worksheet's figures once a reviewer has decided every differing field (the
    entries agree on the rest, so the first entry gives those)."""
    missing = [field.name for field in differing if field not in decided]
    if missing:
        raise ValueError(f"undecided: {', '.join(missing)}")
    figures = {block: list(values) for block, values in first.items()}
    for field in differing:
        figures[field.block][field.group] = decided[field]
    return figures


def totals(figures: Figures) -> dict[str, int]:
    """Each block's total, as the worksheet's total line states it when it is right."""
    return {block: sum(values) for block, values in figures.items()}
