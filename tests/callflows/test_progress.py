"""Rebuilding a report in progress from the blocks the database kept."""

from __future__ import annotations

from callflows.progress import from_blocks, holds_figures
from callflows.state import CONFIRM, PIN, PRECINCT, figure_step, fix_step, total_step


def block(figures: list[int], total: int | None = None, flagged: str = "") -> dict[str, object]:
    return {"figures": figures, "total": total, "flagged": flagged, "at": "2020-02-03T19:00Z"}


def test_progress_resumes_at_the_first_block_not_done() -> None:
    progress = from_blocks({"first": block([3, 4], total=7)}, groups=2)
    assert progress is not None
    assert progress.step == figure_step("final", 1)
    assert progress.figures == {"first": [3, 4], "final": [None, None], "delegates": [None, None]}
    assert progress.totals == {"first": 7}
    assert progress.flagged == {}


def test_with_every_block_done_it_resumes_at_the_confirmation() -> None:
    blocks = {
        "first": block([3, 4]),
        "final": block([3, 4], flagged="viable_group_shrank"),
        "delegates": block([1, 1], total=2),
    }
    progress = from_blocks(blocks, groups=2)
    assert progress is not None and progress.step == CONFIRM
    assert progress.flagged == {"final": "viable_group_shrank"}
    assert progress.totals == {"delegates": 2}


def test_no_block_no_progress() -> None:
    assert from_blocks({}, groups=2) is None


def test_only_steps_inside_the_report_hold_figures() -> None:
    assert all(map(holds_figures, [figure_step("first", 1), total_step("final"), CONFIRM]))
    assert holds_figures(fix_step("delegates"))
    assert not any(map(holds_figures, [PRECINCT, PIN, "resume"]))
