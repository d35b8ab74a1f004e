"""Tests for the caucus math: viability, allocation, games of chance, satellites, SDEs."""

from __future__ import annotations

from decimal import Decimal
from itertools import combinations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callflows.caucus import (
    GameOfChance,
    Stake,
    allocate,
    is_viable,
    satellite_delegates,
    sde,
    viability_threshold,
)

# --- worked cases ---------------------------------------------------------------------------

# (D, final counts, every allowed outcome, the game of chance or None). In each case the
# first alignment equals the final one, so attendance is the sum of the counts.
WORKED_CASES = [
    pytest.param(7, (20, 10, 7), {(4, 2, 1)}, None, id="7 of 37: rounding adds up"),
    pytest.param(1, (10, 8, 8), {(1, 0, 0)}, None, id="1 of 26: largest group wins"),
    pytest.param(3, (75, 15), {(2, 1)}, None, id="3 of 90: never take the only delegate"),
    pytest.param(7, (100, 50, 50), {(3, 2, 2)}, None, id="7 of 200: one too many"),
    pytest.param(
        6,
        (100, 50, 50),
        {(3, 2, 1), (3, 1, 2)},
        GameOfChance((1, 2), Stake.LOSE_DELEGATE, 1),
        id="6 of 200: the two 50s play for 2 or 1",
    ),
    pytest.param(
        18,
        (15, 15, 15, 15),
        {tuple(4 if i in pair else 5 for i in range(4)) for pair in combinations(range(4), 2)},
        GameOfChance((0, 1, 2, 3), Stake.LOSE_DELEGATE, 2),
        id="18 of 60: two of four groups of 15 get 4 by lot",
    ),
    pytest.param(2, (13, 7), {(1, 1)}, None, id="2 of 20"),
    pytest.param(3, (3, 1, 1), {(1, 1, 1)}, None, id="3 of 5: Ocheyedan 0500"),
    pytest.param(
        8,
        (6, 8, 8, 9, 9),
        {(1, 2, 1, 2, 2), (1, 1, 2, 2, 2)},
        GameOfChance((1, 2), Stake.LOSE_DELEGATE, 1),
        id="8 of 40: Adair 1NW ADAIR",
    ),
]


@pytest.mark.parametrize(("d", "counts", "outcomes", "game"), WORKED_CASES)
def test_worked_case(
    d: int, counts: tuple[int, ...], outcomes: set[tuple[int, ...]], game: GameOfChance | None
) -> None:
    allocation = allocate(d, counts, counts)
    assert set(allocation.outcomes) == outcomes
    assert len(allocation.outcomes) == len(outcomes)  # no duplicates
    assert allocation.games == ((game,) if game else ())
    assert allocation.viable == tuple(True for _ in counts)
    assert not allocation.too_many_viable_groups


def test_worked_case_attendance_is_first_total() -> None:
    allocation = allocate(7, (20, 10, 7), (20, 10, 7))
    assert allocation.attendance == 37
    assert allocation.threshold == 6


# --- viability ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("d", "attendance", "needed"),
    [
        (1, 26, 0),
        (0, 26, 0),
        (2, 20, 5),
        (2, 21, 6),
        (3, 90, 15),
        (3, 91, 16),
        (3, 5, 1),
        (4, 40, 6),
        (4, 41, 7),
        (8, 190, 29),
        (36, 447, 68),
        (4, 0, 0),
    ],
)
def test_viability_threshold_rounds_up(d: int, attendance: int, needed: int) -> None:
    assert viability_threshold(d, attendance) == needed


def test_viability_threshold_rejects_negative_numbers() -> None:
    with pytest.raises(ValueError):
        viability_threshold(-1, 10)
    with pytest.raises(ValueError):
        viability_threshold(4, -1)


def test_exactly_at_threshold_is_viable() -> None:
    assert is_viable(29, 8, 190)
    assert not is_viable(28, 8, 190)


def test_empty_group_is_never_viable_even_without_threshold() -> None:
    assert viability_threshold(1, 10) == 0
    assert not is_viable(0, 1, 10)
    assert is_viable(1, 1, 10)


def test_nothing_is_viable_where_nobody_is_elected() -> None:
    assert not is_viable(5, 0, 10)
    assert allocate(0, (5, 5), (5, 5)).outcomes == ((0, 0),)


