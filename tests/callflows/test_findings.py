"""Tests for the findings: one hand-made case per code, and how the blocks fit together."""

from __future__ import annotations

import pytest

from callflows.findings import (
    ALLOCATION_DIFFERS,
    CODES,
    DELEGATE_TOTAL_MISMATCH,
    DELEGATES_TO_NONVIABLE_GROUP,
    FINAL_TOTAL_EXCEEDS_FIRST,
    MORE_VIABLE_GROUPS_THAN_DELEGATES,
    TIE_NEEDS_GAME_OF_CHANCE,
    VIABLE_GROUP_SHRANK,
    VIABLE_GROUP_WITHOUT_DELEGATE,
    Finding,
    check_delegates_block,
    check_final_block,
    check_report,
)

THREE = ("Biden", "Sanders", "Warren")


def only(findings: list[Finding], code: str) -> Finding:
    """The single finding of ``code``, asserting there is nothing else."""
    assert [f.code for f in findings] == [code]
    return findings[0]


def test_codes_are_the_agreed_names() -> None:
    assert set(CODES) == {
        "final_total_exceeds_first",
        "viable_group_shrank",
        "delegate_total_mismatch",
        "delegates_to_nonviable_group",
        "viable_group_without_delegate",
        "allocation_differs",
        "more_viable_groups_than_delegates",
        "tie_needs_game_of_chance",
    }


# --- one case per code ----------------------------------------------------------------------


def test_final_total_exceeds_first() -> None:
    finding = only(check_final_block(THREE, (10, 10, 5), (12, 10, 5), 4), FINAL_TOTAL_EXCEEDS_FIRST)
    assert "27 people" in finding.spoken
    assert "25" in finding.spoken
    assert finding.written == "final alignment total 27 > first alignment total 25"
    assert not finding.informational


def test_viable_group_shrank() -> None:
    finding = only(check_final_block(THREE, (20, 10, 10), (18, 12, 10), 4), VIABLE_GROUP_SHRANK)
    assert finding.groups == (0,)
    assert "Biden was viable in the first alignment with 20 people" in finding.spoken
    assert "shows 18" in finding.spoken
    assert "6 needed of 40" in finding.written


def test_more_viable_groups_than_delegates() -> None:
    names = ("Biden", "Buttigieg", "Steyer", "Uncommitted")
    counts = (10, 11, 6, 7)
    finding = only(check_final_block(names, counts, counts, 3), MORE_VIABLE_GROUPS_THAN_DELEGATES)
    assert finding.groups == (2,)
    assert "4 viable groups" in finding.spoken
    assert "only 3 delegates" in finding.spoken
    assert "Steyer with 6 people, must realign" in finding.spoken


def test_more_viable_groups_than_delegates_with_a_tie_at_the_cut() -> None:
    names = ("Biden", "Buttigieg", "Klobuchar", "Sanders", "Warren")
    counts = (7, 11, 7, 6, 6)
    finding = only(check_final_block(names, counts, counts, 4), MORE_VIABLE_GROUPS_THAN_DELEGATES)
    assert finding.groups == (3, 4)
    assert "Sanders and Warren tie with 6 each" in finding.spoken
    assert "which 1 group must realign" in finding.spoken


def test_delegate_total_mismatch() -> None:
    findings = check_delegates_block(THREE, (20, 10, 7), (20, 10, 7), (4, 2, 2), 7)
    finding = only(findings, DELEGATE_TOTAL_MISMATCH)
    assert finding.spoken == "Your worksheet gives out 8 delegates, but this precinct elects 7."


def test_delegates_to_nonviable_group() -> None:
    names = ("Biden", "Sanders", "Klobuchar")
    findings = check_delegates_block(names, (12, 12, 10), (15, 15, 4), (2, 2, 1), 5)
    finding = only(findings, DELEGATES_TO_NONVIABLE_GROUP)
    assert finding.groups == (2,)
    assert finding.spoken == (
        "Your worksheet gives Klobuchar 1 delegate, but Klobuchar had 4 people of 34 in the "
        "final alignment, below the 6 needed to be viable."
    )


