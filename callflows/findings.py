"""Findings: what is wrong (or worth knowing) about a precinct's reported caucus math.

Each finding carries a short spoken sentence for a chair on the phone and a terser written
one for reports and exports. The checks run in two blocks, matching the phone call: once
the first and final alignments are known (:func:`check_final_block`), and once the chair
has also given the delegates (:func:`check_delegates_block`).

To keep the chair from hearing one mistake several times, ``allocation_differs`` is only
reported when

* none of the specific delegate findings (``delegate_total_mismatch``,
  ``delegates_to_nonviable_group``, ``viable_group_without_delegate``) was: those name the
  problem more plainly, and fixing it changes the allocation anyway; and
* the final total does not exceed the first (``final_total_exceeds_first``): the shares
  would then add up to more than the precinct elects, so the "expected" delegates would be
  an artefact of the count error. The chair must fix the counts first.

``viable_group_shrank`` and ``more_viable_groups_than_delegates`` do not hold it back: the
delegates are still checked against the final counts exactly as the chair reported them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from callflows.caucus import (
    Allocation,
    GameOfChance,
    Stake,
    allocate,
    is_viable,
    viability_threshold,
)

__all__ = [
    "ALLOCATION_DIFFERS",
    "CODES",
    "DELEGATES_TO_NONVIABLE_GROUP",
    "DELEGATE_TOTAL_MISMATCH",
    "FINAL_TOTAL_EXCEEDS_FIRST",
    "MORE_VIABLE_GROUPS_THAN_DELEGATES",
    "TIE_NEEDS_GAME_OF_CHANCE",
    "VIABLE_GROUP_SHRANK",
    "VIABLE_GROUP_WITHOUT_DELEGATE",
    "Finding",
    "check_delegates_block",
    "check_final_block",
    "check_report",
]

FINAL_TOTAL_EXCEEDS_FIRST = "final_total_exceeds_first"
VIABLE_GROUP_SHRANK = "viable_group_shrank"
MORE_VIABLE_GROUPS_THAN_DELEGATES = "more_viable_groups_than_delegates"
DELEGATE_TOTAL_MISMATCH = "delegate_total_mismatch"
DELEGATES_TO_NONVIABLE_GROUP = "delegates_to_nonviable_group"
VIABLE_GROUP_WITHOUT_DELEGATE = "viable_group_without_delegate"
ALLOCATION_DIFFERS = "allocation_differs"
TIE_NEEDS_GAME_OF_CHANCE = "tie_needs_game_of_chance"

# Every code, in the order a report lists them.
CODES: tuple[str, ...] = (
    FINAL_TOTAL_EXCEEDS_FIRST,
    VIABLE_GROUP_SHRANK,
    MORE_VIABLE_GROUPS_THAN_DELEGATES,
    DELEGATE_TOTAL_MISMATCH,
    DELEGATES_TO_NONVIABLE_GROUP,
    VIABLE_GROUP_WITHOUT_DELEGATE,
    ALLOCATION_DIFFERS,
    TIE_NEEDS_GAME_OF_CHANCE,
)


@dataclass(frozen=True)
class Finding:
    """One finding: its code, what the chair hears, what a report shows, and the groups."""

    code: str
    spoken: str
    written: str
    groups: tuple[int, ...] = ()
    informational: bool = False


def check_final_block(
    names: Sequence[str], first: Sequence[int], final: Sequence[int], delegates_to_elect: int
) -> list[Finding]:
    """Check what can be checked once the first and final alignments are known."""
    _check_lengths(names, first, final)
    allocation = allocate(delegates_to_elect, first, final)
    findings = _final_exceeds_first(first, final)
    findings += _viable_groups_shrank(names, first, final, delegates_to_elect)
    findings += _too_many_viable_groups(names, final, allocation)
    return findings


def check_delegates_block(
    names: Sequence[str],
    first: Sequence[int],
    final: Sequence[int],
    delegates: Sequence[int],
    delegates_to_elect: int,
) -> list[Finding]:
    """Check the delegates against the alignments (final-block findings are not repeated)."""
    _check_lengths(names, first, final, delegates)
    allocation = allocate(delegates_to_elect, first, final)
    findings = _total_mismatch(delegates, allocation)
    findings += _delegates_to_nonviable(names, final, delegates, allocation)
    findings += _viable_without_delegate(names, final, delegates, allocation)
    reported = tuple(delegates)
    if findings:
        return findings
    if reported in allocation.outcomes:
        return [_tie_settled(names, final, reported, allocation)] if allocation.games else []
    if sum(final) > sum(first):
        return []
    return [_allocation_differs(names, final, reported, allocation)]


def check_report(
    names: Sequence[str],
    first: Sequence[int],
    final: Sequence[int],
    delegates: Sequence[int],
    delegates_to_elect: int,
) -> list[Finding]:
    """Run every check on a complete report: the final block, then the delegates block."""
    return check_final_block(names, first, final, delegates_to_elect) + check_delegates_block(
        names, first, final, delegates, delegates_to_elect
    )


def _check_lengths(names: Sequence[str], *columns: Sequence[int]) -> None:
    if any(len(column) != len(names) for column in columns):
        raise ValueError("every column must have one entry per name")


# --- final block --------------------------------------------------------------------------


def _final_exceeds_first(first: Sequence[int], final: Sequence[int]) -> list[Finding]:
    attendance, final_total = sum(first), sum(final)
    if final_total <= attendance:
        return []
    spoken = (
        f"Your final alignment adds up to {_people(final_total)}, but only {attendance} "
        "were counted in the first alignment. The final total cannot be higher."
    )
    written = f"final alignment total {final_total} > first alignment total {attendance}"
    return [Finding(FINAL_TOTAL_EXCEEDS_FIRST, spoken, written)]


def _viable_groups_shrank(
    names: Sequence[str], first: Sequence[int], final: Sequence[int], delegates_to_elect: int
) -> list[Finding]:
    # With one delegate there is no threshold, so no group is locked in and anyone may move.
    if delegates_to_elect < 2:
        return []
    attendance = sum(first)
    findings = []
    for i, (name, before, after) in enumerate(zip(names, first, final, strict=True)):
        if after >= before or not is_viable(before, delegates_to_elect, attendance):
            continue
        spoken = (
            f"{name} was viable in the first alignment with {_people(before)}, so its "
            f"members could not realign, but your final alignment shows {after}."
        )
        threshold = viability_threshold(delegates_to_elect, attendance)
        written = (
            f"{name}: viable at first alignment ({before} >= {threshold} needed of "
            f"{attendance}) but final {after} < {before}"
        )
        findings.append(Finding(VIABLE_GROUP_SHRANK, spoken, written, (i,)))
    return findings


def _too_many_viable_groups(
    names: Sequence[str], final: Sequence[int], allocation: Allocation
) -> list[Finding]:
    if not allocation.too_many_viable_groups:
        return []
    d = allocation.delegates_to_elect
    tied = allocation.games[0].groups if allocation.games else ()
    viable_count = len(allocation.viable_groups)
    intro = (
        f"Your final alignment has {viable_count} viable groups, but the precinct elects "
        f"only {_delegates(d)}."
    )
    parts, notes = [], []
    if allocation.must_realign:
        sure = _list_groups(names, final, allocation.must_realign)
        parts.append(f"The smallest, {sure}, must realign.")
        notes.append(f"must realign: {_list_counts(names, final, allocation.must_realign)}")
    if tied:
        parts.append(
            f"{_list_names(names, tied)} tie with {final[tied[0]]} each; a game of chance "
            f"decides {_stake_words(allocation.games[0])}."
        )
        notes.append(f"tie at the cut: {_list_counts(names, final, tied)}")
    spoken = " ".join([intro, *parts])
    written = f"{viable_count} viable groups > {d} delegates; " + "; ".join(notes)
    groups = tuple(sorted((*allocation.must_realign, *tied)))
    return [Finding(MORE_VIABLE_GROUPS_THAN_DELEGATES, spoken, written, groups)]


# --- delegates block ----------------------------------------------------------------------


def _total_mismatch(delegates: Sequence[int], allocation: Allocation) -> list[Finding]:
    # With no viable group nobody can be elected; delegates given anyway are reported per
    # group by delegates_to_nonviable_group, which says more than a bare total would.
    if not allocation.viable_groups:
        return []
    total, d = sum(delegates), allocation.delegates_to_elect
    if total == d:
        return []
    spoken = f"Your worksheet gives out {_delegates(total)}, but this precinct elects {d}."
    written = f"delegates total {total} != delegates to elect {d}"
    return [Finding(DELEGATE_TOTAL_MISMATCH, spoken, written)]


def _delegates_to_nonviable(
    names: Sequence[str], final: Sequence[int], delegates: Sequence[int], allocation: Allocation
) -> list[Finding]:
    findings = []
    for i, (name, count, given) in enumerate(zip(names, final, delegates, strict=True)):
        if given <= 0 or allocation.viable[i]:
            continue
        reason = _why_nonviable(name, count, allocation)
        spoken = f"Your worksheet gives {name} {_delegates(given)}, but {reason}"
        written = (
            f"{name}: {given} delegate(s) but not viable "
            f"({_why_nonviable_terse(count, allocation)})"
        )
        findings.append(Finding(DELEGATES_TO_NONVIABLE_GROUP, spoken, written, (i,)))
    return findings


def _why_nonviable(name: str, count: int, allocation: Allocation) -> str:
    if allocation.attendance == 0:
        return "no one was counted in the first alignment, so no group can be viable."
    if allocation.delegates_to_elect == 0:
        return "this precinct elects no delegates."
    if count == 0:
        return f"{name} had nobody in the final alignment."
    return (
        f"{name} had {_people(count)} of {allocation.attendance} in the final alignment, "
        f"below the {allocation.threshold} needed to be viable."
    )


def _why_nonviable_terse(count: int, allocation: Allocation) -> str:
    if allocation.attendance == 0:
        return "first alignment total 0"
    if allocation.delegates_to_elect == 0:
        return "precinct elects 0"
    if count == 0:
        return "final 0"
    return f"final {count} < {allocation.threshold} needed of {allocation.attendance}"


def _viable_without_delegate(
    names: Sequence[str], final: Sequence[int], delegates: Sequence[int], allocation: Allocation
) -> list[Finding]:
    # With one delegate only the largest group gets it; allocation_differs says so better.
    if allocation.delegates_to_elect < 2:
        return []
    outcomes = allocation.outcomes
    findings = []
    for i, (name, count, given) in enumerate(zip(names, final, delegates, strict=True)):
        # Only a group that gets a delegate whatever the games of chance decide: that spares
        # the smallest groups that must realign when there are more viable groups than seats.
        if given != 0 or min(o[i] for o in outcomes) == 0:
            continue
        spoken = (
            f"Your worksheet gives {name} no delegate, but {name} had {_people(count)} of "
            f"{allocation.attendance} in the final alignment, at least the "
            f"{allocation.threshold} needed to be viable. Every viable group gets a delegate."
        )
        written = (
            f"{name}: viable (final {count} >= {allocation.threshold} of "
            f"{allocation.attendance}) but 0 delegates"
        )
        findings.append(Finding(VIABLE_GROUP_WITHOUT_DELEGATE, spoken, written, (i,)))
    return findings


def _allocation_differs(
    names: Sequence[str], final: Sequence[int], reported: tuple[int, ...], allocation: Allocation
) -> Finding:
    closest = min(allocation.outcomes, key=lambda outcome: _distance(outcome, reported))
    groups = tuple(i for i, (a, b) in enumerate(zip(closest, reported, strict=True)) if a != b)
    # Every group the worksheet gives delegates to, plus any it wrongly leaves at zero.
    shown = tuple(i for i, n in enumerate(reported) if n or i in groups)
    if allocation.delegates_to_elect == 1:
        spoken = _one_delegate_differs(names, final, reported, allocation)
    else:
        spoken = (
            f"By the caucus math your delegates should be {_expected(names, allocation)}. "
            f"Your worksheet has {_vector(names, reported, shown)}."
        )
    expected = " or ".join(f"[{_vector(names, o)}]" for o in allocation.outcomes)
    written = f"expected {expected}; reported [{_vector(names, reported)}]"
    return Finding(ALLOCATION_DIFFERS, spoken, written, groups)


def _distance(a: Sequence[int], b: Sequence[int]) -> int:
    return sum(abs(x - y) for x, y in zip(a, b, strict=True))


def _one_delegate_differs(
    names: Sequence[str], final: Sequence[int], reported: tuple[int, ...], allocation: Allocation
) -> str:
    top = allocation.games[0].groups if allocation.games else allocation.viable_groups[:1]
    if not top:
        winner = "nobody was in the final alignment"
    elif len(top) == 1:
        winner = f"that is {names[top[0]]}, with {_people(final[top[0]])}"
    else:
        winner = (
            f"{_list_names(names, top)} tie with {final[top[0]]} each and play a game of chance"
        )
    given = [i for i, n in enumerate(reported) if n > 0]
    if given:
        shown = f"Your worksheet gives it to {_list_groups(names, final, tuple(given))}."
    else:
        shown = "Your worksheet gives it to no one."
    return f"With one delegate, the largest group wins it: {winner}. {shown}"


def _tie_settled(
    names: Sequence[str], final: Sequence[int], reported: tuple[int, ...], allocation: Allocation
) -> Finding:
    game = allocation.games[0]
    # Winners gain a delegate over the base, or keep the base when losers give one back.
    gained = tuple(g for g in game.groups if reported[g] != allocation.base[g])
    kept = tuple(g for g in game.groups if reported[g] == allocation.base[g])
    won = kept if game.losers_affected else gained
    tied = _list_names(names, game.groups)
    stake = _stake_words(game)
    spoken = (
        f"{tied} tied, so a game of chance decides {stake}. "
        f"Your worksheet matches {_list_names(names, won)} winning it."
    )
    written = f"game of chance among {_list_counts(names, final, game.groups)} for {stake}; "
    written += f"reported winner(s): {_list_names(names, won)}"
    return Finding(TIE_NEEDS_GAME_OF_CHANCE, spoken, written, game.groups, informational=True)


def _stake_words(game: GameOfChance) -> str:
    n = game.affected
    if game.stake is Stake.SOLE_DELEGATE:
        return "who gets the only delegate"
    if game.stake is Stake.EXTRA_DELEGATE:
        return f"who gets {_count(n, 'extra delegate')}"
    if game.stake is Stake.LOSE_DELEGATE:
        return f"who gives back {_count(n, 'delegate')}"
    return f"which {_count(n, 'group')} must realign"


def _expected(names: Sequence[str], allocation: Allocation) -> str:
    if not allocation.games:
        return _vector(names, allocation.base)
    game = allocation.games[0]
    fixed = tuple(i for i, n in enumerate(allocation.base) if n and i not in game.groups)
    tied = ", ".join(f"{names[g]} {allocation.base[g]}" for g in game.groups)
    lead = f"{_vector(names, allocation.base, fixed)}, " if fixed else ""
    return f"{lead}{tied}, and a game of chance between {_list_names(names, game.groups)} " + (
        f"decides {_stake_words(game)}"
    )


# --- wording helpers ----------------------------------------------------------------------


def _vector(names: Sequence[str], vector: Sequence[int], only: Sequence[int] = ()) -> str:
    shown = only or [i for i, n in enumerate(vector) if n]
    return ", ".join(f"{names[i]} {vector[i]}" for i in shown) or "no delegates"


def _list_names(names: Sequence[str], groups: Sequence[int]) -> str:
    return _join([names[g] for g in groups])


def _list_groups(names: Sequence[str], final: Sequence[int], groups: tuple[int, ...]) -> str:
    return _join([f"{names[g]} with {_people(final[g])}" for g in groups])


def _list_counts(names: Sequence[str], final: Sequence[int], groups: tuple[int, ...]) -> str:
    return ", ".join(f"{names[g]} {final[g]}" for g in groups)


def _join(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words) or "no one"
    return ", ".join(words[:-1]) + " and " + words[-1]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _people(n: int) -> str:
    return "1 person" if n == 1 else f"{n} people"


def _delegates(n: int) -> str:
    return _count(n, "delegate")
