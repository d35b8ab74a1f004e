"""The call flow: `start_call` opens a call, and `answer` takes the call's state and what
the caller keyed at its step and returns the next `Turn`: the new state, what to say, and
the prompt to ask next (none when the call ends).

No I/O happens here. What the flow needs from the outside world (the precinct directory,
PIN checks, receipt numbers, saved progress) comes through the `Services` protocol, and
what must be made durable comes back as the turn's events (callflows.events: a block
completed, a report submitted). The web tier stores the state, renders the turn as TwiML
and hands the events on: a report to the rq queue, a block to the call log. Every word
comes from callflows.prompts; the worksheet checks are callflows.checks.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import Enum
from typing import Protocol

from callflows import checks, drill, prompts
from callflows.ballots import Ballot
from callflows.events import (
    BlockCompleted,
    CallbackRequested,
    DrillSubmitted,
    FlowEvent,
    ReportSubmitted,
    ReportVerified,
    StaffRequested,
)
from callflows.keypad import GO_BACK, MAX_FIGURE, EntryError, parse_code, parse_number
from callflows.phrases import ENGLISH, LANGUAGES, Phrase, other_language
from callflows.state import (
    BLOCKS,
    CHANCE,
    CONFIRM,
    DELEGATES,
    DONE,
    FIRST,
    OFFER,
    PIN,
    PRECINCT,
    REMIND,
    RESUME,
    VERIFY,
    CallState,
    Progress,
    figure_step,
    fix_step,
    step_block,
    step_kind,
    step_position,
    total_step,
)
from callflows.trust import FULL_ATTESTATION, Trust, report_trust

MAX_SILENCES = 2
"""Re-prompts after silence before the call ends politely."""
MAX_PRECINCT_FAILURES = 3
"""Unknown precinct IDs a call may key before it ends."""
MAX_PIN_FAILURES = 3
"""Wrong PINs a call may key before it ends."""
MAX_ENTRY_ERRORS = 5
"""Unusable entries in a row at one prompt before an authenticated call ends."""
MAX_ENTRY_ERRORS_UNAUTHENTICATED = 3
"""The same before a PIN: callers keying nonsense are ended quickly, freeing their place."""
MAX_TOTAL = 999_999
"""A block total may exceed one figure's maximum."""
STAFF_KEYS = frozenset({"0", "0#"})
"""What a caller keys at a menu to reach a member of staff."""
STAFF_MENUS = frozenset({PRECINCT, PIN, RESUME, "fix", CHANCE, CONFIRM})
"""The steps where a lone 0 is never a valid answer, so 0 asks for staff there (not at a
figure or a total, where 0 is a figure; nor on calls the hotline places)."""
MAX_STAFF_REQUESTS = 2
"""Times one call may ask for staff; a further 0 is an unusable entry, so nobody can keep
a line (or staff's phone) busy by pressing 0 over and over."""
LANGUAGE_KEYS = frozenset({"9", "9#"})
"""What a caller keys to switch the call to the other language (callflows.phrases)."""
LANGUAGE_MENUS = frozenset({PRECINCT, RESUME, "fix", CONFIRM, OFFER, VERIFY, REMIND, CHANCE})
"""Where the language key works: the precinct ID (IDs have 4 to 7 digits, so 9 alone is
none) and every menu, where no option is 9 (a game of chance numbers its tied groups from
1, and is left out when nine or more tie). Never at a figure, a total or the PIN."""
MAX_REMINDER_REPEATS = 3
"""Times a chair may hear a reminder call's message again (press 1) before goodbye."""
REPORT_NAMESPACE = uuid.UUID("5d1c4c57-2b1e-4c4e-9a53-2f6c1a0e7b11")


@dataclass(frozen=True)
class PrecinctInfo:
    """What the flow needs to know about a precinct."""

    precinct_id: str
    name: str
    county: str
    delegates_to_elect: int | None
    is_satellite: bool = False
    chair_phone: str = ""
    """The chair's registered phone (E.164), "" when none is on file."""
    language: str = ""
    """The precinct's default language (callflows.phrases.LANGUAGES), "" for none: a call
    switches to it once the precinct is known, unless its caller has chosen one."""
    spoken_name: str = ""
    """The name as a voice says it (callflows.spoken_names), "" for none stored."""

    @property
    def name_to_say(self) -> str:
        """What a caller hears for the precinct: its spoken name, else the stored one."""
        return self.spoken_name or self.name


class PinCheck(Enum):
    """The answer to a PIN: right, wrong, or not even checked because of earlier abuse."""

    RIGHT = "right"
    WRONG = "wrong"
    NUMBER_BLOCKED = "number_blocked"
    PRECINCT_LOCKED = "precinct_locked"


