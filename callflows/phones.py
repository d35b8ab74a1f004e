"""Phone numbers, read one way everywhere: screening, precinct import, the blocklist and
the quarantine check all compare numbers in the E.164 form this module gives.

A number is read as a US number unless it has a +country code. libphonenumber tells a
*possible* number (the right length for its country) from a *valid* one (in a range that
is assigned): chairs' registered phones must be valid, but staff may block any possible
number, since spoofed caller IDs are often unassigned numbers, and screening checks the
blocklist before it sets an invalid caller aside.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

import phonenumbers

WITHHELD = frozenset(
    {"", "anonymous", "restricted", "unknown", "private", "unavailable", "+266696687", "266696687"}
)
"""How a withheld caller ID arrives (Twilio shows one as "anonymous" or "+266696687",
ANONYMOUS on a keypad)."""
DEFAULT_REGION = "US"
NANP_E164 = re.compile(r"\+1[2-9][0-9]{9}")
"""A North American number in E.164, as Twilio writes `From`."""


class NumberKind(StrEnum):
    VALID = "valid"
    """A number in an assigned range."""
    POSSIBLE = "possible"
    """The right shape for its country, but not in an assigned range."""
    WITHHELD = "withheld"
    """No caller ID."""
    NOT_A_NUMBER = "not_a_number"
    """Unparseable, impossible, or not a telephone address at all (`client:`, `sip:`)."""


@dataclass(frozen=True)
class Phone:
    kind: NumberKind
    e164: str
    """E.164 for a valid or possible number, else ""."""

    @property
    def valid(self) -> bool:
        return self.kind is NumberKind.VALID


def read_number(text: str) -> Phone:
    """Read a caller ID or a typed number."""
    raw = text.strip()
    if raw.lower() in WITHHELD:
        return Phone(NumberKind.WITHHELD, "")
    if ":" in raw:
        return Phone(NumberKind.NOT_A_NUMBER, "")
    if NANP_E164.fullmatch(raw):
        # How Twilio sends every North American caller ID: built directly, the number is
        # what parsing would give (tests/callflows/test_phones.py compares the two) in a
        # fifth of the time, and /voice reads one for every new call.
        parsed = phonenumbers.PhoneNumber(country_code=1, national_number=int(raw[2:]))
    else:
        try:
            parsed = phonenumbers.parse(raw, DEFAULT_REGION)
        except phonenumbers.NumberParseException:
            return Phone(NumberKind.NOT_A_NUMBER, "")
    # Strictly possible: a local-only number (seven digits in the US) is no caller ID.
    reason = phonenumbers.is_possible_number_with_reason(parsed)
    if reason != phonenumbers.ValidationResult.IS_POSSIBLE:
        return Phone(NumberKind.NOT_A_NUMBER, "")
    number = str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))
    kind = NumberKind.VALID if phonenumbers.is_valid_number(parsed) else NumberKind.POSSIBLE
    return Phone(kind, number)


def e164(text: str) -> str:
    """E.164 of a valid number, else "" (what PIN limits and chair matching key on)."""
    phone = read_number(text)
    return phone.e164 if phone.valid else ""
