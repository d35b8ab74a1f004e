"""A report in progress: which steps are worth saving, and rebuilding one from the blocks
the database keeps.

A chair whose call drops is offered to continue where they left off. The web tier saves
`Progress` after each step that holds figures (in Redis, by precinct and phone); if Redis
lost it, the last completed blocks (kept in the database by the call log) are enough to
resume at the first block not yet done.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from callflows.state import BLOCKS, CHANCE, CONFIRM, Progress, figure_step, step_kind

PROGRESS_STEPS = frozenset({"figure", "total", "fix", CHANCE, CONFIRM})
"""The kinds of step at which a call holds figures worth resuming."""


def holds_figures(step: str) -> bool:
    """Whether a call at `step` has a report in progress to save."""
    return step_kind(step) in PROGRESS_STEPS


def from_blocks(blocks: Mapping[str, Mapping[str, Any]], groups: int) -> Progress | None:
    """Progress rebuilt from completed blocks ({block: {figures, total, flagged}}): resume
    at the first block not done, or at the confirmation when all are; None if none is."""
    done = [block for block in BLOCKS if block in blocks]
    if not done:
        return None
    pending = [block for block in BLOCKS if block not in blocks]
    empty: list[int | None] = [None] * groups
    return Progress(
        step=figure_step(pending[0], 1) if pending else CONFIRM,
        figures={
            block: list(blocks[block]["figures"]) if block in blocks else list(empty)
            for block in BLOCKS
        },
        totals={
            block: blocks[block]["total"] for block in done if blocks[block]["total"] is not None
        },
        flagged={block: blocks[block]["flagged"] for block in done if blocks[block]["flagged"]},
    )
