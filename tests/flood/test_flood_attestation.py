"""The load tester's unattested chairs: who they are in a plan, and how correctness judges
their reports (held as unverified with exactly the worksheet's figures is right for them)."""

from __future__ import annotations

import dataclasses

from callflows.ballots import load_ballot
from callflows.trust import FULL_ATTESTATION
from flood.correctness import (
    AWAITING_VERIFICATION,
    COMMITTED_EXACTLY,
    MISMATCH,
    check,
    load_precinct_table,
    worksheet_findings,
)
from flood.plan import OUT_OF_STATE, build_scenario, replayable
from flood.scenarios import SCENARIOS, PinEntry, build_plan
from flood.worksheets import Worksheet, load_worksheets
from tests.flood.test_flood_tool import _call, _chair, _report

BALLOT = load_ballot("iowa2020-other")


def clean_and_broken() -> tuple[list[Worksheet], Worksheet]:
    """Three worksheets the audit finds nothing wrong with, and one it finds inconsistent."""
    table = load_precinct_table()
    sheets = [s for s in load_worksheets().values() if s.precinct_id]
    clean = [s for s in sheets if not worksheet_findings(s, BALLOT, table)][:3]
    broken = next(s for s in sheets if worksheet_findings(s, BALLOT, table))
    return clean, broken


def test_a_share_of_chairs_and_every_out_of_state_satellite_chair_is_unattested() -> None:
    sheets = [s for s in load_worksheets().values() if replayable(s, BALLOT)]
    pins = {sheet.precinct_id: "123456" for sheet in sheets}
    plain = build_scenario(sheets, pins, BALLOT, pranks=50, seed=7)
    mixed = build_scenario(
        sheets, pins, BALLOT, pranks=50, seed=7, unattested_rate=0.15, out_of_state_unattested=True
    )
    assert all(chair.attested for chair in plain.chairs)
    out_of_state = [c for c in mixed.chairs if c.sheet.county == OUT_OF_STATE]
    assert len(out_of_state) >= 20 and not any(c.attested for c in out_of_state)
    in_state = [c for c in mixed.chairs if c.sheet.county != OUT_OF_STATE]
    share = sum(not c.attested for c in in_state) / len(in_state)
    assert 0.12 < share < 0.18
    assert {c.stir_verstat for c in mixed.chairs} - {FULL_ATTESTATION} <= {
        "", "No-TN-Validation", "TN-Validation-Passed-B", "TN-Validation-Passed-C",
    }  # fmt: skip
    # The rest of the night is the same plan whatever the attestation.
    assert [(c.precinct_id, c.phone, c.drop_at) for c in plain.chairs] == [
        (c.precinct_id, c.phone, c.drop_at) for c in mixed.chairs
    ]
    assert [(p.kind, p.phone, p.target_precinct) for p in plain.pranks] == [
        (p.kind, p.phone, p.target_precinct) for p in mixed.pranks
    ]


def test_a_planned_night_has_unattested_chairs_by_default() -> None:
    spec = SCENARIOS["iowa2020"]
    assert spec.unattested_rate == 0.15
    sheets = load_worksheets()
    entries = [
        PinEntry(s.precinct_id, s.county, s.precinct, f"+1515{2000000 + i:07d}", "123456")
        for i, s in enumerate(sheets.values())
        if s.precinct_id
    ]
    plan = build_plan(spec, entries, sheets, BALLOT)
    unattested = [c for c in plan.chairs if not c.attested]
    assert 0.1 * len(plan.chairs) < len(unattested) < 0.25 * len(plan.chairs)
    assert all(not c.attested for c in plan.chairs if c.sheet.county == OUT_OF_STATE)


