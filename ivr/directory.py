"""The precinct directory the call path reads: loaded from the database, cached in memory.

Calls must not wait on the database, so the web tier keeps every precinct in memory and
reloads at most every few seconds; if a reload fails it keeps serving what it has.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from callflows.flow import PrecinctInfo
from models import Precinct

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DirectoryEntry:
    info: PrecinctInfo
    pin_hmac: str | None

    @property
    def chair_phone(self) -> str:
        """The chair's registered phone (E.164), "" if none: the flow's own copy."""
        return self.info.chair_phone


class PrecinctDirectory:
    """Precincts by ID, refreshed from the database every `max_age` seconds."""

    def __init__(self, sessions: sessionmaker[Session], max_age: float = 30.0) -> None:
        self._sessions = sessions
        self._max_age = max_age
        self._entries: dict[str, DirectoryEntry] = {}
        self._chair_phones: frozenset[str] = frozenset()
        self._by_phone: dict[str, tuple[str, ...]] = {}
        self._loaded_at = float("-inf")
        self._lock = threading.Lock()

    def get(self, precinct_id: str) -> DirectoryEntry | None:
        self._refresh_if_stale()
        return self._entries.get(precinct_id)

    def chair_phones(self) -> frozenset[str]:
        """Every precinct chair's registered phone (E.164)."""
        self._refresh_if_stale()
        return self._chair_phones

    def precincts_of_phone(self, phone: str) -> tuple[str, ...]:
        """The precincts whose registered chair phone is `phone` (E.164), by ID."""
        self._refresh_if_stale()
        return self._by_phone.get(phone, ()) if phone else ()

    def invalidate(self) -> None:
        self._loaded_at = float("-inf")

    def warm(self) -> bool:
        """Load now if the database answers (at start-up: a web worker that meets a database
        outage before its first call then still has the precincts). Whether it loaded."""
        try:
            self._refresh_if_stale()
        except Exception as error:
            log.info("precinct directory not loaded at start (%s)", type(error).__name__)
            return False
        return True

    def _refresh_if_stale(self) -> None:
        if time.monotonic() - self._loaded_at < self._max_age:
            return
        # One thread reloads; the others go on with the copy they have rather than wait for
        # it (only the very first load, with nothing to serve yet, is waited for).
        if not self._lock.acquire(blocking=not self._entries):
            return
        try:
            if time.monotonic() - self._loaded_at < self._max_age:
                return
            try:
                entries = self._load()
                by_phone: dict[str, list[str]] = {}
                for precinct_id, entry in sorted(entries.items()):
                    if entry.chair_phone:
                        by_phone.setdefault(entry.chair_phone, []).append(precinct_id)
                self._chair_phones = frozenset(by_phone)
                self._by_phone = {phone: tuple(ids) for phone, ids in by_phone.items()}
                self._entries = entries
            except Exception as error:
                if not self._entries:
                    raise
                # One line per failed reload (at most one per max_age), not a traceback:
                # with the database down, every reload fails the same way.
                log.warning(
                    "precinct directory reload failed (%s); serving the cached copy",
                    type(error).__name__,
                )
            self._loaded_at = time.monotonic()
        finally:
            self._lock.release()

    def _load(self) -> dict[str, DirectoryEntry]:
        with self._sessions() as session:
            rows = session.scalars(select(Precinct)).all()
            return {row.precinct_id: _entry(row) for row in rows}


def _entry(row: Precinct) -> DirectoryEntry:
    info = PrecinctInfo(
        precinct_id=row.precinct_id,
        name=row.name,
        county=row.county,
        delegates_to_elect=row.delegates_to_elect,
        is_satellite=row.is_satellite,
        chair_phone=row.chair_phone,
        language=row.language,
        spoken_name=row.spoken_name,
    )
    return DirectoryEntry(info=info, pin_hmac=row.pin_hmac)
