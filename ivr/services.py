"""The call flow's `Services`, backed by the precinct directory and Redis."""

from __future__ import annotations

from sqlalchemy import select

from callflows.flow import PinCheck, PrecinctInfo
from callflows.phones import e164
from callflows.progress import from_blocks
from callflows.state import Progress
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
        number = e164(caller)
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
            if draft is None:
                return None
            return from_blocks(draft.blocks, len(self._hotline.ballot.groups))
