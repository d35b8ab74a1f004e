"""The call flow's `Services`, backed by the precinct directory and Redis."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from callflows.flow import PinCheck, PrecinctInfo
from callflows.state import CONFIRM, Progress, figure_step
from ivr.hotline import Hotline
from ivr.pins import pin_matches
from models import ReportDraft
from queues import pin_guard, screening


class WebServices:
    """What the pure flow may ask of the outside world during a webhook request."""

    def __init__(self, hotline: Hotline) -> None:
        self._hotline = hotline

    def find_precinct(self, precinct_id: str) -> PrecinctInfo | None:
        entry = self._hotline.directory.get(precinct_id)
        return entry.info if entry else None

    def check_pin(self, precinct_id: str, pin: str, caller: str, attested: bool) -> PinCheck:
        redis = self._hotline.redis
        number, _ = screening.normalise(caller)
        entry = self._hotline.directory.get(precinct_id)
        from_chair_phone = bool(entry and entry.chair_phone and entry.chair_phone == number)
        # Checked before the PIN, so a blocked guesser learns nothing from further tries.
        refused = pin_guard.pin_entry_refused(
            redis, precinct_id, number, from_chair_phone, attested
        )
        if refused:
            return PinCheck(refused)
        stored = entry.pin_hmac if entry else None
        if pin_matches(self._hotline.settings.pin_key, precinct_id, pin, stored):
            screening.remember_authenticated(redis, number)
            return PinCheck.RIGHT
        pin_guard.record_failure(redis, precinct_id, number, from_chair_phone, attested)
        return PinCheck.WRONG

    def new_receipt(self) -> str:
        return self._hotline.store.new_receipt()

    def saved_progress(self, precinct_id: str, caller: str) -> Progress | None:
        """The last figure reached (Redis), else the last completed block (the database)."""
        progress = self._hotline.store.load_progress(precinct_id, caller)
        if progress is not None:
            return progress
        with self._hotline.sessions() as session:
            draft = session.scalars(
                select(ReportDraft).where(
                    ReportDraft.precinct_id == precinct_id, ReportDraft.caller == caller
                )
            ).one_or_none()
            return self._from_draft(draft.blocks) if draft else None

    def _from_draft(self, blocks: dict[str, dict[str, Any]]) -> Progress | None:
        keys = self._hotline.ballot.block_keys
        done = [key for key in keys if key in blocks]
        if not done:
            return None
        pending = [key for key in keys if key not in blocks]
        empty: list[int | None] = [None] * len(self._hotline.ballot.groups)
        figures = {
            key: list(blocks[key]["figures"]) if key in blocks else list(empty) for key in keys
        }
        return Progress(
            step=figure_step(pending[0], 1) if pending else CONFIRM,
            figures=figures,
            totals={key: blocks[key]["total"] for key in done if blocks[key]["total"] is not None},
            flagged={key: blocks[key]["flagged"] for key in done if blocks[key]["flagged"]},
        )