def test_an_unattested_chair_is_right_only_when_held_unverified_with_the_exact_figures() -> None:
    clean, broken = clean_and_broken()
    table = load_precinct_table()
    held = _chair(clean[0], "+15152000001")
    held.stir_verstat = ""
    held_broken = _chair(broken, "+15152000002")
    held_broken.stir_verstat = "TN-Validation-Passed-B"
    attested = _chair(clean[1], "+15152000003")
    result = check(
        [held, held_broken, attested],
        [_report(held, "unverified"), _report(held_broken, "unverified"),
         _report(attested, "committed"),
         _report(attested, "unverified", caller="+15152000099"),
         _report(attested, "quarantined", caller="+13193000001")],
        [_call(held), _call(held_broken), _call(attested)],
        table,
    )  # fmt: skip
    assert result.verdicts == {AWAITING_VERIFICATION: 2, COMMITTED_EXACTLY: 1}
    assert result.awaiting_verification == sorted([held.precinct_id, held_broken.precinct_id])
    assert result.chairs_correct == 3
    assert result.prank_reports == {"unverified": 1, "quarantined": 1}
    assert result.prank_reports_not_held == 0 and result.holds
    data = result.to_dict()
    assert data["awaiting_verification"] == 2 and data["prank_reports_not_held"] == 0


def test_correctness_lists_unverified_and_unattested_reports_that_went_wrong() -> None:
    clean, _ = clean_and_broken()
    table = load_precinct_table()
    committed_anyway = _chair(clean[0], "+15152000001")
    committed_anyway.stir_verstat = "No-TN-Validation"
    held_wrongly = _chair(clean[1], "+15152000002")
    typo = _chair(clean[2], "+15152000003")
    typo.stir_verstat = ""
    result = check(
        [committed_anyway, held_wrongly, typo],
        [_report(committed_anyway, "committed"), _report(held_wrongly, "unverified"),
         _report(typo, "unverified", change=1),
         _report(typo, "flagged", caller="+13193000001")],
        [_call(committed_anyway), _call(held_wrongly), _call(typo)],
        table,
    )  # fmt: skip
    assert result.verdicts == {MISMATCH: 3}
    assert result.awaiting_verification == []
    assert result.prank_reports_not_held == 1 and not result.holds


def test_chair_attestation_is_a_random_share_not_the_first_chairs() -> None:
    sheets = [s for s in load_worksheets().values() if replayable(s, BALLOT)][:400]
    pins = {sheet.precinct_id: "123456" for sheet in sheets}
    scenario = build_scenario(sheets, pins, BALLOT, pranks=0, seed=3, unattested_rate=0.5)
    flags = [chair.attested for chair in scenario.chairs]
    assert 150 < flags.count(False) < 250
    assert flags[:20] != [False] * 20


def test_a_chair_spoofers_blocked_is_right_once_the_hotlines_callback_commits_their_report() -> (
    None
):
    clean, _ = clean_and_broken()
    table = load_precinct_table()
    blocked = _chair(clean[0], "+15152000001")
    blocked.stir_verstat = ""
    never_called_back = _chair(clean[1], "+15152000002")
    never_called_back.stir_verstat = ""
    callback = dataclasses.replace(_report(blocked, "committed"), call_sid="CA" + "1" * 32)
    refused = [
        dataclasses.replace(_call(chair, refused=True), receipt=False)
        for chair in (blocked, never_called_back)
    ]
    result = check(
        [blocked, never_called_back],
        [callback],
        refused,
        table,
        frozenset({callback.call_sid}),
    )
    # On a call the hotline placed to the phone, the unattested chair's report commits.
    assert result.verdicts == {COMMITTED_EXACTLY: 1, MISMATCH: 1}
    assert result.chairs_called_back == [blocked.precinct_id]
    assert result.chairs_wrongly_blocked == [never_called_back.precinct_id]
    assert result.chairs_without_receipt == [never_called_back.precinct_id]
    assert not result.holds
    # The same report, not known to come on a callback, is a mismatch: it should be held.
    unknown = check([blocked], [callback], refused[:1], table)
    assert unknown.verdicts == {MISMATCH: 1} and unknown.chairs_wrongly_blocked
