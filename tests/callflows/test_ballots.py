"""The shipped ballots: each loads, and configures only its own groups."""

from __future__ import annotations

import tomllib
from importlib import resources

import pytest

from callflows.ballots import UnknownBallot, available_ballots, load_ballot


@pytest.mark.parametrize("name", available_ballots())
def test_a_ballot_names_its_groups_and_nothing_of_the_caucus_rules(name: str) -> None:
    # The blocks are the caucus rules' own (callflows.state.BLOCKS), so no ballot has any.
    text = resources.files("callflows.ballots").joinpath(f"{name}.toml").read_text("utf-8")
    assert set(tomllib.loads(text)) == {"name", "title", "groups"}
    ballot = load_ballot(name)
    assert ballot.name == name
    assert len(set(ballot.group_names)) == len(ballot.groups) >= 2
    assert all(group.spoken for group in ballot.groups)


def test_an_unknown_ballot_is_refused_by_name() -> None:
    assert set(available_ballots()) >= {"iowa2020", "iowa2020-other"}
    with pytest.raises(UnknownBallot, match="iowa2020"):
        load_ballot("iowa1896")
