"""A flood scenario: which chairs and pranks call, from which numbers, in what order."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from callflows.ballots import Ballot
from callflows.findings import check_report
from callflows.state import BLOCKS, DELEGATES, FINAL, FIRST
from callflows.trust import FULL_ATTESTATION
from flood.personas import PRANK_KINDS, Chair, Prank
from flood.worksheets import Worksheet
from ivr.operations import demo_chair_phone

CHAIR_ATTESTATION = FULL_ATTESTATION
"""An attested chair's `StirVerstat` (level A: the report commits)."""
SPOOFED_ATTESTATION = "No-TN-Validation"
UNATTESTED = ("", "No-TN-Validation", "TN-Validation-Passed-B", "TN-Validation-Passed-C")
"""What an honest chair's call may carry instead of A: nothing at all (many landlines and
every call from abroad), no validation, or partial (B) or gateway (C) attestation."""
OUT_OF_STATE = "Out of State Satellite"
"""The 2020 file's pseudo-county of the 27 satellites outside Iowa, some of them abroad."""
PIN_GUESSER_CALLS = 4
REPEAT_DIALER_CALLS = 10


def chair_phone(index: int) -> str:
    """A distinct, valid Iowa number for the index-th chair (never dialled: loopback only);
    the same numbering as `hotline demo` and `hotline flood --prepare` register."""
    return demo_chair_phone(index)


def prank_phone(index: int) -> str:
    return f"+1319{3000000 + index:07d}"


def consistent(sheet: Worksheet, ballot: Ballot) -> bool:
    """Whether the worksheet passes every check, so its chair's report commits cleanly."""
    if sheet.delegates_to_elect is None:
        return False
    first, final, delegates = (sheet.block(ballot, block) for block in (FIRST, FINAL, DELEGATES))
    names = list(ballot.group_names)
    findings = check_report(names, first, final, delegates, sheet.delegates_to_elect)
    return not any(not finding.informational for finding in findings)


def replayable(sheet: Worksheet, ballot: Ballot) -> bool:
    """Whether every group with figures is on the ballot (and the site has an ID)."""
    return bool(sheet.precinct_id) and sheet.candidates_with_figures() <= set(ballot.group_names)


@dataclass
class Scenario:
    """The chairs and pranks of a flood, and all of them in calling order (`callers`)."""

    chairs: list[Chair]
    pranks: list[Prank]
    callers: list[Chair | Prank]


def build_scenario(
    sheets: Sequence[Worksheet],
    pins: dict[str, str],
    ballot: Ballot,
    *,
    pranks: int,
    seed: int,
    typo_rate: float = 0.0,
    drop_rate: float = 0.0,
    kinds: Sequence[str] = PRANK_KINDS,
    phones: Mapping[str, str] | None = None,
    unattested_rate: float = 0.0,
    out_of_state_unattested: bool = False,
) -> Scenario:
    """Chairs for `sheets` (one each) and `pranks` hostile callers spread over `kinds`.

    A chair calls from `phones[precinct_id]` (the registered phone) when given, else from
    `chair_phone(index)`. A share `unattested_rate` of the chairs (and, with
    `out_of_state_unattested`, every out-of-state satellite's) call without level-A
    attestation, so their reports are held as unverified; the rest are attested A.
    """
    rng = random.Random(seed)
    chairs = [
        Chair(
            precinct_id=sheet.precinct_id,
            pin=pins[sheet.precinct_id],
            sheet=sheet,
            ballot=ballot,
            phone=phones[sheet.precinct_id] if phones else chair_phone(index),
            rng=random.Random(rng.random()),
            typo_rate=typo_rate,
            drop_at=_drop_step(rng, ballot) if rng.random() < drop_rate else "",
        )
        for index, sheet in enumerate(sheets)
    ]
    all_ids = sorted(pins)
    chair_ids = {chair.precinct_id for chair in chairs}
    others = [pid for pid in all_ids if pid not in chair_ids] or all_ids
    prank_list = [
        _prank(kinds[i % len(kinds)], i, rng, all_ids, others, chairs, pins) for i in range(pranks)
    ]
    _attest(chairs, seed, unattested_rate, out_of_state_unattested)
    callers: list[Chair | Prank] = [*chairs, *prank_list]
    rng.shuffle(callers)
    return Scenario(chairs, prank_list, callers)


def _attest(chairs: Sequence[Chair], seed: int, rate: float, out_of_state: bool) -> None:
    # A generator of its own, so the rest of the plan is the same whatever the rate.
    rng = random.Random(f"{seed}:attestation")
    for chair in chairs:
        unattested = rng.random() < rate or (out_of_state and chair.sheet.county == OUT_OF_STATE)
        choice = rng.choice(UNATTESTED)
        chair.stir_verstat = choice if unattested else FULL_ATTESTATION


def calls_per_prank(kind: str) -> int:
    """How many calls one prank persona of `kind` places."""
    return {"pin_guesser": PIN_GUESSER_CALLS, "repeat_dialer": REPEAT_DIALER_CALLS}.get(kind, 1)


def pranks_for_calls(calls: int, kinds: Sequence[str] = PRANK_KINDS) -> int:
    """How many prank personas (kinds in turn, as `build_scenario` assigns them) place at
    least `calls` calls in all."""
    personas = placed = 0
    while placed < calls:
        placed += calls_per_prank(kinds[personas % len(kinds)])
        personas += 1
    return personas


def _drop_step(rng: random.Random, ballot: Ballot) -> str:
    # A block after the first, so the chair calls back with a completed block to resume.
    block = rng.choice(BLOCKS[1:])
    return f"figure/{block}/{rng.randint(1, len(ballot.groups))}"


def _prank(
    kind: str,
    index: int,
    rng: random.Random,
    all_ids: list[str],
    others: list[str],
    chairs: list[Chair],
    pins: dict[str, str],
) -> Prank:
    prank = Prank(
        kind=kind, phone=prank_phone(index), rng=random.Random(rng.random()), precinct_ids=all_ids
    )
    prank.calls = calls_per_prank(kind)
    if kind == "spoofed_chair" and chairs:
        victim = rng.choice(chairs)
        prank.phone, prank.target_precinct = victim.phone, victim.precinct_id
        prank.stir_verstat = SPOOFED_ATTESTATION
    elif kind == "anonymous":
        prank.phone = "anonymous"
    elif kind == "robot":
        prank.phone = f"client:robot{index}"
    elif kind == "leaked_pin":
        # A PIN photographed off a worksheet: a chair's precinct, keyed from another phone.
        target = rng.choice(chairs).precinct_id if chairs else rng.choice(others)
        prank.target_precinct, prank.target_pin = target, pins[target]
    return prank