def test_final_viability_is_measured_against_first_alignment_attendance() -> None:
    # 14 of the 84 still in the room is over 15%, but 14 of the 100 who attended is not.
    allocation = allocate(4, (50, 20, 30), (50, 20, 14))
    assert allocation.threshold == 15
    assert allocation.viable == (True, True, False)
    assert allocation.outcomes == ((3, 1, 0),)


# --- special cases --------------------------------------------------------------------------


def test_one_delegate_tie_is_a_game_for_the_only_delegate() -> None:
    allocation = allocate(1, (6, 6, 5, 1), (6, 6, 5, 1))
    assert allocation.games == (GameOfChance((0, 1), Stake.SOLE_DELEGATE, 1),)
    assert set(allocation.outcomes) == {(1, 0, 0, 0), (0, 1, 0, 0)}
    assert allocation.viable == (True, True, True, True)


def test_too_few_after_rounding_is_a_game_for_the_extra_delegate() -> None:
    allocation = allocate(4, (5, 5, 5), (5, 5, 5))
    assert allocation.base == (1, 1, 1)
    assert allocation.games == (GameOfChance((0, 1, 2), Stake.EXTRA_DELEGATE, 1),)
    assert set(allocation.outcomes) == {(2, 1, 1), (1, 2, 1), (1, 1, 2)}


def test_too_few_goes_to_the_group_closest_to_rounding_up() -> None:
    # Shares 3.97, 1.85 and 2.38 round to 4 + 2 + 2 = 8 of 9: the 2.38 gets the ninth.
    allocation = allocate(9, (15, 7, 12), (15, 7, 9))
    assert allocation.outcomes == ((4, 2, 3),)


def test_more_viable_groups_than_delegates_the_smallest_must_realign() -> None:
    allocation = allocate(3, (10, 11, 6, 7), (10, 11, 6, 7))
    assert allocation.too_many_viable_groups
    assert allocation.must_realign == (2,)
    assert allocation.games == ()
    assert allocation.outcomes == ((1, 1, 0, 1),)


def test_more_viable_groups_than_delegates_tie_at_the_cut() -> None:
    allocation = allocate(4, (7, 11, 7, 6, 6), (7, 11, 7, 6, 6))
    assert allocation.too_many_viable_groups
    assert allocation.must_realign == ()
    assert allocation.games == (GameOfChance((3, 4), Stake.MUST_REALIGN, 1),)
    assert set(allocation.outcomes) == {(1, 1, 1, 0, 1), (1, 1, 1, 1, 0)}


def test_nobody_attended() -> None:
    allocation = allocate(5, (0, 0), (0, 0))
    assert allocation.viable == (False, False)
    assert allocation.outcomes == ((0, 0),)


def test_final_alignment_empty() -> None:
    allocation = allocate(1, (13, 9), (0, 0))
    assert allocation.viable_groups == ()
    assert allocation.outcomes == ((0, 0),)


@pytest.mark.parametrize(("first", "final"), [((1, 2), (1,)), ((1, -2), (1, 2)), ((1, 2), (1, -1))])
def test_allocate_rejects_bad_counts(first: tuple[int, ...], final: tuple[int, ...]) -> None:
    with pytest.raises(ValueError):
        allocate(4, first, final)


# --- resolving a game -----------------------------------------------------------------------


def test_resolve_with_the_winners_of_the_game() -> None:
    allocation = allocate(6, (100, 50, 50), (100, 50, 50))
    assert allocation.games[0].winners == 1
    assert allocation.resolve({1}) == (3, 2, 1)
    assert allocation.resolve({2}) == (3, 1, 2)


def test_resolve_a_game_for_the_extra_delegate() -> None:
    allocation = allocate(4, (5, 5, 5), (5, 5, 5))
    assert allocation.resolve({2}) == (1, 1, 2)


def test_resolve_a_game_for_who_must_realign() -> None:
    allocation = allocate(4, (7, 11, 7, 6, 6), (7, 11, 7, 6, 6))
    assert allocation.resolve({3}) == (1, 1, 1, 1, 0)


def test_resolve_without_a_game() -> None:
    assert allocate(7, (20, 10, 7), (20, 10, 7)).resolve(()) == (4, 2, 1)


