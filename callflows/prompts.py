"""Everything the hotline says, in one place: short, plain sentences for a chair on the phone.

Every sentence a caller hears is a phrase (callflows.phrases) here, a constant or a function
that takes the numbers and names it reads out; the rest of callflows only decides which to
say. The one exception is the preference groups' spoken names, which each ballot file gives.
The phrases' templates are the message IDs of the catalogue (ivr/locale, extracted with
Babel: `make catalogue`), where each language has its words for them.
"""

from __future__ import annotations

from collections.abc import Sequence

from callflows.caucus import GameOfChance, Stake
from callflows.keypad import EntryError, spell_digits
from callflows.phrases import ENGLISH, Phrase, counted, phrase, phrase_in
from callflows.state import DELEGATES, FINAL, FIRST

_BLOCK_NAMES = {
    FIRST: phrase("first alignment"),
    FINAL: phrase("final alignment"),
    DELEGATES: phrase("county delegates"),
}
_BLOCK_TITLES = {
    FIRST: phrase("First alignment"),
    FINAL: phrase("Final alignment"),
    DELEGATES: phrase("County delegates"),
}
"""The same at the start of a sentence: a language capitalizes its own words."""


def block_name(block: str) -> Phrase:
    """How a block (callflows.state.FIRST, FINAL or DELEGATES) is called on the phone."""
    return _BLOCK_NAMES[block]


def together(first: str, second: str) -> Phrase:
    """Two sentences said as one prompt, the first before the second."""
    return phrase("{first} {second}", first=first, second=second)


GREETING = phrase("Caucus results hotline.")
_LANGUAGE_OFFERS = {
    ENGLISH: phrase_in(ENGLISH, "For English, press 9 and pound."),
    "es": phrase_in("es", "For Spanish, press 9 and pound."),
}
"""Each said in its own language and voice: a caller who needs the offer understands it."""


def language_offer(language: str) -> Phrase:
    """The offer of `language`, made at the greeting of a call in another one."""
    return _LANGUAGE_OFFERS[language]


ASK_PRECINCT = phrase("Key your precinct ID, then pound.")
ASK_PIN = phrase("Key your 6 digit PIN.")
ASK_RESUME = phrase("Press 1 to continue where you left off. Press 2 to start over.")
ASK_CONFIRM = phrase("Press 1 to submit, 2 to hear the figures, 3 to start over.")
NO_INPUT = phrase("I didn't hear anything.")
POUND_ONLY = phrase("You pressed pound without a number. Key the number, then press pound.")
THANKS_FOR_HOLDING = phrase("Thank you for holding.")
THANK_YOU = phrase("Thank you.")
GOING_BACK = phrase("Going back one.")
FIRST_GROUP_ALREADY = phrase("This is the first group; there is nothing before it.")
STARTING_OVER = phrase("Starting over.")
PIN_LOCKED_OUT = phrase(
    "That PIN is not right either. For security, this call will end. "
    "Please check your PIN and call again. Goodbye."
)
NUMBER_BLOCKED = phrase(
    "This phone number has keyed too many wrong PINs and cannot enter one tonight. "
    "Please call party staff. Goodbye."
)
NUMBER_BLOCKED_CALL_BACK = phrase(
    "This phone number has keyed too many wrong PINs and cannot enter one on this call. "
    "If it is the chair's registered phone, the hotline will call it back in a few minutes. "
    "Otherwise, please call party staff. Goodbye."
)
PRECINCT_LOCKED = phrase(
    "This precinct is locked after too many wrong PINs. Please call from the chair's "
    "registered phone, or call party staff. Goodbye."
)
PRECINCT_GIVE_UP = phrase("Please check the precinct ID on your worksheet and call again. Goodbye.")
GOODBYE = phrase("Goodbye.")
SAVED_CALL_BACK = phrase("Your figures so far are saved. Call back to continue.")
TOO_MANY_ERRORS = phrase("Let's stop here.")
SILENT_GOODBYE = phrase("I still didn't hear anything, so I will end this call.")
CALL_FINISHED = phrase("This call is finished. Goodbye.")
PRESS_ONE_OR_TWO = phrase("Please press 1 or 2.")
PRESS_ONE_TWO_OR_THREE = phrase("Please press 1, 2 or 3.")
HOLD_ON = phrase("One moment, please.")
OPENING = phrase("The hotline opens in a moment.")
"""A new call while the hotline switches from rehearsal to live: it holds and goes through
as soon as the hotline is live."""
TROUBLE_CALL_BACK = phrase(
    "Sorry, the hotline is having trouble right now. Anything you already keyed is saved. "
    "Please call back in a few minutes. Goodbye."
)


