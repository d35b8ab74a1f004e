"""Ballot definitions: one TOML file per election, loaded into a typed `Ballot`."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources


class UnknownBallot(Exception):
    """No ballot file has that name."""


@dataclass(frozen=True)
class Group:
    name: str
    spoken: str


@dataclass(frozen=True)
class Block:
    key: str
    spoken: str


@dataclass(frozen=True)
class Ballot:
    """An election's preference groups (in ballot order) and the blocks a chair reports."""

    name: str
    title: str
    rules: str
    blocks: tuple[Block, ...]
    groups: tuple[Group, ...]

    @property
    def block_keys(self) -> tuple[str, ...]:
        return tuple(block.key for block in self.blocks)

    @property
    def group_names(self) -> tuple[str, ...]:
        return tuple(group.name for group in self.groups)

    def block(self, key: str) -> Block:
        for block in self.blocks:
            if block.key == key:
                return block
        raise KeyError(key)


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
        rules=data["rules"],
        blocks=tuple(Block(key=b["key"], spoken=b["spoken"]) for b in data["blocks"]),
        groups=tuple(Group(name=g["name"], spoken=g["spoken"]) for g in data["groups"]),
    )
