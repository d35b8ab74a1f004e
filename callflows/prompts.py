"""Everything the hotline says, in one place: short, plain sentences for a chair on the phone.

Every sentence a caller hears is a constant or a function here that takes the numbers and
names it reads out; the rest of callflows only decides which to say. The one exception is
the preference groups' spoken names, which each ballot file gives. A translation therefore
goes through this module alone (tests/callflows/test_prompts.py keeps it that way).
"""

from __future__ import annotations

from collections.abc import Sequence

from callflows.caucus import GameOfChance, Stake
from callflows.keypad import EntryError, spell_digits
from callflows.state import DELEGATES, FINAL, FIRST

_BLOCK_NAMES = {FIRST: "first alignment", FINAL: "final alignment", DELEGATES: "county delegates"}


def block_name(block: str) -> str:
    """How a block (callflows.state.FIRST, FINAL or DELEGATES) is called on the phone."""
    return _BLOCK_NAMES[block]


GREETING = "Caucus results hotline."
ASK_PRECINCT = "Key your precinct ID, then press pound."
ASK_PIN = "Key your 6 digit PIN."
ASK_RESUME = "Press 1 to continue where you left off. Press 2 to start over."
ASK_CONFIRM = "Press 1 to submit. Press 2 to hear the figures read back. Press 3 to start over."
NO_INPUT = "I didn't hear anything."
POUND_ONLY = "You pressed pound without a number. Key the number, then press pound."
THANKS_FOR_HOLDING = "Thank you for holding."
THANK_YOU = "Thank you."
GOING_BACK = "Going back one."
FIRST_GROUP_ALREADY = "This is the first group; there is nothing before it."
STARTING_OVER = "Starting over."
PIN_LOCKED_OUT = (
    "That PIN is not right either. For security, this call will end. "
    "Please check your PIN and call again. Goodbye."
)
NUMBER_BLOCKED = (
    "This phone number has keyed too many wrong PINs and cannot enter one tonight. "
    "Please call party staff. Goodbye."
)
NUMBER_BLOCKED_CALL_BACK = (
    "This phone number has keyed too many wrong PINs and cannot enter one on this call. "
    "If it is the chair's registered phone, the hotline will call it back in a few minutes. "
    "Otherwise, please call party staff. Goodbye."
)
PRECINCT_LOCKED = (
    "This precinct is locked after too many wrong PINs. Please call from the chair's "
    "registered phone, or call party staff. Goodbye."
)
PRECINCT_GIVE_UP = "Please check the precinct ID on your worksheet and call again. Goodbye."
GOODBYE = "Goodbye."
SAVED_CALL_BACK = "Your figures so far are saved. Call back to continue."
TOO_MANY_ERRORS = "Let's stop here."
SILENT_GOODBYE = "I still didn't hear anything, so I will end this call."
CALL_FINISHED = "This call is finished. Goodbye."
PRESS_ONE_OR_TWO = "Please press 1 or 2."
PRESS_ONE_TWO_OR_THREE = "Please press 1, 2 or 3."
HOLD_ON = "One moment, please."
OPENING = "The hotline opens in a moment."
"""A new call while the hotline switches from rehearsal to live: it holds and goes through
as soon as the hotline is live."""
TROUBLE_CALL_BACK = (
    "Sorry, the hotline is having trouble right now. Anything you already keyed is saved. "
    "Please call back in a few minutes. Goodbye."
)


HOLD_GREETING = "Thanks for calling the caucus results hotline."
LINE_BUSY = "Sorry, all our lines are busy right now. Please call back in a few minutes. Goodbye."


def hold_position(position: int, *, first: bool = True) -> str:
    """A held caller's place in line; only the first announcement thanks them for calling."""
    ahead = "You are next" if position == 1 else f"You are number {position} in line"
    place = f"{ahead}. Please stay on the line."
    return f"{HOLD_GREETING} {place}" if first else place