def test_resolve_rejects_the_wrong_number_of_winners() -> None:
    allocation = allocate(18, (15,) * 4, (15,) * 4)
    with pytest.raises(ValueError):
        allocation.resolve({0})


# --- satellites and SDEs --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attendance", "delegates"),
    [
        (0, 4),
        (1, 4),
        (20, 4),
        (21, 5),
        (40, 5),
        (41, 6),
        (60, 6),
        (61, 7),
        (80, 7),
        (81, 8),
        (100, 8),
        (101, 9),
        (1000, 9),
    ],
)
def test_satellite_delegates(attendance: int, delegates: int) -> None:
    assert satellite_delegates(attendance) == delegates


def test_satellite_delegates_rejects_negative_attendance() -> None:
    with pytest.raises(ValueError):
        satellite_delegates(-1)


@pytest.mark.parametrize(
    ("delegates", "per_delegate", "expected"),
    [
        (1, "0.078431", "0.0784"),  # Adair 1NW ADAIR
        (2, "0.078431", "0.1569"),
        (2, 0.078431, "0.1569"),
        (3, Decimal("0.1"), "0.3000"),
        (1, "0.00005", "0.0001"),  # half up
        (0, "0.5", "0.0000"),
    ],
)
def test_sde(delegates: int, per_delegate: Decimal | str | float, expected: str) -> None:
    assert sde(delegates, per_delegate) == Decimal(expected)


# --- invariants -----------------------------------------------------------------------------


@st.composite
def precincts(draw: st.DrawFn) -> tuple[int, list[int], list[int]]:
    """A precinct: D, first counts and final counts.

    Groups may grow or shrink between the alignments; the first total is usually at least
    the final one, but not always, so the math is also checked on reports that break that.
    """
    d = draw(st.integers(min_value=1, max_value=30))
    final = draw(st.lists(st.integers(min_value=0, max_value=60), min_size=1, max_size=8))
    first = draw(st.permutations(final))
    first[0] = max(0, first[0] + draw(st.integers(min_value=-10, max_value=40)))
    return d, first, final


@settings(max_examples=400)
@given(precincts())
def test_every_outcome_elects_exactly_d(precinct: tuple[int, list[int], list[int]]) -> None:
    d, first, final = precinct
    allocation = allocate(d, first, final)
    if not allocation.viable_groups:
        assert allocation.outcomes == (tuple(0 for _ in final),)
        return
    # Holds when viable groups outnumber D too: then it is the result after realignment.
    for outcome in allocation.outcomes:
        assert sum(outcome) == d


@settings(max_examples=400)
@given(precincts())
def test_every_viable_group_gets_a_delegate(precinct: tuple[int, list[int], list[int]]) -> None:
    d, first, final = precinct
    allocation = allocate(d, first, final)
    if allocation.too_many_viable_groups or d == 1:
        return
    for outcome in allocation.outcomes:
        assert all(outcome[i] >= 1 for i in allocation.viable_groups)


@settings(max_examples=400)
@given(precincts())
def test_no_delegate_to_a_nonviable_group(precinct: tuple[int, list[int], list[int]]) -> None:
    d, first, final = precinct
    allocation = allocate(d, first, final)
    for outcome in allocation.outcomes:
        assert all(n == 0 for n, ok in zip(outcome, allocation.viable, strict=True) if not ok)


@settings(max_examples=400)
@given(precincts())
def test_larger_group_never_gets_fewer(precinct: tuple[int, list[int], list[int]]) -> None:
    d, first, final = precinct
    for outcome in allocate(d, first, final).outcomes:
        for a, b in combinations(range(len(final)), 2):
            if final[a] > final[b]:
                assert outcome[a] >= outcome[b]


@settings(max_examples=400)
@given(precincts())
def test_games_explain_every_extra_outcome(precinct: tuple[int, list[int], list[int]]) -> None:
    d, first, final = precinct
    allocation = allocate(d, first, final)
    assert len(allocation.games) <= 1
    assert (len(allocation.outcomes) > 1) == bool(allocation.games)
    for game in allocation.games:
        assert all(allocation.viable[g] for g in game.groups)
        if d == 1:
            assert len({final[g] for g in game.groups}) == 1
        resolved = {allocation.resolve(won) for won in combinations(game.groups, game.winners)}
        assert resolved == set(allocation.outcomes)