class Services(Protocol):
    """The outside world, as the flow sees it."""

    def find_precinct(self, precinct_id: str) -> PrecinctInfo | None: ...

    def check_pin(self, precinct_id: str, pin: str, caller: str, attested: bool) -> PinCheck: ...

    def new_receipt(self) -> str: ...

    def saved_progress(self, precinct_id: str, caller: str) -> Progress | None:
        """A report in progress for the precinct, made from the same phone number."""
        ...


@dataclass(frozen=True)
class StaffDesk:
    """Whether a member of staff is on duty to take a caller who presses 0 at a menu, and
    when staff answer (as the caller hears it: "from 6 p.m. to 1 a.m."), "" if not said."""

    on_duty: bool = False
    hours: str = ""


@dataclass(frozen=True)
class Context:
    """One request's view of the world: the ballot, the services and the time (ISO 8601),
    and the staff desk (off duty unless the web tier says otherwise)."""

    ballot: Ballot
    services: Services
    now: str
    staff: StaffDesk = StaffDesk()


@dataclass(frozen=True)
class Prompt:
    """What to ask next: rendered as a Gather whose action is /voice/<step>."""

    step: str
    text: str
    num_digits: int | None = None
    finish_on_key: str = "#"
    timeout: int = 8


class EndReason(Enum):
    """Why a call ended, counted for staff."""

    SUBMITTED = "submitted"
    SILENCE = "silence"
    GARBAGE = "garbage"
    UNKNOWN_PRECINCT = "unknown_precinct"
    PIN_FAILURES = "pin_failures"
    NUMBER_BLOCKED = "number_blocked"
    PRECINCT_LOCKED = "precinct_locked"
    ALREADY_ENDED = "already_ended"
    VERIFIED = "verified"
    """A verification callback got its answer (made it, or did not)."""
    STAFF = "staff"
    """The caller was put through to a member of staff, who answered."""
    DRILLED = "drilled"
    """A practice report on the drill line was completed (matched or not)."""
    REMINDED = "reminded"
    """A reminder to practise on the drill line was said to a chair the hotline called."""


@dataclass(frozen=True)
class Turn:
    """The flow's answer to one request: the new state, what to say, and what to ask next."""

    state: CallState
    say: tuple[str, ...]
    prompt: Prompt | None
    events: tuple[FlowEvent, ...] = ()
    end_reason: EndReason | None = None
    connect_staff: bool = False
    """Put the caller through to staff after `say` (a <Dial>) instead of asking `prompt`;
    the step is unchanged, so the caller is asked `prompt` again if nobody answers
    (`staff_call_ended`)."""


def report_id_for(call_sid: str) -> str:
    """One report per call, with an id derived from the call so retries cannot fork it."""
    return str(uuid.uuid5(REPORT_NAMESPACE, call_sid))


def start_call(
    call_sid: str, caller: str, ctx: Context, *, stir_verstat: str = "", language: str = ""
) -> Turn:
    """The first turn of a call: greet, offer the other language, and ask for the precinct ID.

    `stir_verstat` is the carrier's attestation of the caller ID (Twilio's `StirVerstat`,
    "" when none came); the call is `attested` when it is level A. `language` is the one
    the caller's phone chose on an earlier call, "" for none (then English, until the
    precinct's default is known).
    """
    state = CallState(
        call_sid=call_sid,
        caller=caller,
        attested=stir_verstat == FULL_ATTESTATION,
        stir_verstat=stir_verstat,
    )
    _set_language(state, language)
    return _ask(state, ctx, prompts.GREETING, _language_offer(state))


def start_drill(
    call_sid: str, caller: str, ctx: Context, *, stir_verstat: str = "", language: str = ""
) -> Turn:
    """The first turn of a call to the drill line: say it is the practice line, then the
    precinct ID and PIN as on the night; the call keys the practice worksheet
    (callflows.drill) and ends by saying whether it matched, never with a report."""
    state = CallState(
        call_sid=call_sid,
        caller=caller,
        attested=stir_verstat == FULL_ATTESTATION,
        stir_verstat=stir_verstat,
        drill=True,
        started_at=ctx.now,
    )
    _set_language(state, language)
    return _ask(state, _mode(state, ctx), prompts.DRILL_GREETING, _language_offer(state))


def _set_language(state: CallState, chosen: str) -> None:
    """Start the call in the language its phone chose before ("" or unknown: none)."""
    if chosen in LANGUAGES:
        state.language, state.language_chosen = chosen, True


def chair_language(chosen: str, info: PrecinctInfo | None) -> str:
    """The language to speak to a precinct's chair: the one their phone chose, else the
    precinct's default, else English."""
    if chosen in LANGUAGES:
        return chosen
    if info is not None and info.language in LANGUAGES:
        return info.language
    return ENGLISH