def entry_error(error: EntryError, *, maximum: int) -> str:
    """A specific reason, read out before the prompt is repeated."""
    if error is EntryError.NOT_DIGITS:
        return "Please use only the number keys, then press pound."
    if error is EntryError.TOO_LARGE:
        return f"That is more than {maximum:,}. Please key it again."
    return "That is not the right number of digits."


def precinct_wrong_length() -> str:
    return "Precinct IDs have 4 to 7 digits."


def precinct_not_found(precinct_id: str) -> str:
    return f"I could not find precinct {spell_digits(precinct_id)}."


def precinct_found(name: str, county: str, is_satellite: bool) -> str:
    return f"{name}." if is_satellite else f"{name}, {county} County."


def pin_wrong_length() -> str:
    return "PINs have 6 digits."


def pin_wrong(tries_left: int) -> str:
    tries = "1 more try" if tries_left == 1 else f"{tries_left} more tries"
    return f"That PIN is not right. You have {tries}."


def resume_offer(group: str, block: str) -> str:
    """A report in progress that stopped at `group`'s figure in `block`."""
    return f"You have a report in progress, stopped at {group}, {block_name(block)}."


def resume_offer_at_total(block: str) -> str:
    """A report in progress that stopped at (or just after) `block`'s total."""
    return f"You have a report in progress, stopped at the total, {block_name(block)}."


RESUME_OFFER_AT_CONFIRM = (
    "You have a report in progress, stopped at the confirmation, after all figures."
)


def block_intro(block: str) -> str:
    return (
        f"{block_name(block).capitalize()}. For each group, key the number, then pound. "
        "Key 0 pound for none, or star pound to go back."
    )


def ask_group(group: str) -> str:
    return f"{group}."


def echo_figure(group: str, value: int) -> str:
    """Read back what was keyed, so a typo is heard at once."""
    return f"{group} {value}."


def ask_total(block: str) -> str:
    return f"Now key the {block_name(block)} total from your worksheet, then pound."


def total_matches() -> str:
    return "That matches."


def total_mismatch(block: str, added: int, stated: int) -> str:
    return (
        f"Your {block_name(block)} figures add up to {added}, but your worksheet total is {stated}."
    )


def ask_fix(block: str, *, total_wrong: bool) -> str:
    menu = (
        f"Press 1 to key the {block_name(block)} again. "
        "Press 2 to keep these figures and submit them flagged for review."
    )
    return f"{menu} Press 3 to key the total again." if total_wrong else menu


def chance_question(options: Sequence[str], winners: int) -> str:
    """Ask who won the game of chance: one key per tied group, numbered as they are read."""
    keys = " ".join(f"Press {n} for {name}." for n, name in enumerate(options, start=1))
    if winners == 1:
        return f"Who won the game of chance? {keys}"
    return f"Which {winners} groups won the game of chance? Key each of them. {keys}"


def chance_mismatch(
    expected: Sequence[tuple[str, int]], reported: Sequence[tuple[str, int]]
) -> str:
    """The delegates the reported winners would get, against the worksheet's (each a list
    of the groups given delegates, with their delegates)."""
    return (
        f"With that result, the delegates would be {_delegate_list(expected)}, "
        f"but your worksheet has {_delegate_list(reported)}."
    )


def rekey_block(block: str) -> str:
    return f"Let's key the {block_name(block)} again."


def kept_flagged() -> str:
    return "Kept, and flagged for review."


def all_figures_in(precinct: str) -> str:
    return f"All figures are in for {precinct}."


def read_back_block(
    block: str, named: list[tuple[str, int]], others_zero: bool, flagged: bool
) -> str:
    parts = [f"{name} {value}" for name, value in named] or ["every group 0"]
    text = f"{block_name(block).capitalize()}: {', '.join(parts)}."
    if named and others_zero:
        text += " All others 0."
    text += f" Total {sum(value for _, value in named)}."
    if flagged:
        text += " Flagged for review."
    return text


def receipt(code: str) -> tuple[str, ...]:
    spoken = spell_digits(code, ", ")
    return (
        "Your report is received.",
        f"Your receipt number is {spoken}.",
        f"Again: {spoken}.",
        "Thank you. Goodbye.",
    )