def test_viable_group_without_delegate() -> None:
    findings = check_delegates_block(THREE, (20, 14, 6), (20, 14, 6), (3, 1, 0), 4)
    finding = only(findings, VIABLE_GROUP_WITHOUT_DELEGATE)
    assert finding.groups == (2,)
    assert "Warren no delegate" in finding.spoken
    assert "6 people of 40" in finding.spoken
    assert "the 6 needed" in finding.spoken


def test_allocation_differs() -> None:
    findings = check_delegates_block(THREE, (20, 10, 7), (20, 10, 7), (3, 3, 1), 7)
    finding = only(findings, ALLOCATION_DIFFERS)
    assert finding.groups == (0, 1)
    assert "should be Biden 4, Sanders 2, Warren 1" in finding.spoken
    assert "Your worksheet has Biden 3, Sanders 3, Warren 1." in finding.spoken
    assert finding.written == (
        "expected [Biden 4, Sanders 2, Warren 1]; reported [Biden 3, Sanders 3, Warren 1]"
    )


def test_allocation_differs_names_the_game_of_chance() -> None:
    findings = check_delegates_block(THREE, (100, 50, 50), (100, 50, 50), (2, 2, 2), 6)
    finding = only(findings, ALLOCATION_DIFFERS)
    assert "game of chance between Sanders and Warren" in finding.spoken
    assert " or " in finding.written


def test_allocation_differs_with_one_delegate() -> None:
    findings = check_delegates_block(THREE, (10, 8, 8), (10, 8, 8), (0, 1, 0), 1)
    finding = only(findings, ALLOCATION_DIFFERS)
    assert "the largest group wins it: that is Biden, with 10 people" in finding.spoken
    assert "gives it to Sanders with 8 people" in finding.spoken


def test_with_one_delegate_the_largest_group_is_named_even_when_it_is_not_first() -> None:
    findings = check_delegates_block(THREE, (8, 10, 3), (8, 10, 3), (1, 0, 0), 1)
    finding = only(findings, ALLOCATION_DIFFERS)
    assert "the largest group wins it: that is Sanders, with 10 people" in finding.spoken
    assert "gives it to Biden with 8 people" in finding.spoken


def test_tie_needs_game_of_chance() -> None:
    findings = check_delegates_block(THREE, (100, 50, 50), (100, 50, 50), (3, 2, 1), 6)
    finding = only(findings, TIE_NEEDS_GAME_OF_CHANCE)
    assert finding.informational
    assert finding.groups == (1, 2)
    assert "Sanders and Warren tied" in finding.spoken
    assert "matches Sanders winning it" in finding.spoken


def test_tie_for_the_only_delegate() -> None:
    findings = check_delegates_block(THREE, (8, 8, 2), (8, 8, 2), (0, 1, 0), 1)
    finding = only(findings, TIE_NEEDS_GAME_OF_CHANCE)
    assert "who gets the only delegate" in finding.spoken
    assert "matches Sanders winning it" in finding.spoken


# --- no false alarms ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("d", "counts", "delegates"),
    [
        (7, (20, 10, 7), (4, 2, 1)),
        (1, (10, 8, 8), (1, 0, 0)),
        (3, (75, 15, 0), (2, 1, 0)),
        (2, (13, 7, 0), (1, 1, 0)),
        (3, (3, 1, 1), (1, 1, 1)),
    ],
)
def test_correct_report_has_no_finding(
    d: int, counts: tuple[int, ...], delegates: tuple[int, ...]
) -> None:
    assert check_report(THREE, counts, counts, delegates, d) == []


def test_nobody_caucused() -> None:
    assert check_report(THREE, (0, 0, 0), (0, 0, 0), (0, 0, 0), 5) == []


def test_groups_may_move_freely_with_one_delegate() -> None:
    # No threshold, so nobody is locked in: the 3 who left Sanders broke no rule.
    assert check_report(THREE, (5, 3, 2), (8, 0, 2), (1, 0, 0), 1) == []


def test_nonviable_groups_may_stay_without_delegates() -> None:
    assert check_report(THREE, (20, 15, 5), (20, 17, 3), (2, 2, 0), 4) == []


# --- how findings combine -------------------------------------------------------------------