HOLD_GREETING = phrase("Thanks for calling the caucus results hotline.")
LINE_BUSY = phrase(
    "Sorry, all our lines are busy right now. Please call back in a few minutes. Goodbye."
)


def hold_position(position: int, *, first: bool = True) -> Phrase:
    """A held caller's place in line; only the first announcement thanks them for calling."""
    if position == 1:
        place = phrase("You are next. Please stay on the line.")
    else:
        place = phrase(
            "You are number {position} in line. Please stay on the line.", position=position
        )
    return together(HOLD_GREETING, place) if first else place


def entry_error(error: EntryError, *, maximum: int) -> Phrase:
    """A specific reason, read out before the prompt is repeated."""
    if error is EntryError.NOT_DIGITS:
        return phrase("Please use only the number keys, then press pound.")
    if error is EntryError.TOO_LARGE:
        return phrase("That is more than {maximum:,}. Please key it again.", maximum=maximum)
    return phrase("That is not the right number of digits.")


def precinct_wrong_length() -> Phrase:
    return phrase("Precinct IDs have 4 to 7 digits.")


def precinct_not_found(precinct_id: str) -> Phrase:
    return phrase("I could not find precinct {digits}.", digits=spell_digits(precinct_id))


def precinct_found(name: str, county: str, is_satellite: bool) -> Phrase:
    if is_satellite:
        return phrase("{name}.", name=name)
    return phrase("{name}, {county} County.", name=name, county=county)


def pin_wrong_length() -> Phrase:
    return phrase("PINs have 6 digits.")


def pin_wrong(tries_left: int) -> Phrase:
    return counted(
        "That PIN is not right. You have {count} more try.",
        "That PIN is not right. You have {count} more tries.",
        tries_left,
    )


def resume_offer(group: str, block: str) -> Phrase:
    """A report in progress that stopped at `group`'s figure in `block`."""
    return phrase(
        "You have a report in progress, stopped at {group}, {block}.",
        group=group,
        block=block_name(block),
    )


def resume_offer_at_total(block: str) -> Phrase:
    """A report in progress that stopped at (or just after) `block`'s total."""
    return phrase(
        "You have a report in progress, stopped at the total, {block}.", block=block_name(block)
    )


RESUME_OFFER_AT_CONFIRM = phrase(
    "You have a report in progress, stopped at the confirmation, after all figures."
)


def block_intro(block: str) -> Phrase:
    """Said before a block's first group: how to key is said once, before the first block
    (a chair who has keyed one block knows the next), and how to go back with it."""
    if block == FIRST:
        return phrase(
            "{block}. For each group, key the number and pound. Star pound goes back.",
            block=_BLOCK_TITLES[block],
        )
    return phrase("{block}.", block=_BLOCK_TITLES[block])


def ask_group(group: str) -> Phrase:
    return phrase("{group}.", group=group)


def echo_figure(value: int) -> Phrase:
    """Read back what was keyed, so a typo is heard at once (the group's name was said
    just before the chair keyed it)."""
    return phrase("{value}.", value=value)


ASK_TOTAL = phrase("Total.")
"""After a block's last group: the worksheet's total line for the block, keyed as a figure."""


def total_matches() -> Phrase:
    return phrase("That matches.")


def total_mismatch(block: str, added: int, stated: int) -> Phrase:
    return phrase(
        "Your {block} figures add up to {added}, but your worksheet total is {stated}.",
        block=block_name(block),
        added=added,
        stated=stated,
    )


