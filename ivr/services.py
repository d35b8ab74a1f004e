"""The call flow's `Services`, backed by the precinct directory and Redis."""

from __future__ import annotations

from callflows.flow import PrecinctInfo
from callflows.state import Progress
from ivr.hotline import Hotline
from ivr.pins import pin_matches


class WebServices:
    """What the pure flow may ask of the outside world during a webhook request."""

    def __init__(self, hotline: Hotline) -> None:
        self._hotline = hotline

    def find_precinct(self, precinct_id: str) -> PrecinctInfo | None:
        entry = self._hotline.directory.get(precinct_id)
        return entry.info if entry else None

    def check_pin(self, precinct_id: str, pin: str) -> bool:
        entry = self._hotline.directory.get(precinct_id)
        stored = entry.pin_hmac if entry else None
        return pin_matches(self._hotline.settings.pin_key, precinct_id, pin, stored)

    def new_receipt(self) -> str:
        return self._hotline.store.new_receipt()

    def saved_progress(self, precinct_id: str) -> Progress | None:
        return self._hotline.store.load_progress(precinct_id)