def _language_offer(state: CallState) -> Phrase:
    return prompts.language_offer(other_language(state.language))


def _switch_language(state: CallState, ctx: Context) -> Turn:
    """The language key: the same question again, in the other language, which the web tier
    remembers for the caller's phone."""
    state.language, state.language_chosen = other_language(state.language), True
    return _ask(state, ctx)


def _offers_language(state: CallState, ctx: Context) -> bool:
    kind = step_kind(state.step)
    if kind not in LANGUAGE_MENUS:
        return False
    if kind == CHANCE:
        pending = checks.pending_game(ctx.ballot, state)
        return pending is not None and len(pending[1].groups) < 9
    return True


def _mode(state: CallState, ctx: Context) -> Context:
    """The context a call's turn runs in: a drill's ballot is the practice ballot, so every
    step and check below runs unchanged on it."""
    return replace(ctx, ballot=drill.practice_ballot()) if state.drill else ctx


def start_offer(
    call_sid: str, chair_phone: str, info: PrecinctInfo, ctx: Context, *, language: str = ""
) -> Turn:
    """The first turn of a call the hotline placed to `chair_phone`, the registered phone of
    a precinct with no report: offer to take the report now (then the PIN, as always).

    On every call the hotline places, `language` is the one the phone chose on an earlier
    call ("" for none: the precinct's default, else English)."""
    state = replace(
        _placed_call(call_sid, chair_phone, info, OFFER, language),
        delegates_to_elect=info.delegates_to_elect,
    )
    return _ask(state, ctx)


def start_verification(
    call_sid: str,
    chair_phone: str,
    info: PrecinctInfo,
    report_id: str,
    receipt: str,
    ctx: Context,
    *,
    language: str = "",
    worksheet: bool = False,
) -> Turn:
    """The first turn of a call the hotline placed to `chair_phone` to ask whether the chair
    made the held report `report_id` (receipt `receipt`); with `worksheet`, whether the
    chair texted the photo it was keyed from (its reference, padded, is the receipt)."""
    state = replace(
        _placed_call(call_sid, chair_phone, info, VERIFY, language),
        verifying_report_id=report_id,
        verifying_receipt=receipt,
        verifying_worksheet=worksheet,
    )
    return _ask(state, ctx)


def start_reminder(
    call_sid: str,
    chair_phone: str,
    info: PrecinctInfo,
    drill_number: str,
    ctx: Context,
    *,
    language: str = "",
) -> Turn:
    """The first turn of a call the hotline placed to `chair_phone`, a chair who has not yet
    practised on the drill line: the reminder with the drill line's number, and the offer
    to hear it again."""
    state = replace(
        _placed_call(call_sid, chair_phone, info, REMIND, language),
        reminding_number=drill_number,
    )
    return _ask(state, ctx)


def _placed_call(
    call_sid: str, chair_phone: str, info: PrecinctInfo, step: str, language: str
) -> CallState:
    """The state of a call the hotline placed to a precinct's registered chair phone."""
    state = CallState(
        call_sid=call_sid,
        caller=chair_phone,
        reached_by_hotline=True,
        step=step,
        precinct_id=info.precinct_id,
        precinct_name=info.name_to_say,
    )
    _set_language(state, language)
    state.language = chair_language(language, info)
    return state


def answer(
    state: CallState, digits: str | None, ctx: Context, *, finished_on_key: str = ""
) -> Turn:
    """Advance the call by what the caller keyed at the current step (None means silence).

    `finished_on_key` is the key that ended the entry: "#" with no digits is a caller who
    pressed pound alone, told what to key rather than that nothing was heard."""
    state = state.copy()
    ctx = _mode(state, ctx)
    if state.step == DONE:
        return _end(state, EndReason.ALREADY_ENDED, prompts.CALL_FINISHED)
    if (digits is None or digits == "") and finished_on_key == "#":
        # An unusable entry, not silence: counted as one, so pound alone cannot hold a line.
        return _invalid(state, ctx, prompts.POUND_ONLY)
    if digits is None or digits == "":
        return _silence(state, ctx)
    state.silences = 0
    if digits in STAFF_KEYS and step_kind(state.step) in STAFF_MENUS:
        return _ask_for_staff(state, ctx)
    if digits in LANGUAGE_KEYS and _offers_language(state, ctx):
        return _switch_language(state, ctx)
    return _HANDLERS[step_kind(state.step)](state, digits, ctx)


def repeat_prompt(state: CallState, ctx: Context) -> Turn:
    """Ask the current step's question again, counting nothing.

    For a step retried after a hold (the hotline, not the caller, failed) whose keys could
    not be carried, such as a PIN: the caller is neither silent nor wrong."""
    state = state.copy()
    ctx = _mode(state, ctx)
    if state.step == DONE:
        return _end(state, EndReason.ALREADY_ENDED, prompts.CALL_FINISHED)
    return _ask(state, ctx, prompts.THANKS_FOR_HOLDING)