def ask_fix(block: str, *, total_wrong: bool) -> Phrase:
    if total_wrong:
        return phrase(
            "Press 1 to key the {block} again, 2 to keep these figures flagged for review, "
            "3 to key the total again.",
            block=block_name(block),
        )
    return phrase(
        "Press 1 to key the {block} again, 2 to keep these figures flagged for review.",
        block=block_name(block),
    )


def chance_question(options: Sequence[str], winners: int) -> Phrase:
    """Ask who won the game of chance: one key per tied group, numbered as they are read."""
    keys = sentences(
        [phrase("Press {key} for {group}.", key=n, group=name) for n, name in enumerate(options, 1)]
    )
    if winners == 1:
        return phrase("Who won the game of chance? {keys}", keys=keys)
    return phrase(
        "Which {count} groups won the game of chance? Key each of them. {keys}",
        count=winners,
        keys=keys,
    )


def chance_mismatch(
    expected: Sequence[tuple[str, int]], reported: Sequence[tuple[str, int]]
) -> Phrase:
    """The delegates the reported winners would get, against the worksheet's (each a list
    of the groups given delegates, with their delegates)."""
    return phrase(
        "With that result, the delegates would be {expected}, but your worksheet has {reported}.",
        expected=_delegate_list(expected),
        reported=_delegate_list(reported),
    )


def rekey_block(block: str) -> Phrase:
    return phrase("Let's key the {block} again.", block=block_name(block))


def kept_flagged() -> Phrase:
    return phrase("Kept, and flagged for review.")


ALL_FIGURES_IN = phrase("All figures are in.")


def read_back_block(
    block: str, named: list[tuple[str, int]], others_zero: bool, flagged: bool
) -> Phrase:
    title, total = _BLOCK_TITLES[block], sum(value for _, value in named)
    if not named:
        figures = phrase("{block}: every group 0. Total {total}.", block=title, total=total)
    elif others_zero:
        figures = phrase(
            "{block}: {figures}. All others 0. Total {total}.",
            block=title,
            figures=_pairs(named),
            total=total,
        )
    else:
        figures = phrase(
            "{block}: {figures}. Total {total}.", block=title, figures=_pairs(named), total=total
        )
    return together(figures, phrase("Flagged for review.")) if flagged else figures


def receipt(code: str) -> tuple[Phrase, ...]:
    # In threes, as a number is read for a pen: "4 1 8, 2 0 7".
    spoken = ", ".join(spell_digits(code[start : start + 3]) for start in range(0, len(code), 3))
    return (
        phrase("Your report is received."),
        phrase("Your receipt number is {code}.", code=spoken),
        phrase("Again: {code}.", code=spoken),
        phrase("Thank you. Goodbye."),
    )


CALL_BACK_UNATTESTED = phrase(
    "Because your carrier could not confirm your number, we will call you back on it to confirm."
)
"""After "received", to a chair whose report is held because the call was not attested."""
CALL_BACK_NO_CHAIR_PHONE = phrase(
    "Because we have no phone number on file for your precinct, we will call you back to confirm."
)
"""After "received", to a caller whose precinct has no registered chair phone."""


def receipt_to_confirm(code: str, why: Phrase) -> tuple[Phrase, ...]:
    """The receipt of a report held until the chair is called back; `why` is one of the
    CALL_BACK sentences, said right after "Your report is received."."""
    received, *rest = receipt(code)
    return (received, why, *rest)


# --- findings (callflows.findings decides which apply) ------------------------------------
# Groups come as (name, number) pairs: a head count or a number of delegates, as each says.


def final_total_exceeds_first(final_total: int, attendance: int) -> Phrase:
    return phrase(
        "Your final alignment adds up to {people}, but only {attendance} "
        "were counted in the first alignment. The final total cannot be higher.",
        people=_people(final_total),
        attendance=attendance,
    )


def viable_group_shrank(name: str, before: int, after: int) -> Phrase:
    return phrase(
        "{group} was viable in the first alignment with {people}, so its "
        "members could not realign, but your final alignment shows {after}.",
        group=name,
        people=_people(before),
        after=after,
    )


