"""The worksheet checks the call runs after each block, in the terms the flow needs.

Each block's problems are derived from the call's state alone (figures, totals, the
game-of-chance answer), so the flow never stores them and a repeated prompt repeats them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from callflows import prompts
from callflows.ballots import Ballot
from callflows.caucus import Allocation, GameOfChance, allocate, satellite_delegates
from callflows.findings import Finding, check_delegates_block, check_final_block
from callflows.state import DELEGATES, FINAL, FIRST, CallState

TOTAL_MISMATCH = "total_mismatch"
CHANCE_MISMATCH = "game_of_chance_mismatch"


@dataclass(frozen=True)
class Problem:
    """Something wrong with a block, as the chair hears it."""

    code: str
    spoken: str


def delegates_to_elect(state: CallState) -> int:
    """The precinct's delegates; satellites with none on file elect by turnout."""
    if state.delegates_to_elect is not None:
        return state.delegates_to_elect
    return satellite_delegates(sum(_figures(state, FIRST)))


def _figures(state: CallState, block: str) -> list[int]:
    return [value or 0 for value in state.figures.get(block, [])]


def _names(ballot: Ballot) -> list[str]:
    return [group.spoken for group in ballot.groups]


def block_problems(ballot: Ballot, state: CallState, block: str) -> list[Problem]:
    """What is wrong with a completed block: its total first, then the caucus math."""
    figures = _figures(state, block)
    stated = state.totals.get(block)
    if stated is not None and stated != sum(figures):
        spoken = prompts.total_mismatch(block, sum(figures), stated)
        return [Problem(TOTAL_MISMATCH, spoken)]
    findings = _findings(ballot, state, block)
    problems = [Problem(f.code, f.spoken) for f in findings if not f.informational]
    if not problems and block == DELEGATES and state.chance:
        expected = _allocation(state).resolve(state.chance)
        if list(expected) != figures:
            spoken = prompts.chance_mismatch(_given(ballot, expected), _given(ballot, figures))
            problems.append(Problem(CHANCE_MISMATCH, spoken))
    return problems


def _findings(ballot: Ballot, state: CallState, block: str) -> list[Finding]:
    names, d = _names(ballot), delegates_to_elect(state)
    first, final = _figures(state, FIRST), _figures(state, FINAL)
    if block == FINAL:
        return check_final_block(names, first, final, d)
    if block == DELEGATES:
        return check_delegates_block(names, first, final, _figures(state, DELEGATES), d)
    return []


def _allocation(state: CallState) -> Allocation:
    return allocate(delegates_to_elect(state), _figures(state, FIRST), _figures(state, FINAL))


def pending_game(ballot: Ballot, state: CallState) -> tuple[Finding, GameOfChance] | None:
    """The game of chance to ask about, when the chair's delegates depend on one."""
    for finding in _findings(ballot, state, DELEGATES):
        if finding.informational:
            return finding, _allocation(state).games[0]
    return None


def chance_question(ballot: Ballot, game: GameOfChance) -> str:
    """Ask who won: one key per winner (the groups are numbered as they are read)."""
    return prompts.chance_question([ballot.groups[g].spoken for g in game.groups], game.winners)


def parse_winners(digits: str, game: GameOfChance) -> list[int] | None:
    """The winners' group indices from the keys, or None if the keys do not name them."""
    if not digits.isdigit() or len(set(digits)) != len(digits) or len(digits) != game.winners:
        return None
    picks = [int(d) for d in digits]
    if not all(1 <= p <= len(game.groups) for p in picks):
        return None
    return sorted(game.groups[p - 1] for p in picks)


def _given(ballot: Ballot, delegates: Sequence[int]) -> list[tuple[str, int]]:
    """The groups given delegates, with their delegates, as prompts read them."""
    return [(g.spoken, n) for g, n in zip(ballot.groups, delegates, strict=True) if n]
