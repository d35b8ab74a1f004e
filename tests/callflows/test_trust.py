"""Who a report's caller is (callflows.trust), and what the chair hears because of it."""

from __future__ import annotations

import dataclasses

import pytest

from callflows import flow, prompts
from callflows.events import ReportSubmitted, decode_as, encode
from callflows.state import CallState
from callflows.trust import FULL_ATTESTATION, Trust, report_trust
from tests.callflows.test_flow import ADAIR_1NW, Call, FakeServices

CHAIR = "+15155550123"


@pytest.mark.parametrize(
    ("caller", "chair_phone", "verstat", "trust"),
    [
        (CHAIR, CHAIR, FULL_ATTESTATION, Trust.VERIFIED),
        ("(515) 555-0123", CHAIR, FULL_ATTESTATION, Trust.VERIFIED),
        (CHAIR, CHAIR, "TN-Validation-Passed-B", Trust.UNATTESTED),
        (CHAIR, CHAIR, "TN-Validation-Passed-C", Trust.UNATTESTED),
        (CHAIR, CHAIR, "No-TN-Validation", Trust.UNATTESTED),
        (CHAIR, CHAIR, "TN-Validation-Failed-A", Trust.UNATTESTED),
        (CHAIR, CHAIR, "", Trust.UNATTESTED),
        (CHAIR, CHAIR, "tn-validation-passed-a", Trust.UNATTESTED),
        (CHAIR, CHAIR, FULL_ATTESTATION + " ", Trust.UNATTESTED),
        ("+15155550124", CHAIR, FULL_ATTESTATION, Trust.OTHER_NUMBER),
        ("anonymous", CHAIR, FULL_ATTESTATION, Trust.OTHER_NUMBER),
        ("client:robot", CHAIR, "", Trust.OTHER_NUMBER),
        (CHAIR, "", FULL_ATTESTATION, Trust.NO_CHAIR_PHONE),
        ("anonymous", "", "", Trust.NO_CHAIR_PHONE),
    ],
)
def test_only_the_chair_phone_attested_a_is_verified(
    caller: str, chair_phone: str, verstat: str, trust: Trust
) -> None:
    assert report_trust(caller, chair_phone, verstat) is trust
    assert trust.commits == (trust is Trust.VERIFIED)


class ChairCall(Call):
    """A call from the chair's phone to a precinct whose registered phone is `chair_phone`."""

    def __init__(self, chair_phone: str, stir_verstat: str) -> None:
        precinct = dataclasses.replace(ADAIR_1NW, chair_phone=chair_phone)

        class Services(FakeServices):
            def find_precinct(self, precinct_id: str) -> flow.PrecinctInfo | None:
                return precinct if precinct_id == precinct.precinct_id else None

        super().__init__(Services())
        self.turn = flow.start_call("CA1", CHAIR, self.ctx, stir_verstat=stir_verstat)

    def submit(self) -> tuple[str, ...]:
        self.sign_in()
        self.key_worksheet()
        return self.key("1").say


def test_an_attested_chair_hears_the_plain_receipt() -> None:
    call = ChairCall(CHAIR, FULL_ATTESTATION)
    assert call.state.attested and call.state.stir_verstat == FULL_ATTESTATION
    said = call.submit()
    assert said == prompts.receipt("000001")
    (event,) = call.turn.events
    assert isinstance(event, ReportSubmitted) and event.stir_verstat == FULL_ATTESTATION


@pytest.mark.parametrize("verstat", ["", "No-TN-Validation", "TN-Validation-Passed-B"])
def test_an_unattested_chair_hears_they_will_be_called_back(verstat: str) -> None:
    call = ChairCall(CHAIR, verstat)
    assert not call.state.attested
    said = call.submit()
    assert said[:2] == ("Your report is received.", prompts.CALL_BACK_UNATTESTED)
    assert "Your receipt number is 0 0 0, 0 0 1." in said
    (event,) = call.turn.events
    assert isinstance(event, ReportSubmitted) and event.stir_verstat == verstat


def test_a_caller_for_a_precinct_without_a_chair_phone_hears_they_will_be_called_back() -> None:
    said = ChairCall("", FULL_ATTESTATION).submit()
    assert said[:2] == ("Your report is received.", prompts.CALL_BACK_NO_CHAIR_PHONE)


def test_another_number_hears_the_plain_receipt() -> None:
    assert ChairCall("+15155550199", FULL_ATTESTATION).submit() == prompts.receipt("000001")


def test_a_call_state_and_a_report_event_saved_before_the_attestation_field_still_load() -> None:
    old_state = CallState("CA1", CHAIR, attested=True).to_json().replace(',"stir_verstat":""', "")
    assert "stir_verstat" not in old_state
    assert CallState.from_json(old_state).stir_verstat == ""
    call = ChairCall(CHAIR, FULL_ATTESTATION)
    call.submit()
    (event,) = call.turn.events
    assert isinstance(event, ReportSubmitted)
    payload = encode(event)
    del payload["stir_verstat"]
    assert decode_as(ReportSubmitted, payload).stir_verstat == ""
