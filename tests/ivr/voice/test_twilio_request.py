"""Parsing a Twilio webhook request: every field checked once, at the route."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from callflows.phones import NumberKind
from ivr.voice.twilio_request import (
    MAX_RETRY_URL,
    NOT_KEYS,
    TOO_MANY_KEYS,
    carries_keys,
    parse_query,
    parse_request,
    retry_url,
)

SID = "CA" + "0123456789abcdef" * 2


def test_a_well_formed_request_is_read_as_twilio_sent_it() -> None:
    req = parse_request(
        "/voice/figure/first/2",
        {"CallSid": SID, "From": "(515) 555-0123", "To": "+15155550100", "Digits": "12#",
         "StirVerstat": "TN-Validation-Passed-A", "CallStatus": "completed",
         "CallDuration": "240", "AnsweredBy": "human", "ErrorCode": "11200"},
        {"n": "7", "r": "1"},
    )  # fmt: skip
    assert req.step == "figure/first/2" and req.path == "/voice/figure/first/2"
    assert req.call_sid == SID and req.keys == "12#"
    assert req.caller.kind is NumberKind.VALID and req.caller.e164 == "+15155550123"
    assert req.caller_id == "(515) 555-0123"
    assert (req.call_status, req.call_duration, req.answered_by) == ("completed", 240, "human")
    assert req.query.seq == 7 and req.query.retries == 1
    assert req.error_code == "11200"


def test_fields_that_are_not_what_twilio_sends_are_treated_as_absent() -> None:
    req = parse_request(
        "/voice/../staff",
        {"CallSid": "CA1; DROP TABLE", "CallStatus": "exploded", "CallDuration": "-5",
         "AnsweredBy": "robot", "From": "x" * 500, "ErrorCode": "12a"},
        {"n": "seven", "r": "many"},
    )  # fmt: skip
    assert req.step == "" and req.path == "/voice"
    assert req.call_sid == ""
    assert (req.call_status, req.call_duration, req.answered_by, req.error_code) == (
        "",
        None,
        "",
        "",
    )
    assert len(req.caller_id) <= 128 and req.caller.kind is NumberKind.NOT_A_NUMBER
    assert req.query.seq is None
    assert req.query.retries >= 5, "a retry count that is not ours stops the retries"


def test_keys_that_are_not_keypad_keys_reach_the_flow_as_keys_it_refuses() -> None:
    for digits in ("١٢٣", "12a", "½"):
        assert parse_request("/voice/pin", {"CallSid": SID, "Digits": digits}, {}).keys == NOT_KEYS
    for digits in ("1" * 65, "0" * 4000 + "5"):
        keys = parse_request("/voice/pin", {"CallSid": SID, "Digits": digits}, {}).keys
        assert keys == TOO_MANY_KEYS
    assert parse_request("/voice/pin", {"CallSid": SID}, {}).keys is None
    assert parse_request("/voice/pin", {"CallSid": SID, "Digits": ""}, {}).keys is None


def test_a_retry_carries_the_keys_but_never_a_pin() -> None:
    query = parse_query({"n": "4"})
    assert (
        retry_url("/voice/figure/first/1", query, "12#") == "/voice/figure/first/1?n=4&r=1&d=12%23"
    )
    assert retry_url("/voice/pin", query, "123456") == "/voice/pin?n=4&r=1"
    retried = parse_request("/voice/figure/first/1", {"CallSid": SID}, {"n": "4", "d": "12#"})
    assert retried.keys == "12#"


def test_only_steps_on_the_allowlist_carry_their_keys() -> None:
    carrying = ["/voice/precinct", "/voice/resume", "/voice/chance", "/voice/confirm",
                "/voice/figure/first/1", "/voice/figure/delegates/13", "/voice/total/final",
                "/voice/fix/delegates"]  # fmt: skip
    refusing = ["/voice", "/voice/pin", "/voice/pin/", "/voice/pin/1", "/voice/figure/pin/1",
                "/voice/figure/first", "/voice/total/pin", "/voice/precinct/pin", "/voice/hold",
                "/voice/dequeued", "/voice/fallback", "/voice/PIN", "/other/precinct"]  # fmt: skip
    assert all(carries_keys(path) for path in carrying)
    assert not any(carries_keys(path) for path in refusing)
    assert "d=" not in retry_url("/voice/pin/", parse_query({"n": "2"}), "123456")


@given(
    path=st.text(max_size=80),
    form=st.dictionaries(
        st.sampled_from(["CallSid", "From", "To", "Digits", "FinishedOnKey", "StirVerstat",
                         "CallStatus", "CallDuration", "QueueResult", "AnsweredBy", "ErrorCode",
                         "ErrorUrl", "Other"]),
        st.text(max_size=300),
    ),
    args=st.dictionaries(st.sampled_from(["n", "r", "d", "p", "silence"]), st.text(max_size=40)),
)  # fmt: skip
def test_any_request_parses_into_bounded_values(
    path: str, form: dict[str, str], args: dict[str, str]
) -> None:
    req = parse_request(path, form, args)
    assert req.path == "/voice" or req.path.startswith("/voice/")
    assert req.call_sid == "" or len(req.call_sid) == 34
    assert req.keys is None or req.keys == NOT_KEYS or set(req.keys) <= set("0123456789*#")
    assert req.keys is None or len(req.keys) <= 64
    assert len(req.caller_id) <= 128 and len(req.to) <= 128 and len(req.stir_verstat) <= 128
    assert req.call_duration is None or 0 <= req.call_duration <= 24 * 3600
    assert req.query.seq is None or req.query.seq >= 0
    assert req.query.priority in (0, 1)
    again = retry_url(req.path, req.query, req.keys)
    assert again.startswith(req.path + "?") and len(again) <= MAX_RETRY_URL