def staff_call_ended(state: CallState, ctx: Context, *, answered: bool) -> Turn:
    """The call to staff that `_ask_for_staff` put the caller through to is over: after a
    conversation the call ends with thanks; if nobody answered, the caller is asked the
    same question again."""
    state = state.copy()
    ctx = _mode(state, ctx)
    if state.step == DONE:
        return _end(state, EndReason.ALREADY_ENDED, prompts.CALL_FINISHED)
    if answered:
        saved = _saved(state) if state.figures else ()
        return _end(state, EndReason.STAFF, *saved, prompts.STAFF_CALL_OVER)
    return _ask(state, ctx, prompts.STAFF_NO_ANSWER)


def _ask_for_staff(state: CallState, ctx: Context) -> Turn:
    """0 at a menu: put the caller through to staff (the web tier dials), or say when staff
    answer; either way the step stays, so the caller comes back to the same question."""
    if state.staff_requests >= MAX_STAFF_REQUESTS:
        return _invalid(state, ctx, prompts.STAFF_ALREADY_ASKED)
    state.staff_requests += 1
    requested = StaffRequested(
        call_sid=state.call_sid,
        precinct_id=state.precinct_id,
        step=state.step,
        at=ctx.now,
        on_duty=ctx.staff.on_duty,
    )
    if not ctx.staff.on_duty:
        return _ask(state, ctx, prompts.staff_off_duty(ctx.staff.hours), events=(requested,))
    turn = _ask(state, ctx, prompts.CONNECTING_TO_STAFF, events=(requested,))
    return Turn(turn.state, turn.say, turn.prompt, turn.events, connect_staff=True)


def current_prompt(state: CallState, ctx: Context) -> Prompt:
    """The prompt for the step the call is at."""
    step = state.step
    kind = step_kind(step)
    if kind == PRECINCT:
        return Prompt(step, prompts.ASK_PRECINCT, timeout=10)
    if kind == PIN:
        return Prompt(step, prompts.ASK_PIN, num_digits=6, timeout=10)
    if kind == RESUME:
        return Prompt(step, prompts.ASK_RESUME, num_digits=1, finish_on_key="")
    if kind == CONFIRM:
        return Prompt(step, prompts.ASK_CONFIRM, num_digits=1, finish_on_key="")
    if kind == OFFER:
        text = prompts.offer_to_report(state.precinct_name)
        return Prompt(step, text, num_digits=1, finish_on_key="", timeout=10)
    if kind == VERIFY:
        if state.verifying_worksheet:
            reference = state.verifying_receipt.lstrip("0") or "0"
            text = prompts.ask_verify_worksheet(state.precinct_name, reference)
        else:
            text = prompts.ask_verify(state.precinct_name, state.verifying_receipt)
        return Prompt(step, text, num_digits=1, finish_on_key="", timeout=10)
    if kind == REMIND:
        reminder = prompts.remind_to_drill(state.precinct_name, state.reminding_number)
        text = prompts.together(reminder, prompts.REMIND_AGAIN)
        return Prompt(step, text, num_digits=1, finish_on_key="", timeout=8)
    if kind == CHANCE:
        pending = checks.pending_game(ctx.ballot, state)
        assert pending is not None, "the chance step is reached only when a game decides"
        finding, game = pending
        question = checks.chance_question(ctx.ballot, game)
        text = prompts.together(finding.spoken, question)
        return Prompt(step, text, num_digits=game.winners, timeout=10)
    block = step_block(step)
    if kind == "figure":
        position = step_position(step)
        text = prompts.ask_group(ctx.ballot.groups[position - 1].spoken)
        if position == 1:
            text = prompts.together(prompts.block_intro(block), text)
        return Prompt(step, text)
    if kind == "total":
        return Prompt(step, prompts.ASK_TOTAL)
    problems = checks.block_problems(ctx.ballot, state, block)
    total_wrong = any(p.code == checks.TOTAL_MISMATCH for p in problems)
    menu = prompts.ask_fix(block, total_wrong=total_wrong)
    text = prompts.sentences([*(p.spoken for p in problems), menu])
    return Prompt(step, text, num_digits=1, finish_on_key="")


def _ask(state: CallState, ctx: Context, *say: str, events: tuple[FlowEvent, ...] = ()) -> Turn:
    state.seq += 1
    return Turn(state, tuple(say), current_prompt(state, ctx), events)


def _end(
    state: CallState, reason: EndReason, *say: str, events: tuple[FlowEvent, ...] = ()
) -> Turn:
    state.seq += 1
    state.step = DONE
    return Turn(state, tuple(say), None, events, reason)


