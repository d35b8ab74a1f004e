"""Ballot definitions: one TOML file per election, loaded into a typed `Ballot`."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources


class UnknownBallot(Exception):
    """No ballot file has that name."""


@dataclass(frozen=True)
class Group:
    """A preference group: `name` as results files have it, `spoken` as the hotline says it."""

    name: str
    spoken: str


@dataclass(frozen=True)
class Ballot:
    """An election's preference groups, in ballot order.

    The blocks a chair reports for every group are the caucus rules' own, not the ballot's:
    see callflows.state.BLOCKS.
    """

    name: str
    title: str
    groups: tuple[Group, ...]

    @property
    def group_names(self) -> tuple[str, ...]:
        return tuple(group.name for group in self.groups)


def available_ballots() -> list[str]:
    """Names of the ballot files shipped with the hotline."""
    files = resources.files(__package__)
    return sorted(p.name.removesuffix(".toml") for p in files.iterdir() if p.name.endswith(".toml"))


def load_ballot(name: str) -> Ballot:
    """Load a shipped ballot by name (e.g. "iowa2020")."""
    if name not in available_ballots():
        raise UnknownBallot(f"no ballot named {name!r}; known: {', '.join(available_ballots())}")
    data = tomllib.loads(resources.files(__package__).joinpath(f"{name}.toml").read_text("utf-8"))
    return Ballot(
        name=data["name"],
        title=data["title"],
        groups=tuple(Group(name=g["name"], spoken=g["spoken"]) for g in data["groups"]),
    )
