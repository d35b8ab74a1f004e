"""The drill line's practice: its ballot, the practice worksheet every chair gets in the
caucus packet, and how a drill call's figures compare with it.

A drill is a mode of the ordinary call flow (`CallState.drill`): the chair authenticates
with the real precinct ID and PIN, then keys this worksheet on the practice ballot through
the night's steps and checks. The worksheet is the same for every chair (whatever their
precinct elects), so its figures carry their own number of delegates, and they exercise
what chairs get wrong: a block total, groups below viability that realign, and a tie for
a delegate settled by a game of chance.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from callflows.ballots import Ballot, load_ballot
from callflows.caucus import allocate
from callflows.state import BLOCKS, DELEGATES, FINAL, FIRST

PRACTICE_BALLOT = "practice"
"""The drill's ballot file (callflows/ballots/practice.toml): fictional groups only."""
CHANCE = "chance"
"""How a mismatch names the game of chance (it is no block)."""


@dataclass(frozen=True)
class PracticeWorksheet:
    """The practice worksheet: figures per block in ballot order, the delegates the
    practice precinct elects, and the groups (indices) that won its game of chance."""

    delegates_to_elect: int
    figures: dict[str, tuple[int, ...]]
    chance_winners: tuple[int, ...]

    def total(self, block: str) -> int:
        return sum(self.figures[block])


WORKSHEET = PracticeWorksheet(
    # 60 people, 4 delegates: a group needs 9 (15%) to be viable. Cedar (7) and Birch (5)
    # are not, and realign (2 to Oak, 4 to Maple, 6 to Willow); Oak, Maple and Willow end
    # tied at 20, each worth 1.33 delegates: 1 each, and a game of chance gives the fourth
    # (Maple won it).
    delegates_to_elect=4,
    figures={
        FIRST: (18, 16, 14, 7, 5),
        FINAL: (20, 20, 20, 0, 0),
        DELEGATES: (1, 2, 1, 0, 0),
    },
    chance_winners=(1,),
)


@cache
def practice_ballot() -> Ballot:
    return load_ballot(PRACTICE_BALLOT)


@dataclass(frozen=True)
class Mismatch:
    """One figure keyed differently from the worksheet: `block` is a block or CHANCE,
    `group` the group's ballot index (for CHANCE, the worksheet's winner)."""

    block: str
    group: int
    keyed: int
    expected: int


def mismatches(
    figures: dict[str, list[int]], chance: list[int], sheet: PracticeWorksheet = WORKSHEET
) -> list[Mismatch]:
    """Every figure of a drill that differs from the worksheet, block by block in ballot
    order, then the game of chance (`chance`: the winners the chair keyed)."""
    found = [
        Mismatch(block, group, keyed, expected)
        for block in BLOCKS
        for group, (keyed, expected) in enumerate(
            zip(_padded(figures.get(block, []), sheet), sheet.figures[block], strict=True)
        )
        if keyed != expected
    ]
    if sorted(chance) != sorted(sheet.chance_winners):
        found.extend(Mismatch(CHANCE, group, 0, 1) for group in sheet.chance_winners)
    return found


def _padded(values: list[int], sheet: PracticeWorksheet) -> list[int]:
    width = len(sheet.figures[FIRST])
    return (list(values) + [0] * width)[:width]


def chance_keys(sheet: PracticeWorksheet = WORKSHEET) -> str:
    """What a chair keys when asked who won the practice game of chance: the tied groups
    are numbered as the question reads them (callflows.checks.chance_question)."""
    first, final = sheet.figures[FIRST], sheet.figures[FINAL]
    game = allocate(sheet.delegates_to_elect, first, final).games[0]
    return "".join(str(game.groups.index(group) + 1) for group in sheet.chance_winners)


def mismatch_labels(found: list[Mismatch], ballot: Ballot) -> list[str]:
    """Each mismatch as stored for staff: "final:Maple", "chance:Maple"."""
    return [f"{m.block}:{ballot.groups[m.group].name}" for m in found]
