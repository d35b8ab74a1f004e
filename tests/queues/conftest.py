"""Fixtures for the queue tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskCliRunner

from tests.support.calls import CALLER
from tests.support.data import import_precincts


@pytest.fixture
def adair(runner: FlaskCliRunner, tmp_path: Path) -> dict[str, str]:
    """The precincts of Adair county (with PINs by precinct ID); 948199's registered chair
    phone is the number the test reports come from."""
    return import_precincts(runner, tmp_path, chair_phones={"948199": CALLER})