def _goto(state: CallState, step: str) -> None:
    state.step = step
    state.errors = 0


def _silence(state: CallState, ctx: Context) -> Turn:
    state.silences += 1
    if state.step == REMIND:
        # The reminder was said; silence after it is a chair writing the number down.
        return _end(state, EndReason.REMINDED, prompts.REMINDED_GOODBYE)
    if state.silences > MAX_SILENCES and state.step in (OFFER, VERIFY):
        # A call the hotline placed: it will try again (callflows says so; the worker does).
        goodbye = prompts.OFFER_CALL_BACK if state.step == OFFER else prompts.VERIFY_CALL_BACK
        return _end(state, EndReason.SILENCE, prompts.SILENT_GOODBYE, goodbye)
    if state.silences > MAX_SILENCES:
        saved = _saved(state)
        return _end(state, EndReason.SILENCE, prompts.SILENT_GOODBYE, *saved, prompts.GOODBYE)
    return _ask(state, ctx, prompts.NO_INPUT)


def _saved(state: CallState) -> tuple[str, ...]:
    """The "your figures are saved" note for a chair who hangs up mid-report (resumed on
    calling back); never on a drill, which keeps nothing to resume."""
    return (prompts.SAVED_CALL_BACK,) if state.authenticated and not state.drill else ()


def _invalid(state: CallState, ctx: Context, message: str) -> Turn:
    state.errors += 1
    if state.authenticated and state.errors >= MAX_ENTRY_ERRORS:
        return _end(
            state,
            EndReason.GARBAGE,
            message,
            prompts.TOO_MANY_ERRORS,
            *_saved(state),
            prompts.GOODBYE,
        )
    if not state.authenticated and state.errors >= MAX_ENTRY_ERRORS_UNAUTHENTICATED:
        return _end(state, EndReason.GARBAGE, message, prompts.TOO_MANY_ERRORS, prompts.GOODBYE)
    return _ask(state, ctx, message)


def _on_precinct(state: CallState, digits: str, ctx: Context) -> Turn:
    code = parse_code(digits, min_length=4, max_length=7)
    if code is EntryError.NOT_DIGITS:
        return _invalid(state, ctx, prompts.entry_error(code, maximum=MAX_FIGURE))
    if isinstance(code, EntryError):
        return _invalid(state, ctx, prompts.precinct_wrong_length())
    info = ctx.services.find_precinct(code)
    if info is None:
        state.id_failures += 1
        if state.id_failures >= MAX_PRECINCT_FAILURES:
            return _end(
                state,
                EndReason.UNKNOWN_PRECINCT,
                prompts.precinct_not_found(code),
                prompts.PRECINCT_GIVE_UP,
            )
        return _ask(state, ctx, prompts.precinct_not_found(code))
    state.precinct_id = info.precinct_id
    state.precinct_name = info.name_to_say
    state.delegates_to_elect = info.delegates_to_elect
    if not state.language_chosen:
        state.language = chair_language("", info)
    _goto(state, PIN)
    return _ask(
        state, ctx, prompts.precinct_found(info.name_to_say, info.county, info.is_satellite)
    )


def _on_offer(state: CallState, digits: str, ctx: Context) -> Turn:
    if digits == "1":
        _goto(state, PIN)
        return _ask(state, ctx)
    return _invalid(state, ctx, prompts.PRESS_ONE_TO_REPORT)


def _on_remind(state: CallState, digits: str, ctx: Context) -> Turn:
    if digits == "1" and state.errors < MAX_REMINDER_REPEATS:
        state.errors += 1  # counts the repeats, so a stuck key cannot hold the line
        return _ask(state, ctx)
    return _end(state, EndReason.REMINDED, prompts.REMINDED_GOODBYE)


def _on_verify(state: CallState, digits: str, ctx: Context) -> Turn:
    if digits not in ("1", "2"):
        return _invalid(state, ctx, prompts.PRESS_ONE_OR_TWO)
    confirmed = digits == "1"
    verified = ReportVerified(
        report_id=state.verifying_report_id,
        call_sid=state.call_sid,
        confirmed=confirmed,
        at=ctx.now,
    )
    goodbye = prompts.VERIFIED_YES if confirmed else prompts.VERIFIED_NO
    return _end(state, EndReason.VERIFIED, goodbye, events=(verified,))