CALL_BACK_UNATTESTED = (
    "Because your carrier could not confirm your number, we will call you back on it to confirm."
)
"""After "received", to a chair whose report is held because the call was not attested."""
CALL_BACK_NO_CHAIR_PHONE = (
    "Because we have no phone number on file for your precinct, we will call you back to confirm."
)
"""After "received", to a caller whose precinct has no registered chair phone."""


def receipt_to_confirm(code: str, why: str) -> tuple[str, ...]:
    """The receipt of a report held until the chair is called back; `why` is one of the
    CALL_BACK sentences, said right after "Your report is received."."""
    received, *rest = receipt(code)
    return (received, why, *rest)


# --- findings (callflows.findings decides which apply) ------------------------------------
# Groups come as (name, number) pairs: a head count or a number of delegates, as each says.


def final_total_exceeds_first(final_total: int, attendance: int) -> str:
    return (
        f"Your final alignment adds up to {_people(final_total)}, but only {attendance} "
        "were counted in the first alignment. The final total cannot be higher."
    )


def viable_group_shrank(name: str, before: int, after: int) -> str:
    return (
        f"{name} was viable in the first alignment with {_people(before)}, so its "
        f"members could not realign, but your final alignment shows {after}."
    )


def too_many_viable_groups(viable_count: int, delegates_to_elect: int) -> str:
    return (
        f"Your final alignment has {viable_count} viable groups, but the precinct elects "
        f"only {_delegates(delegates_to_elect)}."
    )


def smallest_must_realign(groups: Sequence[tuple[str, int]]) -> str:
    """The groups (with their final head counts) too small to stay viable."""
    return f"The smallest, {_groups_with_people(groups)}, must realign."


def tie_at_the_cut(tied: Sequence[str], count: int, game: GameOfChance) -> str:
    """Groups tied with `count` each where the viable groups are cut to the delegates."""
    return f"{_join(tied)} tie with {count} each; a game of chance decides {_stake(game)}."


def delegate_total_mismatch(total: int, delegates_to_elect: int) -> str:
    return (
        f"Your worksheet gives out {_delegates(total)}, "
        f"but this precinct elects {delegates_to_elect}."
    )


def delegates_to_nonviable_group(
    name: str, given: int, count: int, *, attendance: int, delegates_to_elect: int, threshold: int
) -> str:
    """`name` got `given` delegates with `count` people in the final alignment."""
    if attendance == 0:
        reason = "no one was counted in the first alignment, so no group can be viable."
    elif delegates_to_elect == 0:
        reason = "this precinct elects no delegates."
    elif count == 0:
        reason = f"{name} had nobody in the final alignment."
    else:
        reason = (
            f"{name} had {_people(count)} of {attendance} in the final alignment, "
            f"below the {threshold} needed to be viable."
        )
    return f"Your worksheet gives {name} {_delegates(given)}, but {reason}"


def viable_group_without_delegate(name: str, count: int, *, attendance: int, threshold: int) -> str:
    return (
        f"Your worksheet gives {name} no delegate, but {name} had {_people(count)} of "
        f"{attendance} in the final alignment, at least the "
        f"{threshold} needed to be viable. Every viable group gets a delegate."
    )


def allocation_differs(
    expected: Sequence[tuple[str, int]],
    reported: Sequence[tuple[str, int]],
    game: GameOfChance | None = None,
    tied: Sequence[tuple[str, int]] = (),
) -> str:
    """The delegates by the caucus math against the worksheet's. With a game of chance,
    `expected` is the groups outside it and `tied` those in it (delegates before the game)."""
    should = _delegate_list(expected)
    if game is not None:
        lead = f"{should}, " if expected else ""
        tied_names = _join([name for name, _ in tied])
        should = (
            f"{lead}{_pairs(tied)}, and a game of chance between {tied_names} "
            f"decides {_stake(game)}"
        )
    return (
        f"By the caucus math your delegates should be {should}. "
        f"Your worksheet has {_delegate_list(reported)}."
    )


