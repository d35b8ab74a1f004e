"""The call flow's `Services`, backed by the precinct directory and Redis."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from callflows.flow import PinCheck, PrecinctInfo
from callflows.phones import e164
from callflows.progress import from_blocks
from callflows.state import Progress
from ivr.callstore import Writes
from ivr.hotline import Hotline
from ivr.pins import pin_matches
from models import ReportDraft
from queues import keys, pin_guard, screening

log = logging.getLogger(__name__)


class WebServices:
    """What the pure flow may ask of the outside world during a webhook request.

    What it changes goes on the request's `Writes`, sent with the answer; what it reserves
    at once (a PIN try, a receipt number) it gives back if the request fails. On a drill
    call (`drill`), PIN tries count against the drill line's own limits."""

    def __init__(self, hotline: Hotline, writes: Writes, *, drill: bool = False) -> None:
        self._hotline = hotline
        self._writes = writes
        self._drill = drill

    def find_precinct(self, precinct_id: str) -> PrecinctInfo | None:
        entry = self._hotline.directory.get(precinct_id)
        return entry.info if entry else None

    def check_pin(self, precinct_id: str, pin: str, caller: str, attested: bool) -> PinCheck:
        redis, pipe = self._hotline.redis, self._writes.pipe
        number = e164(caller)
        entry = self._hotline.directory.get(precinct_id)
        from_chair_phone = bool(entry and entry.chair_phone and entry.chair_phone == number)
        # Reserved before the PIN is compared, so concurrent guesses cannot pass the limits,
        # and a blocked guesser learns nothing from further tries (pin_guard's docstring).
        attempt = pin_guard.reserve(
            redis, precinct_id, number, from_chair_phone, attested, drill=self._drill
        )
        if attempt.refused:
            return PinCheck(attempt.refused)
        self._writes.cleanups.append(lambda: pin_guard.refund(redis, attempt))
        stored = entry.pin_hmac if entry else None
        if pin_matches(self._hotline.settings.pin_key, precinct_id, pin, stored):
            pin_guard.refund(pipe, attempt)
            screening.remember_authenticated(pipe, number)
            return PinCheck.RIGHT
        pin_guard.count_failure(pipe, attempt)
        return PinCheck.WRONG

    def new_receipt(self) -> str:
        receipt = self._hotline.store.new_receipt()
        # Reserved at once (the check for a free number must be atomic); a request that
        # fails hands it back, since its state (which would have kept it) is never saved.
        redis = self._hotline.redis

        def hand_back() -> None:
            redis.delete(keys.receipt(receipt))

        self._writes.cleanups.append(hand_back)
        return receipt

    def saved_progress(self, precinct_id: str, caller: str) -> Progress | None:
        """The last figure reached (Redis), else the last completed block (the database).

        The database only improves the call (a resume offer after Redis lost the
        progress): when it is unavailable the call goes on without the offer."""
        progress = self._hotline.store.load_progress(precinct_id, caller)
        if progress is not None:
            return progress
        try:
            with self._hotline.sessions() as session:
                draft = session.scalars(
                    select(ReportDraft).where(
                        ReportDraft.precinct_id == precinct_id, ReportDraft.caller == caller
                    )
                ).one_or_none()
                if draft is None:
                    return None
                return from_blocks(draft.blocks, len(self._hotline.ballot.groups))
        except SQLAlchemyError as error:
            log.warning(
                "no resume offer for precinct %s: the database is unavailable (%s)",
                precinct_id,
                type(error).__name__,
            )
            return None
