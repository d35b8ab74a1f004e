"""The 2020 Iowa Democratic caucus math: viability, delegate allocation, games of chance, SDEs.

Everything here is exact: head counts are integers, delegate shares are ``Fraction``s and
SDEs are ``Decimal``s, so a result never depends on floating-point rounding.

The rules, as this module reads them (see docs/AUDIT_2020.md for how they fit the 2020 data):

* Attendance is the first-alignment total. A precinct electing D delegates needs, for a
  group to be viable, at least ceil(attendance x 25%) people when D = 2, ceil(attendance / 6)
  when D = 3 and ceil(attendance x 15%) when D >= 4. When D = 1 there is no threshold: the
  largest final group wins the delegate.
* Viability in the final alignment is still measured against the first-alignment attendance.
* Each viable final group gets group x D / attendance delegates rounded half up, and at
  least one. While that awards too many, the group that was rounded up the most loses one
  (a group's only delegate is never taken); while too few, the group closest to rounding
  up gains one. Ties in those steps are settled by a game of chance.
* More viable groups than delegates means the smallest viable groups must realign; once
  they have, exactly D groups are viable and each gets one delegate.
* Members of a group viable at first alignment may not realign (D >= 2; with D = 1 there
  is no threshold, so nobody is locked in and everyone may realign).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum
from fractions import Fraction

__all__ = [
    "Allocation",
    "GameOfChance",
    "Stake",
    "allocate",
    "is_viable",
    "satellite_delegates",
    "sde",
    "viability_threshold",
]

# Satellite caucuses elect delegates by first-alignment attendance: (upper bound, delegates).
_SATELLITE_TABLE: tuple[tuple[int, int], ...] = ((20, 4), (40, 5), (60, 6), (80, 7), (100, 8))
_SATELLITE_MAX = 9

_SDE_PLACES = Decimal("0.0001")


def viability_threshold(delegates_to_elect: int, attendance: int) -> int:
    """Return the head count a group needs to be viable.

    D = 1 has no threshold, so this returns 0; :func:`is_viable` still requires a group to
    have at least one person, which makes every non-empty group a contender for the
    largest-group rule. D = 0 (a precinct electing nobody) also returns 0.
    """
    if delegates_to_elect < 0 or attendance < 0:
        raise ValueError("delegates_to_elect and attendance must not be negative")
    if delegates_to_elect <= 1:
        return 0
    share = {2: Fraction(1, 4), 3: Fraction(1, 6)}.get(delegates_to_elect, Fraction(15, 100))
    return math.ceil(attendance * share)


def is_viable(count: int, delegates_to_elect: int, attendance: int) -> bool:
    """Tell whether a group of ``count`` people is viable.

    An empty group never is, nor is any group where nobody is to be elected (D = 0).
    """
    threshold = viability_threshold(delegates_to_elect, attendance)
    return delegates_to_elect > 0 and count > 0 and count >= threshold


def satellite_delegates(attendance: int) -> int:
    """Return the delegates a satellite caucus elects for its first-alignment attendance.

    1-20 people elect 4, 21-40 elect 5, and so on up to 9 for more than 100. An attendance
    of 0 falls in the lowest band, so the answer is 4.
    """
    if attendance < 0:
        raise ValueError("attendance must not be negative")
    for upper, delegates in _SATELLITE_TABLE:
        if attendance <= upper:
            return delegates
    return _SATELLITE_MAX


def sde(county_delegates: int, sde_per_county_delegate: Decimal | str | float) -> Decimal:
    """Return the State Delegate Equivalents of ``county_delegates``, 4 decimals, half up."""
    # str() first so a float such as 0.078431 means its short decimal form, not its binary one.
    per_delegate = Decimal(str(sde_per_county_delegate))
    return (county_delegates * per_delegate).quantize(_SDE_PLACES, rounding=ROUND_HALF_UP)


class Stake(Enum):
    """What a game of chance decides."""

    SOLE_DELEGATE = "sole_delegate"  # D = 1 and the largest groups tie: the winner gets it
    EXTRA_DELEGATE = "extra_delegate"  # too few after rounding: the winners get one more
    LOSE_DELEGATE = "lose_delegate"  # too many after rounding: the losers give one back
    MUST_REALIGN = "must_realign"  # too many viable groups, smallest tie: the losers realign


@dataclass(frozen=True)
class GameOfChance:
    """A tie the caucus settles by lot: ``affected`` of the tied ``groups`` gain or lose.

    For SOLE_DELEGATE and EXTRA_DELEGATE the affected groups are the winners, who gain a
    delegate. For LOSE_DELEGATE and MUST_REALIGN they are the losers, who give a delegate
    back (or, for MUST_REALIGN, must realign); the other tied groups keep theirs.
    """

    groups: tuple[int, ...]
    stake: Stake
    affected: int

    @property
    def losers_affected(self) -> bool:
        """True when the affected groups are the ones that lose the game."""
        return self.stake in (Stake.LOSE_DELEGATE, Stake.MUST_REALIGN)

    @property
    def winners(self) -> int:
        """How many of the tied groups win the game."""
        return len(self.groups) - self.affected if self.losers_affected else self.affected

    def affected_sets(self) -> tuple[tuple[int, ...], ...]:
        """Every possible set of affected groups, in a stable order."""
        return tuple(itertools.combinations(self.groups, self.affected))


@dataclass(frozen=True)
class Allocation:
    """The delegates a precinct's final alignment earns.

    ``base`` is the deterministic part: every group's delegates before any game of chance.
    ``games`` lists the ties settled by lot (at most one is ever needed). ``outcomes`` is
    every delegate vector the rules allow, one per result of the games. ``viable`` marks the
    viable final groups; with D = 1 that is every group with anyone in it, since the largest
    of them wins.

    When ``too_many_viable_groups`` is set there are more viable groups than delegates, so
    the groups in ``must_realign`` (and the losers of a MUST_REALIGN game) must realign.
    The outcomes then describe the result after that realignment: exactly D groups stay
    viable, so each of the D largest gets one delegate.
    """

    delegates_to_elect: int
    attendance: int
    threshold: int
    viable: tuple[bool, ...]
    base: tuple[int, ...]
    games: tuple[GameOfChance, ...] = ()
    too_many_viable_groups: bool = False
    must_realign: tuple[int, ...] = ()

    @property
    def viable_groups(self) -> tuple[int, ...]:
        """Indices of the viable final groups."""
        return tuple(i for i, ok in enumerate(self.viable) if ok)

    @property
    def outcomes(self) -> tuple[tuple[int, ...], ...]:
        """Every delegate vector the rules allow, one per result of the games of chance."""
        vectors = [self.base]
        for game in self.games:
            vectors = [_apply(v, game, chosen) for v in vectors for chosen in game.affected_sets()]
        return tuple(vectors)

    def resolve(self, winners: Collection[int]) -> tuple[int, ...]:
        """Return the delegates once the games of chance are decided by naming their winners."""
        vector = self.base
        for game in self.games:
            won = tuple(g for g in game.groups if g in winners)
            if len(won) != game.winners:
                raise ValueError(f"name {game.winners} winner(s) among groups {game.groups}")
            lost = tuple(g for g in game.groups if g not in winners)
            vector = _apply(vector, game, lost if game.losers_affected else won)
        return vector


def _apply(vector: tuple[int, ...], game: GameOfChance, chosen: tuple[int, ...]) -> tuple[int, ...]:
    step = -1 if game.losers_affected else 1
    return tuple(d + step if i in chosen else d for i, d in enumerate(vector))


def allocate(
    delegates_to_elect: int, first_counts: Sequence[int], final_counts: Sequence[int]
) -> Allocation:
    """Allocate a precinct's delegates from its first and final alignment head counts.

    Attendance is ``sum(first_counts)``; viability and shares use it, not the final total.
    """
    if len(first_counts) != len(final_counts):
        raise ValueError("first_counts and final_counts must name the same groups")
    if any(c < 0 for c in (*first_counts, *final_counts)):
        raise ValueError("head counts must not be negative")
    d = delegates_to_elect
    attendance = sum(first_counts)
    threshold = viability_threshold(d, attendance)
    # With nobody counted in the first alignment no group can earn a delegate, even if the
    # final alignment (wrongly) has people in it.
    viable = tuple(attendance > 0 and is_viable(c, d, attendance) for c in final_counts)
    if not any(viable):
        return Allocation(d, attendance, threshold, viable, _zeros(final_counts))
    if d == 1:
        return _largest_group_wins(attendance, viable, final_counts)
    if sum(viable) > d:
        return _smallest_groups_realign(d, attendance, threshold, viable, final_counts)
    shares = [
        Fraction(c * d, attendance) if ok else Fraction(0)
        for c, ok in zip(final_counts, viable, strict=True)
    ]
    rounded = [max(1, _round_half_up(s)) if ok else 0 for s, ok in zip(shares, viable, strict=True)]
    base, games = _settle(d, shares, viable, rounded)
    return Allocation(d, attendance, threshold, viable, base, games)


def _zeros(counts: Sequence[int]) -> tuple[int, ...]:
    return tuple(0 for _ in counts)


def _largest_group_wins(
    attendance: int, viable: tuple[bool, ...], final_counts: Sequence[int]
) -> Allocation:
    """D = 1: the largest final group takes the delegate; a tie is a game of chance."""
    top = max(final_counts)
    tied = tuple(i for i, c in enumerate(final_counts) if c == top)
    if len(tied) > 1:
        game = GameOfChance(tied, Stake.SOLE_DELEGATE, 1)
        return Allocation(1, attendance, 0, viable, _zeros(final_counts), (game,))
    base = tuple(1 if i == tied[0] else 0 for i in range(len(final_counts)))
    return Allocation(1, attendance, 0, viable, base)


def _smallest_groups_realign(
    d: int, attendance: int, threshold: int, viable: tuple[bool, ...], final_counts: Sequence[int]
) -> Allocation:
    """More viable groups than delegates: the D largest stay, one delegate each.

    Groups tied at the cut settle by lot which of them must realign.
    """
    ranked = sorted((c for c, ok in zip(final_counts, viable, strict=True) if ok), reverse=True)
    cut = ranked[d - 1]
    above = [i for i, ok in enumerate(viable) if ok and final_counts[i] > cut]
    tied = tuple(i for i, ok in enumerate(viable) if ok and final_counts[i] == cut)
    must_realign = tuple(i for i, ok in enumerate(viable) if ok and final_counts[i] < cut)
    base = tuple(1 if i in above or i in tied else 0 for i in range(len(final_counts)))
    surplus = len(above) + len(tied) - d
    games = (GameOfChance(tied, Stake.MUST_REALIGN, surplus),) if surplus else ()
    return Allocation(
        d,
        attendance,
        threshold,
        viable,
        base,
        games,
        too_many_viable_groups=True,
        must_realign=must_realign,
    )


def _round_half_up(share: Fraction) -> int:
    return math.floor(share + Fraction(1, 2))


def _settle(
    d: int, shares: Sequence[Fraction], viable: Sequence[bool], rounded: Sequence[int]
) -> tuple[tuple[int, ...], tuple[GameOfChance, ...]]:
    """Add or remove delegates one at a time until the total is D.

    Removing: the candidate is the group holding the most delegates above its exact share
    (for a group that was rounded up, the smallest remainder above one half); a group with
    a single delegate is never a candidate. Adding: the group furthest below its exact share
    (the largest remainder below one half). When more groups tie for the next step than
    there are steps left, the rest is a game of chance; that can only happen at the last
    step, so there is never more than one game. Callers ensure viable groups <= D, so a
    group with more than one delegate exists whenever there are too many.
    """
    delegates = list(rounded)
    while (surplus := sum(delegates) - d) != 0:
        remove = surplus > 0
        candidates = [i for i, ok in enumerate(viable) if ok and (delegates[i] > 1 or not remove)]
        # Over-representation when removing, under-representation when adding.
        sign = 1 if remove else -1
        gap = {i: sign * (delegates[i] - shares[i]) for i in candidates}
        best = max(gap.values())
        tied = tuple(i for i in candidates if gap[i] == best)
        if len(tied) > abs(surplus):
            stake = Stake.LOSE_DELEGATE if remove else Stake.EXTRA_DELEGATE
            return tuple(delegates), (GameOfChance(tied, stake, abs(surplus)),)
        for i in tied:
            delegates[i] -= sign
    return tuple(delegates), ()
