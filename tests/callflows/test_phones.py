"""Phone numbers, read one way for screening, import, the blocklist and quarantine."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callflows.phones import NumberKind, Phone, e164, read_number


@pytest.mark.parametrize(
    ("text", "kind", "number"),
    [
        ("+15155550123", NumberKind.VALID, "+15155550123"),
        ("(515) 555-0123", NumberKind.VALID, "+15155550123"),
        ("515.555.0123", NumberKind.VALID, "+15155550123"),
        ("+44 20 7946 0958", NumberKind.VALID, "+442079460958"),
        ("+1 555 555 0123", NumberKind.POSSIBLE, "+15555550123"),  # unassigned: spoofers' kind
        ("anonymous", NumberKind.WITHHELD, ""),
        ("+266696687", NumberKind.WITHHELD, ""),
        ("", NumberKind.WITHHELD, ""),
        ("client:alice", NumberKind.NOT_A_NUMBER, ""),
        ("sip:robot@example.com", NumberKind.NOT_A_NUMBER, ""),
        ("555-1234", NumberKind.NOT_A_NUMBER, ""),  # local only: no caller ID
        ("12", NumberKind.NOT_A_NUMBER, ""),
        ("not a number", NumberKind.NOT_A_NUMBER, ""),
    ],
)
def test_read_number(text: str, kind: NumberKind, number: str) -> None:
    phone = read_number(text)
    assert (phone.kind, phone.e164) == (kind, number)
    assert e164(text) == (number if kind is NumberKind.VALID else "")


def _parsed(raw: str) -> Phone:
    """read_number as it was before its North American shortcut: through phonenumbers.parse."""
    parsed = phonenumbers.parse(raw, "US")
    reason = phonenumbers.is_possible_number_with_reason(parsed)
    if reason != phonenumbers.ValidationResult.IS_POSSIBLE:
        return Phone(NumberKind.NOT_A_NUMBER, "")
    number = str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))
    kind = NumberKind.VALID if phonenumbers.is_valid_number(parsed) else NumberKind.POSSIBLE
    return Phone(kind, number)


@settings(max_examples=2000)
@given(st.text(alphabet="0123456789", min_size=10, max_size=10))
def test_north_american_caller_ids_read_as_parsing_reads_them(digits: str) -> None:
    raw = f"+1{digits}"
    assert read_number(raw) == _parsed(raw)