def too_many_viable_groups(viable_count: int, delegates_to_elect: int) -> Phrase:
    return phrase(
        "Your final alignment has {viable} viable groups, but the precinct elects "
        "only {delegates}.",
        viable=viable_count,
        delegates=_delegates(delegates_to_elect),
    )


def smallest_must_realign(groups: Sequence[tuple[str, int]]) -> Phrase:
    """The groups (with their final head counts) too small to stay viable."""
    return phrase("The smallest, {groups}, must realign.", groups=_groups_with_people(groups))


def tie_at_the_cut(tied: Sequence[str], count: int, game: GameOfChance) -> Phrase:
    """Groups tied with `count` each where the viable groups are cut to the delegates."""
    return phrase(
        "{groups} tie with {each} each; a game of chance decides {stake}.",
        groups=_join(tied),
        each=count,
        stake=_stake(game),
    )


def delegate_total_mismatch(total: int, delegates_to_elect: int) -> Phrase:
    return phrase(
        "Your worksheet gives out {delegates}, but this precinct elects {to_elect}.",
        delegates=_delegates(total),
        to_elect=delegates_to_elect,
    )


def delegates_to_nonviable_group(
    name: str, given: int, count: int, *, attendance: int, delegates_to_elect: int, threshold: int
) -> Phrase:
    """`name` got `given` delegates with `count` people in the final alignment."""
    if attendance == 0:
        reason = phrase("no one was counted in the first alignment, so no group can be viable.")
    elif delegates_to_elect == 0:
        reason = phrase("this precinct elects no delegates.")
    elif count == 0:
        reason = phrase("{group} had nobody in the final alignment.", group=name)
    else:
        reason = phrase(
            "{group} had {people} of {attendance} in the final alignment, "
            "below the {threshold} needed to be viable.",
            group=name,
            people=_people(count),
            attendance=attendance,
            threshold=threshold,
        )
    return phrase(
        "Your worksheet gives {group} {delegates}, but {reason}",
        group=name,
        delegates=_delegates(given),
        reason=reason,
    )


def viable_group_without_delegate(
    name: str, count: int, *, attendance: int, threshold: int
) -> Phrase:
    return phrase(
        "Your worksheet gives {group} no delegate, but {group} had {people} of "
        "{attendance} in the final alignment, at least the "
        "{threshold} needed to be viable. Every viable group gets a delegate.",
        group=name,
        people=_people(count),
        attendance=attendance,
        threshold=threshold,
    )


def allocation_differs(
    expected: Sequence[tuple[str, int]],
    reported: Sequence[tuple[str, int]],
    game: GameOfChance | None = None,
    tied: Sequence[tuple[str, int]] = (),
) -> Phrase:
    """The delegates by the caucus math against the worksheet's. With a game of chance,
    `expected` is the groups outside it and `tied` those in it (delegates before the game)."""
    should: Phrase = _delegate_list(expected)
    if game is not None:
        tied_names = _join([name for name, _ in tied])
        stake = _stake(game)
        if expected:
            should = phrase(
                "{delegates}, {tied}, and a game of chance between {groups} decides {stake}",
                delegates=should,
                tied=_pairs(tied),
                groups=tied_names,
                stake=stake,
            )
        else:
            should = phrase(
                "{tied}, and a game of chance between {groups} decides {stake}",
                tied=_pairs(tied),
                groups=tied_names,
                stake=stake,
            )
    return phrase(
        "By the caucus math your delegates should be {should}. Your worksheet has {reported}.",
        should=should,
        reported=_delegate_list(reported),
    )


