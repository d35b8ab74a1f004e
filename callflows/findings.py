"""Findings: what is wrong (or worth knowing) about a precinct's reported caucus math.

Each finding carries a short spoken sentence for a chair on the phone (worded by
callflows.prompts) and a terser written one for staff, in reports and exports (worded
here: it is never read out). The checks run in two blocks, matching the phone call: once
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

from callflows import prompts
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
    spoken = prompts.final_total_exceeds_first(final_total, attendance)
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
        spoken = prompts.viable_group_shrank(name, before, after)
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
    sentences = [prompts.too_many_viable_groups(viable_count, d)]
    notes = []
    if allocation.must_realign:
        must_realign = _pairs(names, final, allocation.must_realign)
        sentences.append(prompts.smallest_must_realign(must_realign))
        notes.append(f"must realign: {_list_counts(names, final, allocation.must_realign)}")
    if tied:
        tied_names = [names[g] for g in tied]
        sentences.append(prompts.tie_at_the_cut(tied_names, final[tied[0]], allocation.games[0]))
        notes.append(f"tie at the cut: {_list_counts(names, final, tied)}")
    spoken = prompts.sentences(sentences)
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
    spoken = prompts.delegate_total_mismatch(total, d)
    written = f"delegates total {total} != delegates to elect {d}"
    return [Finding(DELEGATE_TOTAL_MISMATCH, spoken, written)]


def _delegates_to_nonviable(
    names: Sequence[str], final: Sequence[int], delegates: Sequence[int], allocation: Allocation
) -> list[Finding]:
    findings = []
    for i, (name, count, given) in enumerate(zip(names, final, delegates, strict=True)):
        if given <= 0 or allocation.viable[i]:
            continue
        spoken = prompts.delegates_to_nonviable_group(
            name,
            given,
            count,
            attendance=allocation.attendance,
            delegates_to_elect=allocation.delegates_to_elect,
            threshold=allocation.threshold,
        )
        written = (
            f"{name}: {given} delegate(s) but not viable "
            f"({_why_nonviable_terse(count, allocation)})"
        )
        findings.append(Finding(DELEGATES_TO_NONVIABLE_GROUP, spoken, written, (i,)))
    return findings


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
        spoken = prompts.viable_group_without_delegate(
            name, count, attendance=allocation.attendance, threshold=allocation.threshold
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
    elif allocation.games:
        game = allocation.games[0]
        fixed = [i for i, n in enumerate(allocation.base) if n and i not in game.groups]
        spoken = prompts.allocation_differs(
            _pairs(names, allocation.base, fixed),
            _pairs(names, reported, shown),
            game,
            _pairs(names, allocation.base, game.groups),
        )
    else:
        expected = _pairs(names, allocation.base, _nonzero(allocation.base))
        spoken = prompts.allocation_differs(expected, _pairs(names, reported, shown))
    outcomes = " or ".join(f"[{_written_vector(names, o)}]" for o in allocation.outcomes)
    written = f"expected {outcomes}; reported [{_written_vector(names, reported)}]"
    return Finding(ALLOCATION_DIFFERS, spoken, written, groups)


def _distance(a: Sequence[int], b: Sequence[int]) -> int:
    return sum(abs(x - y) for x, y in zip(a, b, strict=True))


def _one_delegate_differs(
    names: Sequence[str], final: Sequence[int], reported: tuple[int, ...], allocation: Allocation
) -> str:
    # The largest group: the one the base allocation gives the delegate to (the viable
    # groups are in ballot order, so the first of them need not be the largest).
    winner = [i for i, n in enumerate(allocation.base) if n]
    top = allocation.games[0].groups if allocation.games else winner
    given = [i for i, n in enumerate(reported) if n > 0]
    return prompts.one_delegate_differs(_pairs(names, final, top), _pairs(names, final, given))


def _tie_settled(
    names: Sequence[str], final: Sequence[int], reported: tuple[int, ...], allocation: Allocation
) -> Finding:
    game = allocation.games[0]
    # Winners gain a delegate over the base, or keep the base when losers give one back.
    gained = tuple(g for g in game.groups if reported[g] != allocation.base[g])
    kept = tuple(g for g in game.groups if reported[g] == allocation.base[g])
    won = kept if game.losers_affected else gained
    spoken = prompts.tie_settled([names[g] for g in game.groups], game, [names[g] for g in won])
    written = (
        f"game of chance among {_list_counts(names, final, game.groups)} "
        f"for {_written_stake(game)}; reported winner(s): {_written_names(names, won)}"
    )
    return Finding(TIE_NEEDS_GAME_OF_CHANCE, spoken, written, game.groups, informational=True)


def _pairs(
    names: Sequence[str], values: Sequence[int], groups: Sequence[int]
) -> list[tuple[str, int]]:
    """The groups' names, each with its value (a head count or delegates), for prompts."""
    return [(names[g], values[g]) for g in groups]


def _nonzero(values: Sequence[int]) -> list[int]:
    return [i for i, n in enumerate(values) if n]


# --- written text: for staff, never read out, so worded here and not in callflows.prompts --


def _written_vector(names: Sequence[str], vector: Sequence[int]) -> str:
    return ", ".join(f"{names[i]} {vector[i]}" for i in _nonzero(vector)) or "no delegates"


def _written_names(names: Sequence[str], groups: Sequence[int]) -> str:
    words = [names[g] for g in groups]
    if len(words) <= 1:
        return "".join(words) or "no one"
    return ", ".join(words[:-1]) + " and " + words[-1]


def _written_stake(game: GameOfChance) -> str:
    n = game.affected
    if game.stake is Stake.SOLE_DELEGATE:
        return "who gets the only delegate"
    if game.stake is Stake.EXTRA_DELEGATE:
        return f"who gets {_written_count(n, 'extra delegate')}"
    if game.stake is Stake.LOSE_DELEGATE:
        return f"who gives back {_written_count(n, 'delegate')}"
    return f"which {_written_count(n, 'group')} must realign"


def _written_count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _list_counts(names: Sequence[str], final: Sequence[int], groups: Sequence[int]) -> str:
    return ", ".join(f"{names[g]} {final[g]}" for g in groups)
