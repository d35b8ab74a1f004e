"""Fixtures for the queue tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner

from ivr.settings import DEV_ACCOUNT_SID, DEV_HOTLINE_NUMBER
from softphone import FlaskClientTransport
from softphone.rest import RestStandIn
from tests.conftest import AUTH_TOKEN
from tests.support.calls import CALLER
from tests.support.data import import_precincts


@pytest.fixture
def adair(runner: FlaskCliRunner, tmp_path: Path) -> dict[str, str]:
    """The precincts of Adair county (with PINs by precinct ID); 948199's registered chair
    phone is the number the test reports come from."""
    return import_precincts(runner, tmp_path, chair_phones={"948199": CALLER})


@pytest.fixture
def twilio(app: Flask) -> Iterator[RestStandIn]:
    """The REST stand-in, placing the calls it is asked for into the app in-process (no
    worker runs the jobs their webhooks queue unless the test runs one)."""
    with RestStandIn(
        FlaskClientTransport(app.test_client()),
        auth_token=AUTH_TOKEN,
        account_sid=DEV_ACCOUNT_SID,
        numbers=(DEV_HOTLINE_NUMBER,),
        calls_per_second=100,
    ) as stand_in:
        yield stand_in
