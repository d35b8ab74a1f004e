"""Our one-HMAC signature check agrees with twilio-python's, and refuses what it refuses."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

from ivr.twilio_signature import expected_signature, is_valid

TOKEN = "test-twilio-auth-token"
URL = "https://hotline.example.org/voice/figure/first/3?n=7"
NONE: frozenset[str] = frozenset()

names = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
values = st.text(max_size=20)


@given(st.lists(st.tuples(names, values), max_size=15))
def test_the_signature_is_twilio_pythons(pairs: list[tuple[str, str]]) -> None:
    params = MultiDict(pairs)
    library = RequestValidator(TOKEN).compute_signature(URL, params)
    assert expected_signature(TOKEN, URL, params) == library


def test_a_signature_made_with_the_port_is_accepted_too() -> None:
    params = MultiDict({"CallSid": "CA1", "Digits": "5"})
    with_port = "https://hotline.example.org:443/voice/figure/first/3?n=7"
    signature = RequestValidator(TOKEN).compute_signature(with_port, params)
    assert is_valid(TOKEN, URL, params, signature, NONE)


def test_forged_or_altered_requests_are_refused() -> None:
    params = MultiDict({"CallSid": "CA1", "Digits": "5"})
    signature = expected_signature(TOKEN, URL, params)
    assert is_valid(TOKEN, URL, params, signature, NONE)
    assert not is_valid(TOKEN, URL, MultiDict({"CallSid": "CA1", "Digits": "6"}), signature, NONE)
    assert not is_valid(TOKEN, URL.replace("n=7", "n=8"), params, signature, NONE)
    assert not is_valid("another-token", URL, params, signature, NONE)
    assert not is_valid(TOKEN, URL, params, "", NONE)


def test_parameters_added_after_signing_may_be_left_out() -> None:
    signed = {"CallSid": "CA1", "From": "+15155550123"}
    signature = expected_signature(TOKEN, URL, MultiDict(signed))
    received = MultiDict({**signed, "StirVerstat": "TN-Validation-Passed-A"})
    assert is_valid(TOKEN, URL, received, signature, frozenset({"StirVerstat"}))
    assert not is_valid(TOKEN, URL, received, signature, NONE)
