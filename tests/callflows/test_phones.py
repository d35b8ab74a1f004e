"""Phone numbers, read one way for screening, import, the blocklist and quarantine."""

from __future__ import annotations

import pytest

from callflows.phones import NumberKind, e164, read_number


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