def _on_pin(state: CallState, digits: str, ctx: Context) -> Turn:
    assert state.precinct_id is not None, "the PIN step follows a known precinct"
    pin = parse_code(digits, min_length=6, max_length=6)
    if isinstance(pin, EntryError):
        return _invalid(state, ctx, prompts.pin_wrong_length())
    # A call the hotline placed to the registered phone counts with attested ones: nobody
    # but the phone's owner can answer it, so spoofers cannot use up its tries.
    attested = state.attested or state.reached_by_hotline
    check = ctx.services.check_pin(state.precinct_id, pin, state.caller, attested)
    if check is PinCheck.NUMBER_BLOCKED:
        return _number_blocked(state, ctx)
    if check is PinCheck.PRECINCT_LOCKED:
        return _end(state, EndReason.PRECINCT_LOCKED, prompts.PRECINCT_LOCKED)
    if check is PinCheck.WRONG:
        state.pin_failures += 1
        if state.pin_failures >= MAX_PIN_FAILURES:
            return _end(state, EndReason.PIN_FAILURES, prompts.PIN_LOCKED_OUT)
        return _ask(state, ctx, prompts.pin_wrong(MAX_PIN_FAILURES - state.pin_failures))
    state.authenticated = True
    if state.drill:
        # The practice worksheet is the same for every chair, whatever their precinct
        # elects; and a drill keeps no progress, so it has none to resume.
        state.delegates_to_elect = drill.WORKSHEET.delegates_to_elect
        _start_report(state, ctx)
        return _ask(state, ctx)
    progress = ctx.services.saved_progress(state.precinct_id, state.caller)
    if progress is not None and _has_figures(progress):
        _goto(state, RESUME)
        return _ask(state, ctx, _resume_offer(progress, ctx))
    # No thanks for the PIN: the first block's name, said at once, tells the chair it was right.
    _start_report(state, ctx)
    return _ask(state, ctx)


def _number_blocked(state: CallState, ctx: Context) -> Turn:
    """The caller's number may key no more PINs. When it is the precinct's registered chair
    phone on a call the carrier did not attest, the tries may have been used up by spoofers
    of that number (the flood of 2020 was pranksters): rather than leave the chair with no
    way in, the hotline calls the phone back, where only its owner can answer, and counts
    that call's PINs apart (as attested). Every blocked caller hears the same words, so the
    answer tells a prankster nothing about whose number they show."""
    assert state.precinct_id is not None, "the PIN step follows a known precinct"
    events: tuple[FlowEvent, ...] = ()
    info = ctx.services.find_precinct(state.precinct_id)
    if info is not None and not state.drill:
        trust = report_trust(
            state.caller,
            info.chair_phone,
            state.stir_verstat,
            reached_by_hotline=state.reached_by_hotline,
        )
        if trust is Trust.UNATTESTED:
            requested = CallbackRequested(
                call_sid=state.call_sid,
                precinct_id=state.precinct_id,
                chair_phone=info.chair_phone,
                at=ctx.now,
            )
            events = (requested,)
    goodbye = prompts.NUMBER_BLOCKED if state.drill else prompts.NUMBER_BLOCKED_CALL_BACK
    return _end(state, EndReason.NUMBER_BLOCKED, goodbye, events=events)


def _has_figures(progress: Progress) -> bool:
    return any(value is not None for values in progress.figures.values() for value in values)


def _resume_offer(progress: Progress, ctx: Context) -> str:
    # Figure, total and fix steps name their block; the chance and confirm steps do not.
    if "/" not in progress.step:
        return prompts.RESUME_OFFER_AT_CONFIRM
    block = step_block(progress.step)
    if step_kind(progress.step) == "figure":
        group = ctx.ballot.groups[step_position(progress.step) - 1].spoken
        return prompts.resume_offer(group, block)
    return prompts.resume_offer_at_total(block)


def _on_resume(state: CallState, digits: str, ctx: Context) -> Turn:
    assert state.precinct_id is not None
    if digits == "1":
        progress = ctx.services.saved_progress(state.precinct_id, state.caller)
        if progress is not None:
            state.figures = {block: list(values) for block, values in progress.figures.items()}
            state.totals = dict(progress.totals)
            state.flagged = dict(progress.flagged)
            if progress.step == CONFIRM:
                return _to_confirm(state, ctx)
            _goto(state, progress.step)
            return _ask(state, ctx)
        _start_report(state, ctx)
        return _ask(state, ctx)
    if digits == "2":
        _start_report(state, ctx)
        return _ask(state, ctx, prompts.STARTING_OVER)
    return _invalid(state, ctx, prompts.PRESS_ONE_OR_TWO)


def _start_report(state: CallState, ctx: Context) -> None:
    groups = len(ctx.ballot.groups)
    state.figures = {block: [None] * groups for block in BLOCKS}
    state.totals = {}
    state.flagged = {}
    _goto(state, figure_step(FIRST, 1))