def test_delegates_block_does_not_repeat_final_block() -> None:
    first, final, delegates = (10, 10, 5), (12, 10, 5), (2, 2, 0)
    final_codes = {f.code for f in check_final_block(THREE, first, final, 4)}
    delegate_codes = {f.code for f in check_delegates_block(THREE, first, final, delegates, 4)}
    assert final_codes == {FINAL_TOTAL_EXCEEDS_FIRST}
    assert not final_codes & delegate_codes
    report_codes = [f.code for f in check_report(THREE, first, final, delegates, 4)]
    assert set(report_codes) == final_codes | delegate_codes


def test_specific_findings_hold_back_allocation_differs() -> None:
    # Warren (3 of 21, 4 needed) got a delegate: that, not a recomputed split, is the news.
    findings = check_delegates_block(THREE, (8, 10, 3), (8, 10, 3), (3, 3, 1), 7)
    assert [f.code for f in findings] == [DELEGATES_TO_NONVIABLE_GROUP]


def test_count_error_holds_back_allocation_differs() -> None:
    # Final 30 of 10 attending: shares add up to 30, so an "expected" split means nothing.
    first, final, delegates = (5, 2, 3), (16, 5, 9), (5, 2, 3)
    codes = [f.code for f in check_report(THREE, first, final, delegates, 10)]
    assert codes == [FINAL_TOTAL_EXCEEDS_FIRST]


def test_shrinking_does_not_hold_back_allocation_differs() -> None:
    codes = [f.code for f in check_report(THREE, (22, 10, 7), (20, 10, 7), (3, 3, 1), 7)]
    assert codes == [VIABLE_GROUP_SHRANK, ALLOCATION_DIFFERS]


def test_smallest_group_left_out_when_too_many_are_viable() -> None:
    names = ("Biden", "Buttigieg", "Steyer", "Uncommitted")
    counts = (10, 11, 6, 7)
    codes = [f.code for f in check_report(names, counts, counts, (1, 1, 0, 1), 3)]
    assert codes == [MORE_VIABLE_GROUPS_THAN_DELEGATES]


def test_delegates_with_nobody_in_the_first_alignment() -> None:
    findings = check_report(THREE, (0, 0, 0), (5, 4, 0), (1, 1, 0), 2)
    assert [f.code for f in findings] == [
        FINAL_TOTAL_EXCEEDS_FIRST,
        DELEGATES_TO_NONVIABLE_GROUP,
        DELEGATES_TO_NONVIABLE_GROUP,
    ]
    assert findings[1].spoken == (
        "Your worksheet gives Biden 1 delegate, but no one was counted in the first "
        "alignment, so no group can be viable."
    )


def test_delegates_where_nobody_is_elected() -> None:
    findings = check_report(THREE, (5, 5, 0), (5, 5, 0), (1, 0, 0), 0)
    finding = only(findings, DELEGATES_TO_NONVIABLE_GROUP)
    assert finding.spoken == (
        "Your worksheet gives Biden 1 delegate, but this precinct elects no delegates."
    )


def test_columns_must_match_the_names() -> None:
    with pytest.raises(ValueError):
        check_report(THREE, (1, 2), (1, 2, 3), (0, 0, 0), 2)


def test_every_sentence_is_plain_text() -> None:
    cases = [
        check_report(THREE, (10, 10, 5), (12, 10, 5), (2, 2, 0), 4),
        check_report(THREE, (20, 14, 6), (20, 14, 6), (3, 1, 0), 4),
        check_report(THREE, (100, 50, 50), (100, 50, 50), (2, 2, 2), 6),
        check_report(THREE, (100, 50, 50), (100, 50, 50), (3, 2, 1), 6),
    ]
    for finding in (f for findings in cases for f in findings):
        assert finding.spoken.endswith(".")
        assert finding.written
        assert "  " not in finding.spoken


def test_delegate_to_a_group_nobody_stayed_in() -> None:
    findings = check_report(THREE, (5, 3, 2), (8, 0, 2), (0, 1, 0), 1)
    finding = only(findings, DELEGATES_TO_NONVIABLE_GROUP)
    assert finding.spoken == (
        "Your worksheet gives Sanders 1 delegate, but Sanders had nobody in the final alignment."
    )
    assert finding.written == "Sanders: 1 delegate(s) but not viable (final 0)"
