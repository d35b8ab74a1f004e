"""The messaging tests' fixtures: the test's web server playing the hotline (`Phone`) and
the Twilio stand-in with the hotline's number."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from softphone import HttpTransport
from softphone.rest import RestStandIn
from tests.softphone.test_rest_stand_in import ACCOUNT_SID, AUTH_TOKEN, HOTLINE
from tests.softphone.test_rest_stand_in_messages import Phone


@pytest.fixture
def phone() -> Iterator[Phone]:
    server = Phone()
    server.start()
    yield server
    server.stop()
    assert all(p.valid_signature for p in server.received)


@pytest.fixture
def twilio() -> Iterator[RestStandIn]:
    with RestStandIn(
        HttpTransport(timeout=5),
        auth_token=AUTH_TOKEN,
        account_sid=ACCOUNT_SID,
        numbers=(HOTLINE,),
    ) as server:
        yield server