def one_delegate_differs(
    largest: Sequence[tuple[str, int]], given: Sequence[tuple[str, int]]
) -> Phrase:
    """A precinct electing one delegate: the largest final group (several when they tie, none
    when nobody stayed) and the groups the worksheet gives it to, with final head counts."""
    if not largest:
        winner = phrase("nobody was in the final alignment")
    elif len(largest) == 1:
        name, count = largest[0]
        winner = phrase("that is {group}, with {people}", group=name, people=_people(count))
    else:
        winner = phrase(
            "{groups} tie with {each} each and play a game of chance",
            groups=_join([name for name, _ in largest]),
            each=largest[0][1],
        )
    if given:
        shown = phrase("Your worksheet gives it to {groups}.", groups=_groups_with_people(given))
    else:
        shown = phrase("Your worksheet gives it to no one.")
    return phrase(
        "With one delegate, the largest group wins it: {winner}. {shown}",
        winner=winner,
        shown=shown,
    )


def tie_settled(tied: Sequence[str], game: GameOfChance, won: Sequence[str]) -> Phrase:
    """The worksheet's delegates match `won` winning the game of chance among `tied`."""
    return phrase(
        "{tied} tied, so a game of chance decides {stake}. "
        "Your worksheet matches {won} winning it.",
        tied=_join(tied),
        stake=_stake(game),
        won=_join(won),
    )


def delegates_to_elect_unknown(precinct: str) -> Phrase:
    return phrase(
        "The hotline does not know how many delegates {precinct} elects.", precinct=precinct
    )


# --- wording helpers ----------------------------------------------------------------------


def _stake(game: GameOfChance) -> Phrase:
    n = game.affected
    if game.stake is Stake.SOLE_DELEGATE:
        return phrase("who gets the only delegate")
    if game.stake is Stake.EXTRA_DELEGATE:
        return counted("who gets {count} extra delegate", "who gets {count} extra delegates", n)
    if game.stake is Stake.LOSE_DELEGATE:
        return counted("who gives back {count} delegate", "who gives back {count} delegates", n)
    return counted("which {count} group must realign", "which {count} groups must realign", n)


def _pairs(groups: Sequence[tuple[str, int]]) -> Phrase:
    """Groups with their numbers, as a list: "Biden 3, Sanders 2"."""
    return _list([phrase("{group} {number}", group=name, number=n) for name, n in groups])


def _delegate_list(groups: Sequence[tuple[str, int]]) -> Phrase:
    return _pairs(groups) if groups else phrase("no delegates")


def _groups_with_people(groups: Sequence[tuple[str, int]]) -> Phrase:
    return _join(
        [
            phrase("{group} with {people}", group=name, people=_people(count))
            for name, count in groups
        ]
    )


def _join(words: Sequence[str]) -> Phrase:
    """Names as a sentence says them: "A, B and C"; "no one" for none."""
    if not words:
        return phrase("no one")
    if len(words) == 1:
        return phrase("{only}", only=words[0])
    return phrase("{others} and {last}", others=_list(words[:-1]), last=words[-1])


def _list(items: Sequence[str]) -> Phrase:
    """Items one after another, each set off by a comma (the empty list says nothing)."""
    if len(items) <= 1:
        return phrase("{only}", only=items[0] if items else "")
    return phrase("{items}, {last}", items=_list(items[:-1]), last=items[-1])


def sentences(items: Sequence[str]) -> Phrase:
    """Sentences one after another, as one prompt."""
    if len(items) <= 1:
        return phrase("{only}", only=items[0] if items else "")
    return together(sentences(items[:-1]), items[-1])


def _people(n: int) -> Phrase:
    return counted("{count} person", "{count} people", n)


def _delegates(n: int) -> Phrase:
    return counted("{count} delegate", "{count} delegates", n)


# --- calls the hotline places (callflows.flow: offer and verify steps) ---------------------


def offer_to_report(precinct_name: str) -> Phrase:
    """What a chair hears on answering a call to a precinct that has not reported."""
    return phrase(
        "This is the caucus results hotline calling for precinct {precinct}. "
        "Press 1 to report your results now.",
        precinct=precinct_name,
    )


PRESS_ONE_TO_REPORT = phrase("Please press 1 to report your results now.")
OFFER_CALL_BACK = phrase(
    "We will try you again later, or call the hotline when you are ready. Goodbye."
)


