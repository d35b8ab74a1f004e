"""The prompt catalogue: what the hotline says, in each language it speaks.

The message IDs are the English templates of callflows.prompts (`phrase(...)`, `counted(...)`)
and the preference groups' spoken names of the ballot files; `make catalogue` extracts them
with Babel into ivr/locale/hotline.pot and merges them into each language's .po file, where a
translator writes the words (the glossary of caucus terms is ivr/locale/GLOSSARY.md). The .po
files are read and compiled when the hotline starts: nothing compiled is kept in the
repository, and a catalogue that does not compile stops the start-up, not a call.
"""

from __future__ import annotations

import functools
import gettext
import io
import tomllib
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from callflows.phrases import Phrase

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "hotline"


@dataclass(frozen=True)
class Language:
    """A language the hotline speaks: its code, and the voice that says it."""

    code: str
    """The catalogue's language (and CallState.language): "en", "es"."""
    name: str
    """As staff read it."""
    say_language: str
    """<Say language>: the voice's locale."""
    voice: str
    """<Say voice>: an Amazon Polly voice Twilio offers for that locale."""


ENGLISH = Language("en", "English", "en-US", "Polly.Joanna")
SPANISH = Language("es", "Spanish", "es-US", "Polly.Lupe")
LANGUAGES: Mapping[str, Language] = {language.code: language for language in (ENGLISH, SPANISH)}
"""English is the catalogue's source; every other language has a .po file."""


def language(code: str) -> Language:
    """The language of `code`; English for a code the hotline does not speak."""
    return LANGUAGES.get(code, ENGLISH)


def po_path(code: str) -> Path:
    return LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def read_catalog(code: str) -> Catalog:
    """The .po file of `code` as Babel reads it."""
    with po_path(code).open("rb") as po:
        return read_po(po, locale=code, domain=DOMAIN)


@functools.cache
def translations(code: str) -> gettext.NullTranslations:
    """The compiled catalogue of `code` (English: the message IDs themselves)."""
    if code == ENGLISH.code:
        return gettext.NullTranslations()
    catalog = read_catalog(code)
    compiled = io.BytesIO()
    # Fuzzy entries (a translation Babel guessed when the English changed) are left out, so
    # a caller hears the English of a message nobody has checked rather than a wrong one;
    # tests/ivr/test_catalogue.py fails on any.
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def language_of(text: str, call_language: str) -> str:
    """The language `text` is said in: the call's, unless it is a phrase fixed to another
    (the offer of Spanish on an English call)."""
    return getattr(text, "language", None) or call_language


def say(text: str, code: str) -> str:
    """`text` (a phrase of callflows.prompts, or a catalogue entry such as a group's spoken
    name) in the language of `code`; words the catalogue does not know stay as they are."""
    if code == ENGLISH.code:
        return text
    return _translate(text, translations(code))


def _translate(text: str, catalogue: gettext.NullTranslations) -> str:
    if not isinstance(text, Phrase):
        return catalogue.gettext(text) if text else text
    if text.plural is not None and text.quantity is not None:
        template = catalogue.ngettext(text.template, text.plural, text.quantity)
    else:
        template = catalogue.gettext(text.template)
    values = {
        name: _translate(value, catalogue) if isinstance(value, str) else value
        for name, value in text.values.items()
    }
    return template.format(**values)


def extract_ballot_names(
    fileobj: IO[bytes],
    keywords: Mapping[str, Any],
    comment_tags: Collection[str],
    options: Mapping[str, Any],
) -> Iterator[tuple[int, str, str, list[str]]]:
    """Babel's extractor for a ballot file (babel.cfg): each group's spoken name, which
    the flow hands to the prompts as it is and the catalogue translates where it must
    ("Uncommitted"; a candidate's name is the same in every language)."""
    text = fileobj.read().decode()
    ballot = tomllib.loads(text)
    lines = text.splitlines()
    for group in ballot.get("groups", []):
        spoken = group["spoken"]
        lineno = next(
            (n for n, line in enumerate(lines, 1) if line.strip() == f'spoken = "{spoken}"'), 0
        )
        yield lineno, "", spoken, [f"A preference group's spoken name ({group['name']})."]
