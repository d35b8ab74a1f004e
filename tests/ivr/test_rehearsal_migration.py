"""Migration 0010 on databases that already exist: one that has counted keeps counting
(live); any other starts in rehearsal, what it holds marked as rehearsal."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, create_engine, text

from models.migrations import alembic_config

PRECINCT = """INSERT INTO precinct (precinct_id, county, name, short_name, is_satellite,
    chair_name, chair_phone) VALUES ('948199', 'Adair', '1NW ADAIR', '', false, '', '')"""
REPORT = """INSERT INTO report (id, precinct_pk, call_sid, caller, stir_verstat, receipt,
    status, ballot, groups, figures, stated_totals, sdes, flagged_blocks, findings,
    received_at, committed_at, source, reviewed_by, review_note)
    VALUES ('r1', 1, 'CA1', '', '', '123456', 'committed', 'iowa2020', '[]', '{}', '{}',
    '[]', '{}', '[]', '2020-02-03 20:00:00', '2020-02-03 20:00:01', 'phone', '', '')"""
CALL = "INSERT INTO call (call_sid, from_number, to_number, stir_verstat, status, caller_class,"
CALL += " screening, staff_step) VALUES ('CA1', '', '', '', 'completed', '', '', '')"


def migrate(engine: Engine, revision: str) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


@pytest.mark.parametrize("has_report", [True, False])
def test_an_existing_database_keeps_its_mode(tmp_path: Path, has_report: bool) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        migrate(engine, "0009")
        with engine.begin() as connection:
            connection.execute(text(PRECINCT))
            connection.execute(text(CALL))
            if has_report:
                connection.execute(text(REPORT))
        migrate(engine, "head")
        with engine.connect() as connection:
            mode = connection.execute(text("SELECT mode FROM election_mode")).scalar_one()
            marked = connection.execute(text("SELECT rehearsal FROM call")).scalar_one()
    finally:
        engine.dispose()
    assert mode == ("live" if has_report else "rehearsal")
    assert bool(marked) is not has_report
