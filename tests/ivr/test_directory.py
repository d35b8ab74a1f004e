"""The precinct directory: cached, refreshed, and never making a webhook wait for a reload."""

from __future__ import annotations

import threading
import time

from sqlalchemy.orm import Session, sessionmaker

from ivr.directory import DirectoryEntry, PrecinctDirectory
from ivr.hotline import Hotline
from tests.ivr.staff.support import add_precinct


class SlowReload(PrecinctDirectory):
    """A directory whose reloads (after the first) wait until the test lets them finish."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        super().__init__(sessions, max_age=0)
        self.reloading = threading.Event()
        self.finish = threading.Event()
        self.loads = 0

    def _load(self) -> dict[str, DirectoryEntry]:
        self.loads += 1
        if self.loads > 1:
            self.reloading.set()
            self.finish.wait(timeout=10)
        return super()._load()


def test_lookups_use_the_cached_copy_while_another_thread_reloads(hotline: Hotline) -> None:
    add_precinct(hotline, "100001", chair_phone="+15155550101")
    directory = SlowReload(hotline.sessions)
    assert directory.get("100001") is not None  # the first load is waited for
    add_precinct(hotline, "100002", name="2 ADAIR")

    reloader = threading.Thread(target=directory.get, args=("100001",))
    reloader.start()
    assert directory.reloading.wait(timeout=10)
    started = time.monotonic()
    entry = directory.get("100001")
    assert time.monotonic() - started < 0.5, "a lookup waited for the reload"
    assert entry is not None and directory.get("100002") is None  # the old copy
    assert directory.chair_phones() == frozenset({"+15155550101"})

    directory.finish.set()
    reloader.join(timeout=10)
    assert directory.get("100002") is not None  # the next lookup sees the new precinct
