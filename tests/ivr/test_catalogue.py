"""The prompt catalogue is complete: every message the source says has a Spanish translation
with the same placeholders, the template is up to date, and whole calls in Spanish say
nothing the catalogue does not translate (a sentence glued with an f-string would)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callflows import flow, prompts
from callflows.ballots import load_ballot
from callflows.flow import Context, Turn
from callflows.phrases import Phrase
from ivr import catalogue
from tests.ivr.test_flow_fuzz import FakeServices, plausible

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"\{(\w+)[^}]*\}")
TRANSLATED = [code for code in catalogue.LANGUAGES if code != catalogue.ENGLISH.code]


def extracted() -> dict[str, str | None]:
    """Every message ID the source says, as `make catalogue` extracts it (plural forms too)."""
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)  # type: ignore[no-untyped-call]
    found: dict[str, str | None] = {}
    for _, _, message, _, _ in extract_from_dir(
        ROOT,
        method_map,
        options_map,
        keywords={"phrase": None, "counted": (1, 2), "phrase_in": (2,)},
        callback=None,
    ):
        if isinstance(message, tuple):
            found[message[0]] = message[1]
        else:
            found[message] = None
    return found


def placeholders(text: str | None) -> set[str]:
    return set(PLACEHOLDER.findall(text or ""))


def _msgid(message_id: str | tuple[str, ...] | list[str]) -> str:
    """A message's ID (a plural's singular)."""
    return message_id if isinstance(message_id, str) else message_id[0]


def test_babel_finds_the_phrases_and_the_group_names() -> None:
    messages = extracted()
    assert prompts.ASK_CONFIRM in messages and "Uncommitted" in messages
    assert messages["{count} person"] == "{count} people"
    assert len(messages) >= 150


def test_the_template_holds_every_message_the_source_says() -> None:
    with (catalogue.LOCALE_DIR / "hotline.pot").open("rb") as pot:
        template = {
            message.id if isinstance(message.id, str) else message.id[0]
            for message in read_po(pot)
            if message.id
        }
    assert set(extracted()) - template == set(), "run `make catalogue`"


def test_every_message_is_translated_with_the_same_placeholders() -> None:
    for code in TRANSLATED:
        catalog = catalogue.read_catalog(code)
        for msgid, plural in extracted().items():
            entry = catalog.get(msgid)
            assert entry is not None, f"{code}: no entry for {msgid!r} (run `make catalogue`)"
            assert not entry.fuzzy, f"{code}: {msgid!r} is fuzzy: check it, remove the flag"
            strings = (
                (entry.string,) if isinstance(entry.string, str) else tuple(entry.string or ())
            )
            assert all(strings), f"{code}: {msgid!r} is not translated"
            expected = placeholders(msgid) | placeholders(plural)
            for string in strings:
                # A plural's singular may leave the count out, as the English does.
                assert placeholders(string) <= expected, f"{code}: {string!r} for {msgid!r}"
                assert placeholders(string) >= placeholders(msgid) - {"count"}, (
                    f"{code}: {string!r} drops a value of {msgid!r}"
                )


def untranslated(text: str, code: str) -> Iterator[str]:
    """The templates of `text` (and of the phrases inside it) that `code` lacks; a text that
    is no phrase must be a catalogue entry itself."""
    catalog = catalogue.read_catalog(code)
    if not isinstance(text, Phrase):
        if text and catalog.get(text) is None:
            yield text
        return
    if catalog.get(text.template) is None:
        yield text.template
    for value in text.values.values():
        if isinstance(value, Phrase):
            yield from untranslated(value, code)


def said(turn: Turn) -> list[str]:
    return [*turn.say, *([turn.prompt.text] if turn.prompt else [])]


BALLOT = load_ballot("iowa2020")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), steps=st.integers(min_value=5, max_value=90))
def test_a_whole_call_in_spanish_says_only_what_the_catalogue_translates(
    data: st.DataObject, steps: int
) -> None:
    ctx = Context(BALLOT, FakeServices(), "2020-02-03T20:00:00+00:00")
    turn = flow.start_call("CA" + "0" * 32, "+15155550123", ctx, language="es")
    for _ in range(steps):
        for text in said(turn):
            language = getattr(text, "language", None) or turn.state.language
            if language != catalogue.ENGLISH.code:
                assert list(untranslated(text, language)) == [], text
        if turn.prompt is None:
            break
        keys = data.draw(st.sampled_from([*plausible(turn.state, BALLOT), "9", None]))
        turn = flow.answer(turn.state, keys, ctx)
