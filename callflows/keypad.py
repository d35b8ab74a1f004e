"""Turning what a caller keyed into numbers, with a specific reason when that fails."""

from __future__ import annotations

from enum import Enum

MAX_FIGURE = 9999
GO_BACK = "*"


class EntryError(Enum):
    """Why keyed digits are not a usable number."""

    NOT_DIGITS = "not_digits"
    TOO_LARGE = "too_large"
    WRONG_LENGTH = "wrong_length"


def parse_number(digits: str, *, maximum: int = MAX_FIGURE) -> int | EntryError:
    """A non-negative whole number of at most `maximum`, or why the keys are not one."""
    if not digits.isascii() or not digits.isdigit():
        return EntryError.NOT_DIGITS
    # Leading zeros are harmless ("007#" is 7), but a run of them must not hide a huge number;
    # and a number longer than `maximum` is too large before int() sees it, since Python
    # refuses to convert more than 4,300 digits (ValueError) and a long one costs time.
    if len(digits.lstrip("0")) > len(str(maximum)):
        return EntryError.TOO_LARGE
    value = int(digits)
    if value > maximum:
        return EntryError.TOO_LARGE
    return value


def parse_code(digits: str, *, min_length: int, max_length: int) -> str | EntryError:
    """A string of digits whose length is within bounds (precinct IDs, PINs)."""
    if not digits.isascii() or not digits.isdigit():
        return EntryError.NOT_DIGITS
    if not min_length <= len(digits) <= max_length:
        return EntryError.WRONG_LENGTH
    return digits


def spell_digits(digits: str, separator: str = " ") -> str:
    """Digits spaced so text-to-speech reads them one by one ("948199" -> "9 4 8 1 9 9")."""
    return separator.join(digits)