def _on_figure(state: CallState, digits: str, ctx: Context) -> Turn:
    block, position = step_block(state.step), step_position(state.step)
    if digits == GO_BACK:
        if position == 1:
            return _ask(state, ctx, prompts.FIRST_GROUP_ALREADY)
        _goto(state, figure_step(block, position - 1))
        return _ask(state, ctx, prompts.GOING_BACK)
    value = parse_number(digits, maximum=MAX_FIGURE)
    if isinstance(value, EntryError):
        return _invalid(state, ctx, prompts.entry_error(value, maximum=MAX_FIGURE))
    state.figures[block][position - 1] = value
    if position < len(ctx.ballot.groups):
        _goto(state, figure_step(block, position + 1))
    else:
        _goto(state, total_step(block))
    return _ask(state, ctx, prompts.echo_figure(value))


def _on_total(state: CallState, digits: str, ctx: Context) -> Turn:
    block = step_block(state.step)
    if digits == GO_BACK:
        _goto(state, figure_step(block, len(ctx.ballot.groups)))
        return _ask(state, ctx, prompts.GOING_BACK)
    stated = parse_number(digits, maximum=MAX_TOTAL)
    if isinstance(stated, EntryError):
        return _invalid(state, ctx, prompts.entry_error(stated, maximum=MAX_TOTAL))
    state.totals[block] = stated
    state.flagged.pop(block, None)
    added = sum(value or 0 for value in state.figures[block])
    return _after_block(state, ctx, block, *([prompts.total_matches()] if added == stated else []))


def _after_block(state: CallState, ctx: Context, block: str, *say: str) -> Turn:
    """Run the checks the block makes possible, while the chair is still on the line."""
    if checks.block_problems(ctx.ballot, state, block):
        _goto(state, fix_step(block))
        return _ask(state, ctx, *say)
    if block == DELEGATES and checks.pending_game(ctx.ballot, state) is not None:
        state.chance = []
        _goto(state, CHANCE)
        return _ask(state, ctx, *say)
    return _block_done(state, ctx, block, *say)


def _on_fix(state: CallState, digits: str, ctx: Context) -> Turn:
    block = step_block(state.step)
    problems = checks.block_problems(ctx.ballot, state, block)
    total_wrong = any(p.code == checks.TOTAL_MISMATCH for p in problems)
    if digits == "1":
        state.figures[block] = [None] * len(ctx.ballot.groups)
        state.totals.pop(block, None)
        state.flagged.pop(block, None)
        if block == DELEGATES:
            state.chance = []
        _goto(state, figure_step(block, 1))
        return _ask(state, ctx, prompts.rekey_block(block))
    if digits == "2":
        state.flagged[block] = ",".join(p.code for p in problems) or checks.TOTAL_MISMATCH
        return _block_done(state, ctx, block, prompts.kept_flagged())
    if digits == "3" and total_wrong:
        _goto(state, total_step(block))
        return _ask(state, ctx)
    return _invalid(
        state, ctx, prompts.PRESS_ONE_TWO_OR_THREE if total_wrong else prompts.PRESS_ONE_OR_TWO
    )


def _on_chance(state: CallState, digits: str, ctx: Context) -> Turn:
    pending = checks.pending_game(ctx.ballot, state)
    if pending is None:
        return _block_done(state, ctx, DELEGATES)
    winners = checks.parse_winners(digits, pending[1])
    if winners is None:
        return _invalid(state, ctx, checks.chance_question(ctx.ballot, pending[1]))
    state.chance = winners
    if checks.block_problems(ctx.ballot, state, DELEGATES):
        _goto(state, fix_step(DELEGATES))
        return _ask(state, ctx)
    return _block_done(state, ctx, DELEGATES, prompts.THANK_YOU)


def _block_done(state: CallState, ctx: Context, block: str, *say: str) -> Turn:
    index = BLOCKS.index(block)
    # A drill's blocks are kept nowhere: they would be a report in progress.
    completed = () if state.drill else (_block_completed(state, ctx, block),)
    if index + 1 < len(BLOCKS):
        _goto(state, figure_step(BLOCKS[index + 1], 1))
        return _ask(state, ctx, *say, events=completed)
    turn = _to_confirm(state, ctx, *say)
    return Turn(turn.state, turn.say, turn.prompt, completed)


def _block_completed(state: CallState, ctx: Context, block: str) -> BlockCompleted:
    assert state.precinct_id is not None
    return BlockCompleted(
        precinct_id=state.precinct_id,
        call_sid=state.call_sid,
        caller=state.caller,
        block=block,
        figures=[value or 0 for value in state.figures[block]],
        total=state.totals.get(block),
        flagged=state.flagged.get(block, ""),
        at=ctx.now,
    )


def _to_confirm(state: CallState, ctx: Context, *say: str) -> Turn:
    if not state.receipt and not state.drill:
        state.report_id = report_id_for(state.call_sid)
        state.receipt = ctx.services.new_receipt()
    _goto(state, CONFIRM)
    return _ask(state, ctx, *say, prompts.ALL_FIGURES_IN)