def ask_verify(precinct_name: str, receipt_code: str) -> Phrase:
    """The question of a callback verifying a report whose caller ID was not attested."""
    return phrase(
        "A report for precinct {precinct} was received with a receipt ending in {digits}. "
        "Press 1 if you made it. Press 2 if you did not.",
        precinct=precinct_name,
        digits=spell_digits(receipt_code[-3:], " "),
    )


def ask_verify_worksheet(precinct_name: str, reference: str) -> Phrase:
    """The same question about a report keyed from a worksheet photo the phone texted;
    `reference` is the number the text's reply gave."""
    return phrase(
        "A worksheet photo for precinct {precinct} was texted to the hotline, reference "
        "{reference}. Press 1 if you sent it. Press 2 if you did not.",
        precinct=precinct_name,
        reference=reference,
    )


VERIFIED_YES = phrase("Thank you. Your report is confirmed and will be counted. Goodbye.")
VERIFIED_NO = phrase(
    "Thank you. That report will not be counted, and party staff have been alerted. "
    "If you have results to report, call the hotline. Goodbye."
)
VERIFY_CALL_BACK = phrase("We will call again later. Goodbye.")


def voicemail_offer(precinct_name: str, hotline_number: str) -> Phrase:
    """Left on a chair's voicemail when a call about missing results reaches it."""
    return phrase(
        "This is the caucus results hotline, calling for precinct {precinct}, which has "
        "not reported yet. Please call {number} to report your results. Thank you.",
        precinct=precinct_name,
        number=_spoken_number(hotline_number),
    )


def voicemail_verify(precinct_name: str) -> Phrase:
    """Left on a chair's voicemail when a verification call reaches it."""
    return phrase(
        "This is the caucus results hotline, calling to confirm a report for precinct "
        "{precinct}. We will call again. Thank you.",
        precinct=precinct_name,
    )


def remind_to_drill(precinct_name: str, drill_number: str) -> Phrase:
    """A reminder call (or the voicemail it leaves) to a chair who has not yet practised on
    the drill line; the number is said twice, for a pen."""
    return phrase(
        "This is the caucus results hotline, calling for precinct {precinct}. "
        "Please practise reporting before caucus night: call the practice line at "
        "{number}, with your precinct ID, your PIN and the practice worksheet from your "
        "caucus packet. Again, the practice line is {number}.",
        precinct=precinct_name,
        number=_spoken_number(drill_number),
    )


REMIND_AGAIN = phrase("To hear this again, press 1.")
REMINDED_GOODBYE = phrase("Thank you. Goodbye.")


def _spoken_number(number: str) -> str:
    # "+15155550100" is read digit by digit, without the country code of a US number.
    digits = number.removeprefix("+1") if len(number) == 12 else number.lstrip("+")
    return spell_digits(digits, " ")


# --- a member of staff (callflows.flow: 0 at a menu) ---------------------------------------

CONNECTING_TO_STAFF = phrase("Connecting you to a member of staff. Please hold.")
STAFF_NO_ANSWER = phrase("Nobody could take your call just now.")
STAFF_CALL_OVER = phrase("Thank you for calling the caucus results hotline. Goodbye.")
STAFF_ALREADY_ASKED = phrase(
    "You have already asked for staff on this call. Please answer the question, "
    "or call back to ask again."
)


def staff_off_duty(hours: str) -> Phrase:
    """A caller who pressed 0 when nobody from staff is on duty; `hours` is when staff
    answer, as configured ("from 6 p.m. to 1 a.m."), "" when none is."""
    if hours:
        return phrase(
            "Nobody from staff is available now. Staff answer {hours}. "
            "Please call back then, or keep going.",
            hours=hours.rstrip("."),
        )
    return phrase("Nobody from staff is available now. Please call back later, or keep going.")


def staff_whisper(precinct_name: str, county: str) -> Phrase:
    """What the member of staff hears on answering, before the chair is put through
    ("" names: a caller who has not yet given a precinct). Staff hear it in English."""
    if not precinct_name:
        return phrase(
            "Caucus results hotline: a caller who has not yet given a precinct needs help."
        )
    if county:
        return phrase(
            "Caucus results hotline: a chair for precinct {precinct}, {county} county, needs help.",
            precinct=precinct_name,
            county=county,
        )
    return phrase(
        "Caucus results hotline: a chair for precinct {precinct}, needs help.",
        precinct=precinct_name,
    )


