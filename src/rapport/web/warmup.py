"""The snapshot reports the pages keep, computed as soon as a new score snapshot appears.

The scoring run computes the reports the pages ask for first right after it writes a
snapshot and keeps them in the store (:mod:`rapport.reports.prepared`); each server
process still keeps its own copies in memory (:mod:`rapport.reports.snapshot_cache`), and
a customer's change makes every kept report stale. A :class:`Warmer` per server process
fills its memory first: every :data:`INTERVAL` seconds a thread reads the store's state as
the kept reports' keys hold it (:func:`rapport.reports.snapshot_cache.state`: the latest
snapshot's date and ``computed_at``, the customers' highest id and latest ``updated_at``,
each one step down an index) and, when it moved, asks for those reports
(:func:`rapport.reports.prepared.prepare`) for every kind of scope that shares them
(:func:`rapport.reports.prepared.principals`) — read from the store when the scoring run
or another process computed them, else computed and kept there for the others. A service
agent's reports are never kept, so never warmed.

The thread starts with the first page a user opens (so an API-only process never runs one),
runs while pages are asked for, and stops after :data:`IDLE_SECONDS` without any (the next
page starts it again).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Hashable
from typing import Any

from rapport.reports import prepared
from rapport.reports import snapshot_cache as kept

log = logging.getLogger(__name__)

#: Seconds between two looks at the store's state.
INTERVAL = 5.0
#: Seconds without a page after which the thread stops.
IDLE_SECONDS = 900.0


class Warmer:
    """The thread of one server (``app``) warming its kept reports (see the module)."""

    def __init__(self, app: Any, *, interval: float = INTERVAL) -> None:
        self.app = app
        self.interval = interval
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._seen = time.monotonic()
        self._warmed: tuple[Hashable, ...] | None = None

    def asked(self) -> None:
        """A page was asked for: start the thread unless it runs."""
        self._seen = time.monotonic()
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(target=self._run, name="rapport-warm", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while time.monotonic() - self._seen < IDLE_SECONDS:
            try:
                self.once()
            except Exception:  # the store away for a moment: the pages compute as before
                log.warning("warming the kept snapshot reports failed", exc_info=True)
            time.sleep(self.interval)

    def once(self) -> bool:
        """Warm the reports if the store's state moved since the last time; whether it did."""
        state = self.app.state
        with state.sessions() as session:
            now = kept.state(session, prepared.latest_snapshot(session), None)
            if now is None or now == self._warmed:
                return False
        prepared.prepare_store(state.sessions, rules=state.rules)
        self._warmed = now
        return True


__all__ = ["INTERVAL", "Warmer"]
