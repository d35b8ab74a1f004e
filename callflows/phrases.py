"""A sentence the hotline says, kept with the catalogue key it was made from.

`phrase("That matches.")` and `phrase("Your receipt number is {code}.", code=...)` are the
English words (a `Phrase` is a str, so the flow, the load tester and the tests read it as
what an English caller hears) and also remember their template, gettext's message ID, and
the values put into it. The webhook layer (ivr.speech) looks the template up in the caller's
language and fills it with the values, themselves translated when they are phrases or
catalogue entries (a group's spoken name). The flow thus picks messages by key and stays
free of any language but the catalogue's source, and English costs nothing to render.

Every sentence is a single phrase: joining phrases with an f-string or `+` makes a plain str
the catalogue does not know (tests/ivr/test_catalogue.py speaks whole calls in Spanish to
catch one), so composite sentences are phrases whose values are phrases.
"""

from __future__ import annotations

from collections.abc import Mapping

Value = str | int
"""What a phrase's placeholder holds: a number, a name, or another phrase."""

ENGLISH = "en"
"""The catalogue's source language: a phrase's template is its English."""
LANGUAGES = (ENGLISH, "es")
"""The languages the hotline speaks, as the catalogue (ivr/locale) names them."""


def other_language(language: str) -> str:
    """The language the language key switches a call to (the next one, round the list)."""
    index = LANGUAGES.index(language) if language in LANGUAGES else 0
    return LANGUAGES[(index + 1) % len(LANGUAGES)]


class Phrase(str):
    """English words, their message ID (`template`, with a `plural` form for a count) and
    the values that fill it."""

    template: str
    plural: str | None
    quantity: int | None
    values: Mapping[str, Value]
    language: str | None
    """Said in this language whatever the call's (an offer of another language); None: the
    call's own."""

    def __new__(
        cls,
        template: str,
        plural: str | None,
        count: int | None,
        values: Mapping[str, Value],
        language: str | None = None,
    ) -> Phrase:
        english = template if plural is None or count == 1 else plural
        made = super().__new__(cls, english.format(**values) if values else english)
        made.template, made.plural, made.quantity = template, plural, count
        made.values, made.language = values, language
        return made


def phrase(template: str, /, **values: Value) -> Phrase:
    """A sentence by its message ID, the English with {placeholders} for `values`."""
    return Phrase(template, None, None, values)


def phrase_in(language: str, template: str, /) -> Phrase:
    """A sentence always said in `language`, such as the offer to switch to it."""
    return Phrase(template, None, None, {}, language)


def counted(singular: str, plural: str, count: int, /, **values: Value) -> Phrase:
    """A sentence that depends on `count` (gettext's ngettext: each language has its own
    plural rules); `count` is also the {count} placeholder's value."""
    return Phrase(singular, plural, count, {"count": count, **values})