# --- the drill line (callflows.drill) -----------------------------------------------------

DRILL_GREETING = phrase(
    "Caucus results hotline, practice line. Nothing you key here is counted. "
    "Have the practice worksheet from your caucus packet in front of you."
)
DRILL_SUBMITTED = phrase("Your practice report is complete.")
DRILL_MATCHED = phrase("Every figure matches the practice worksheet.")
DRILL_READY = phrase("You are ready for caucus night. Thank you. Goodbye.")
DRILL_TRY_AGAIN = phrase("Please check your worksheet and call the practice line again. Goodbye.")
DRILL_CLOSED_TONIGHT = phrase("Practice is closed tonight. Connecting you to the results line.")
DRILL_LINE_BUSY = phrase("The practice line is busy. Please call again later. Goodbye.")


def drill_mismatches(figures: Sequence[tuple[str, str, int, int]]) -> Phrase:
    """The figures of a practice report that differ from the worksheet, each as (block or
    "chance", group, keyed, expected)."""
    parts = []
    for block, group, keyed, expected in figures:
        if block == "chance":
            parts.append(phrase("the game of chance, which {group} won", group=group))
        else:
            parts.append(
                phrase(
                    "{group}, {block}: you keyed {keyed}, the worksheet has {expected}",
                    group=group,
                    block=block_name(block),
                    keyed=keyed,
                    expected=expected,
                )
            )
    return counted(
        "One figure does not match the practice worksheet: {figures}.",
        "{count} figures do not match the practice worksheet: {figures}.",
        len(parts),
        figures=_clauses(parts),
    )


def _clauses(items: Sequence[Phrase]) -> Phrase:
    """Clauses one after another, set off by semicolons."""
    if len(items) <= 1:
        return phrase("{only}", only=items[0] if items else "")
    return phrase("{items}; {last}", items=_clauses(items[:-1]), last=items[-1])


# --- texted worksheets (callflows.worksheet_messages decides which reply) -----------------

TEXT_ONLY = phrase(
    "To send your worksheet, text a photo of it with your precinct ID. "
    "To report results, call this number."
)
"""The answer to a message with no photo: what to send instead."""
TRY_AGAIN = phrase("Sorry, we could not take your message just now. Please send it again.")
"""The answer when the hotline cannot take a message in (Redis unreachable)."""


def photos_only(reference: str) -> Phrase:
    return phrase(
        "We can only take photos of the worksheet (JPEG or PNG). Please send a photo. "
        "Reference {reference}.",
        reference=reference,
    )


def photo_needs_precinct(reference: str) -> Phrase:
    """A photo from a number that is no chair's, whose text names no known precinct."""
    return phrase(
        "Photo received, reference {reference}. Please text your precinct ID so we can "
        "match it to your precinct.",
        reference=reference,
    )


def photo_received_other_unused(precinct: str, reference: str) -> Phrase:
    return phrase(
        "Photo received for precinct {precinct}, reference {reference}. We can only take "
        "photos, so the other file was not used.",
        precinct=precinct,
        reference=reference,
    )


def worksheet_photo_received(precinct: str, reference: str) -> Phrase:
    return phrase(
        "Worksheet photo received for precinct {precinct}, reference {reference}. "
        "Staff will check it against your figures.",
        precinct=precinct,
        reference=reference,
    )


def too_large(reference: str) -> Phrase:
    """Texted later by the worker: the photo was over the size the hotline keeps."""
    return phrase(
        "Your photo (reference {reference}) is too large for us to take. "
        "Please send a smaller photo of the worksheet.",
        reference=reference,
    )


def download_failed(reference: str) -> Phrase:
    """Texted later by the worker: the photo could not be fetched from Twilio."""
    return phrase(
        "We could not get your photo (reference {reference}). Please send it again.",
        reference=reference,
    )
