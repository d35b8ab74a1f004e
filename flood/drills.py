"""The rehearsal's drill phase: which chairs first call the drill line, and what they key.

A drilling chair is the night's `Chair` persona (same precinct, PIN, registered phone and
carrier attestation) calling the drill line with the practice worksheet of callflows.drill
on the practice ballot, as every chair finds it in the caucus packet. Some slip and fix the
slip, as on the night; a few misread one figure and leave it, so the readiness board shows
drills that did not match beside those that did.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from callflows import drill
from callflows.state import BLOCKS, FIRST
from flood.personas import Chair
from flood.worksheets import Worksheet

PRACTICE_SITE = "Practice"
"""The county and precinct names of the practice worksheet (it is nobody's precinct)."""
DRILL_TYPO_RATE = 0.05
"""Chance a drilling chair mistypes a figure (and fixes it): a worksheet they have not seen
before, so more than on the night; about half the drills have a slip fixed."""
MISREAD_SHARE = 0.1
"""Share of the drilling chairs who misread one figure and leave it (at least one when two
or more drill), so their drill does not match."""
MISREAD = (FIRST, 4, 6)
"""Birch's first alignment keyed as 6 for 5: the block total agrees, so no check catches
it and the drill line names it at the end (block, group index, figure keyed)."""


def practice_worksheet(precinct_id: str, *, misread: bool = False) -> Worksheet:
    """The practice worksheet as a flood worksheet for `precinct_id`'s chair (`misread`:
    with MISREAD's figure instead of the worksheet's)."""
    names = drill.practice_ballot().group_names
    figures = {block: list(drill.WORKSHEET.figures[block]) for block in BLOCKS}
    if misread:
        block, group, keyed = MISREAD
        figures[block][group] = keyed
    first, final, delegates = (dict(zip(names, figures[block], strict=True)) for block in BLOCKS)
    return Worksheet(
        county=PRACTICE_SITE,
        precinct=PRACTICE_SITE,
        precinct_id=precinct_id,
        first=first,
        final=final,
        delegates=delegates,
        delegates_to_elect=drill.WORKSHEET.delegates_to_elect,
    )


def drilling_chairs(chairs: Sequence[Chair], share: float, seed: int) -> list[Chair]:
    """The drill personas of a share `share` of `chairs` (drawn with `seed`), in the chairs'
    order; a few of them (MISREAD_SHARE) misread a figure."""
    # A generator of its own, so the night's plan is the same whatever the share.
    rng = random.Random(f"{seed}:drills")
    count = round(share * len(chairs))
    drilling = sorted(rng.sample(range(len(chairs)), count))
    misreading = round(MISREAD_SHARE * count) or (1 if count >= 2 else 0)
    misread = set(rng.sample(drilling, misreading))
    ballot = drill.practice_ballot()
    return [
        Chair(
            precinct_id=chairs[index].precinct_id,
            pin=chairs[index].pin,
            sheet=practice_worksheet(chairs[index].precinct_id, misread=index in misread),
            ballot=ballot,
            phone=chairs[index].phone,
            rng=random.Random(rng.random()),
            typo_rate=DRILL_TYPO_RATE,
            stir_verstat=chairs[index].stir_verstat,
            drill=True,
        )
        for index in drilling
    ]


def keyed_right(chair: Chair) -> bool:
    """Whether the drill persona keys the practice worksheet as printed (so it must match).

    The game of chance is taken as keyed right: the persona keys the winners its own
    worksheet's delegates imply, and a misread never changes those."""
    figures = {block: chair.sheet.block(chair.ballot, block) for block in BLOCKS}
    return not drill.mismatches(figures, list(drill.WORKSHEET.chance_winners))