def one_delegate_differs(
    largest: Sequence[tuple[str, int]], given: Sequence[tuple[str, int]]
) -> str:
    """A precinct electing one delegate: the largest final group (several when they tie, none
    when nobody stayed) and the groups the worksheet gives it to, with final head counts."""
    if not largest:
        winner = "nobody was in the final alignment"
    elif len(largest) == 1:
        name, count = largest[0]
        winner = f"that is {name}, with {_people(count)}"
    else:
        names = _join([name for name, _ in largest])
        winner = f"{names} tie with {largest[0][1]} each and play a game of chance"
    if given:
        shown = f"Your worksheet gives it to {_groups_with_people(given)}."
    else:
        shown = "Your worksheet gives it to no one."
    return f"With one delegate, the largest group wins it: {winner}. {shown}"


def tie_settled(tied: Sequence[str], game: GameOfChance, won: Sequence[str]) -> str:
    """The worksheet's delegates match `won` winning the game of chance among `tied`."""
    return (
        f"{_join(tied)} tied, so a game of chance decides {_stake(game)}. "
        f"Your worksheet matches {_join(won)} winning it."
    )


def delegates_to_elect_unknown(precinct: str) -> str:
    return f"The hotline does not know how many delegates {precinct} elects."


# --- wording helpers ----------------------------------------------------------------------


def _stake(game: GameOfChance) -> str:
    n = game.affected
    if game.stake is Stake.SOLE_DELEGATE:
        return "who gets the only delegate"
    if game.stake is Stake.EXTRA_DELEGATE:
        return f"who gets {_count(n, 'extra delegate')}"
    if game.stake is Stake.LOSE_DELEGATE:
        return f"who gives back {_count(n, 'delegate')}"
    return f"which {_count(n, 'group')} must realign"


def _pairs(groups: Sequence[tuple[str, int]]) -> str:
    return ", ".join(f"{name} {n}" for name, n in groups)


def _delegate_list(groups: Sequence[tuple[str, int]]) -> str:
    return _pairs(groups) or "no delegates"


def _groups_with_people(groups: Sequence[tuple[str, int]]) -> str:
    return _join([f"{name} with {_people(count)}" for name, count in groups])


def _join(words: Sequence[str]) -> str:
    if len(words) <= 1:
        return "".join(words) or "no one"
    return ", ".join(words[:-1]) + " and " + words[-1]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _people(n: int) -> str:
    return "1 person" if n == 1 else f"{n} people"


def _delegates(n: int) -> str:
    return _count(n, "delegate")


# --- calls the hotline places (callflows.flow: offer and verify steps) ---------------------


def offer_to_report(precinct_name: str) -> str:
    """What a chair hears on answering a call to a precinct that has not reported."""
    return (
        f"This is the caucus results hotline calling for precinct {precinct_name}. "
        "Press 1 to report your results now."
    )


PRESS_ONE_TO_REPORT = "Please press 1 to report your results now."
OFFER_CALL_BACK = "We will try you again later, or call the hotline when you are ready. Goodbye."


def ask_verify(precinct_name: str, receipt_code: str) -> str:
    """The question of a callback verifying a report whose caller ID was not attested."""
    tail = spell_digits(receipt_code[-3:], " ")
    return (
        f"A report for precinct {precinct_name} was received with a receipt ending in {tail}. "
        "Press 1 if you made it. Press 2 if you did not."
    )


VERIFIED_YES = "Thank you. Your report is confirmed and will be counted. Goodbye."
VERIFIED_NO = (
    "Thank you. That report will not be counted, and party staff have been alerted. "
    "If you have results to report, call the hotline. Goodbye."
)
VERIFY_CALL_BACK = "We will call again later. Goodbye."


def voicemail_offer(precinct_name: str, hotline_number: str) -> str:
    """Left on a chair's voicemail when a call about missing results reaches it."""
    return (
        f"This is the caucus results hotline, calling for precinct {precinct_name}, which has "
        f"not reported yet. Please call {_spoken_number(hotline_number)} to report your "
        "results. Thank you."
    )


