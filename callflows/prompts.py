"""Everything the hotline says, in one place: short, plain sentences for a chair on the phone."""

from __future__ import annotations

from callflows.keypad import EntryError, spell_digits

GREETING = "Caucus results hotline."
ASK_PRECINCT = "Key your precinct ID, then press pound."
ASK_PIN = "Key your 6 digit PIN."
ASK_RESUME = "Press 1 to continue where you left off. Press 2 to start over."
ASK_CONFIRM = "Press 1 to submit. Press 2 to hear the figures read back. Press 3 to start over."
NO_INPUT = "I didn't hear anything."
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
TROUBLE_CALL_BACK = (
    "Sorry, the hotline is having trouble right now. Anything you already keyed is saved. "
    "Please call back in a few minutes. Goodbye."
)


def hold_position(position: int) -> str:
    ahead = "You are next" if position == 1 else f"You are number {position} in line"
    return f"Thanks for calling the caucus results hotline. {ahead}. Please stay on the line."


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
    return f"You have a report in progress, stopped at {group}, {block}."


def block_intro(block: str) -> str:
    return (
        f"{block.capitalize()}. For each group, key the number, then pound. "
        "Key 0 pound for none, or star pound to go back."
    )


def ask_group(group: str) -> str:
    return f"{group}."


def echo_figure(group: str, value: int) -> str:
    """Read back what was keyed, so a typo is heard at once."""
    return f"{group} {value}."


def ask_total(block: str) -> str:
    return f"Now key the {block} total from your worksheet, then pound."


def total_matches() -> str:
    return "That matches."


def total_mismatch(block: str, added: int, stated: int) -> str:
    return f"Your {block} figures add up to {added}, but your worksheet total is {stated}."


def ask_fix(block: str, *, total_wrong: bool) -> str:
    menu = (
        f"Press 1 to key the {block} again. "
        "Press 2 to keep these figures and submit them flagged for review."
    )
    return f"{menu} Press 3 to key the total again." if total_wrong else menu


def chance_mismatch(expected: str, reported: str) -> str:
    return (
        f"With that result, the delegates would be {expected}, but your worksheet has {reported}."
    )


def rekey_block(block: str) -> str:
    return f"Let's key the {block} again."


def kept_flagged() -> str:
    return "Kept, and flagged for review."


def all_figures_in(precinct: str) -> str:
    return f"All figures are in for {precinct}."


def read_back_block(
    block: str, named: list[tuple[str, int]], others_zero: bool, flagged: bool
) -> str:
    parts = [f"{name} {value}" for name, value in named] or ["every group 0"]
    text = f"{block.capitalize()}: {', '.join(parts)}."
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