def _on_confirm(state: CallState, digits: str, ctx: Context) -> Turn:
    if digits == "1" and state.drill:
        found = _drill_mismatches(state)
        practiced = _drill_submitted(state, ctx, found)
        return _end(state, EndReason.DRILLED, *_drill_outcome(ctx, found), events=(practiced,))
    if digits == "1":
        submitted = _submitted(state, ctx)
        return _end(state, EndReason.SUBMITTED, *_receipt(state, ctx), events=(submitted,))
    if digits == "2":
        return _ask(state, ctx, *_read_back(state, ctx))
    if digits == "3":
        _start_report(state, ctx)
        return _ask(state, ctx, prompts.STARTING_OVER)
    return _invalid(state, ctx, prompts.PRESS_ONE_TWO_OR_THREE)


def _receipt(state: CallState, ctx: Context) -> tuple[str, ...]:
    """The receipt, and why the report waits when the worker will hold it as unverified
    (callflows.trust decides for both, so the chair hears what will happen)."""
    assert state.precinct_id is not None
    info = ctx.services.find_precinct(state.precinct_id)
    trust = report_trust(
        state.caller,
        info.chair_phone if info else "",
        state.stir_verstat,
        reached_by_hotline=state.reached_by_hotline,
    )
    if trust is Trust.UNATTESTED:
        return prompts.receipt_to_confirm(state.receipt, prompts.CALL_BACK_UNATTESTED)
    if trust is Trust.NO_CHAIR_PHONE:
        return prompts.receipt_to_confirm(state.receipt, prompts.CALL_BACK_NO_CHAIR_PHONE)
    # Verified, or another number's (quarantined): a leaked PIN's user learns nothing here.
    return prompts.receipt(state.receipt)


def _drill_mismatches(state: CallState) -> list[drill.Mismatch]:
    figures = {key: [value or 0 for value in values] for key, values in state.figures.items()}
    return drill.mismatches(figures, state.chance)


def _drill_outcome(ctx: Context, found: list[drill.Mismatch]) -> tuple[str, ...]:
    """What a chair hears at the end of a drill, instead of a receipt."""
    if not found:
        return (prompts.DRILL_SUBMITTED, prompts.DRILL_MATCHED, prompts.DRILL_READY)
    groups = ctx.ballot.groups
    spoken = [(m.block, groups[m.group].spoken, m.keyed, m.expected) for m in found]
    return (prompts.DRILL_SUBMITTED, prompts.drill_mismatches(spoken), prompts.DRILL_TRY_AGAIN)


def _drill_submitted(state: CallState, ctx: Context, found: list[drill.Mismatch]) -> DrillSubmitted:
    assert state.precinct_id is not None
    return DrillSubmitted(
        call_sid=state.call_sid,
        precinct_id=state.precinct_id,
        caller=state.caller,
        figures={key: [value or 0 for value in values] for key, values in state.figures.items()},
        chance=[ctx.ballot.groups[g].name for g in state.chance],
        matched=not found,
        mismatched=drill.mismatch_labels(found, ctx.ballot),
        started_at=state.started_at or ctx.now,
        at=ctx.now,
        stir_verstat=state.stir_verstat,
    )


def _read_back(state: CallState, ctx: Context) -> list[Phrase]:
    lines = []
    for block in BLOCKS:
        values = [value or 0 for value in state.figures[block]]
        named = [(g.spoken, v) for g, v in zip(ctx.ballot.groups, values, strict=True) if v]
        others_zero = len(named) < len(values)
        lines.append(prompts.read_back_block(block, named, others_zero, block in state.flagged))
    return lines


def _submitted(state: CallState, ctx: Context) -> ReportSubmitted:
    assert state.precinct_id is not None
    return ReportSubmitted(
        report_id=state.report_id,
        receipt=state.receipt,
        call_sid=state.call_sid,
        caller=state.caller,
        precinct_id=state.precinct_id,
        ballot=ctx.ballot.name,
        groups=list(ctx.ballot.group_names),
        figures={key: [value or 0 for value in values] for key, values in state.figures.items()},
        totals=dict(state.totals),
        flagged=dict(state.flagged),
        received_at=ctx.now,
        chance=[ctx.ballot.groups[g].name for g in state.chance],
        stir_verstat=state.stir_verstat,
        reached_by_hotline=state.reached_by_hotline,
    )


_HANDLERS: dict[str, Callable[[CallState, str, Context], Turn]] = {
    PRECINCT: _on_precinct,
    PIN: _on_pin,
    RESUME: _on_resume,
    "figure": _on_figure,
    "total": _on_total,
    "fix": _on_fix,
    CHANCE: _on_chance,
    CONFIRM: _on_confirm,
    OFFER: _on_offer,
    VERIFY: _on_verify,
    REMIND: _on_remind,
}