def voicemail_verify(precinct_name: str) -> str:
    """Left on a chair's voicemail when a verification call reaches it."""
    return (
        f"This is the caucus results hotline, calling to confirm a report for precinct "
        f"{precinct_name}. We will call again. Thank you."
    )


def remind_to_drill(precinct_name: str, drill_number: str) -> str:
    """A reminder call (or the voicemail it leaves) to a chair who has not yet practised on
    the drill line; the number is said twice, for a pen."""
    spoken = _spoken_number(drill_number)
    return (
        f"This is the caucus results hotline, calling for precinct {precinct_name}. "
        "Please practise reporting before caucus night: call the practice line at "
        f"{spoken}, with your precinct ID, your PIN and the practice worksheet from your "
        f"caucus packet. Again, the practice line is {spoken}."
    )


REMIND_AGAIN = "To hear this again, press 1."
REMINDED_GOODBYE = "Thank you. Goodbye."


def _spoken_number(number: str) -> str:
    # "+15155550100" is read digit by digit, without the country code of a US number.
    digits = number.removeprefix("+1") if len(number) == 12 else number.lstrip("+")
    return spell_digits(digits, " ")


# --- a member of staff (callflows.flow: 0 at a menu) ---------------------------------------

CONNECTING_TO_STAFF = "Connecting you to a member of staff. Please hold."
STAFF_NO_ANSWER = "Nobody could take your call just now."
STAFF_CALL_OVER = "Thank you for calling the caucus results hotline. Goodbye."
STAFF_ALREADY_ASKED = (
    "You have already asked for staff on this call. Please answer the question, "
    "or call back to ask again."
)


def staff_off_duty(hours: str) -> str:
    """A caller who pressed 0 when nobody from staff is on duty; `hours` is when staff
    answer, as configured ("from 6 p.m. to 1 a.m."), "" when none is."""
    when = (
        f"Staff answer {hours.rstrip('.')}. Please call back then"
        if hours
        else ("Please call back later")
    )
    return f"Nobody from staff is available now. {when}, or keep going."


def staff_whisper(precinct_name: str, county: str) -> str:
    """What the member of staff hears on answering, before the chair is put through
    ("" names: a caller who has not yet given a precinct)."""
    if not precinct_name:
        return "Caucus results hotline: a caller who has not yet given a precinct needs help."
    where = f"{precinct_name}, {county} county" if county else precinct_name
    return f"Caucus results hotline: a chair for precinct {where}, needs help."


# --- the drill line (callflows.drill) -----------------------------------------------------

DRILL_GREETING = (
    "Caucus results hotline, practice line. Nothing you key here is counted. "
    "Have the practice worksheet from your caucus packet in front of you."
)
DRILL_SUBMITTED = "Your practice report is complete."
DRILL_MATCHED = "Every figure matches the practice worksheet."
DRILL_READY = "You are ready for caucus night. Thank you. Goodbye."
DRILL_TRY_AGAIN = "Please check your worksheet and call the practice line again. Goodbye."
DRILL_CLOSED_TONIGHT = "Practice is closed tonight. Connecting you to the results line."
DRILL_LINE_BUSY = "The practice line is busy. Please call again later. Goodbye."


def drill_mismatches(figures: Sequence[tuple[str, str, int, int]]) -> str:
    """The figures of a practice report that differ from the worksheet, each as (block or
    "chance", group, keyed, expected)."""
    parts = []
    for block, group, keyed, expected in figures:
        if block == "chance":
            parts.append(f"the game of chance, which {group} won")
        else:
            where = f"{group}, {block_name(block)}"
            parts.append(f"{where}: you keyed {keyed}, the worksheet has {expected}")
    count = "One figure does" if len(parts) == 1 else f"{len(parts)} figures do"
    return f"{count} not match the practice worksheet: {'; '.join(parts)}."
