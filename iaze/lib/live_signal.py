"""A wake-up for the live updates' reader when a change is committed, through what the database offers.

The live reader (tickets.reads.live) reads the change record itself; this only tells it *when* to read,
so that a change reaches the open streams at once instead of at the next poll, and an idle process polls
rarely. Nothing is carried but the wake-up: a signal lost (a dropped connection, a restart between a
commit and its signal) costs latency only, since the reader still reads the record at its safety interval.

- PostgreSQL: `pg_notify` in the change's own transaction (`notify`), delivered at its commit, and a
  listening connection per process (`Listener`), outside Django's per-request connections.
- MongoDB: a change stream on the record's collection (an insert arrives on `watch()`). A real replica set
  answers it; a standalone server refuses it, and the reader then polls as on SQLite.
- SQLite: no signal; the embedded database is one machine's, and the reader polls it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from django.db import connections

log = logging.getLogger(__name__)

CHANNEL = "iaze_changes"
# How often the listening thread looks up from its wait to see whether it should stop (seconds).
LOOK_UP = 1.0


def vendor(alias: str = "default") -> str:
    return connections[alias].vendor


def notify(alias: str = "default") -> None:
    """Signal a change written on `alias` (in its transaction: delivered when it commits, never before)."""
    connection = connections[alias]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, '')", [CHANNEL])


class Listener:
    """One process's listening thread: calls `wake` for each signal until `stop()`."""

    _warned = False

    def __init__(self, wake: Callable[[], None], *, collection: str, alias: str = "default"):
        self.wake = wake
        self.collection = collection
        self.alias = alias
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._listening = False
        self._thread: threading.Thread | None = None

    def start(self) -> bool:
        """Start listening; True once signals will come, False where this database gives none."""
        if vendor(self.alias) not in ("postgresql", "mongodb"):
            return False
        self._thread = threading.Thread(target=self._run, name="iaze-live-signal", daemon=True)
        self._thread.start()
        self._ready.wait(30)  # bounded: a server that does not answer leaves the reader polling
        return self._listening

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=LOOK_UP * 5)

    @property
    def listening(self) -> bool:
        return self._listening and not self._stop.is_set()

    def _run(self) -> None:
        try:
            if vendor(self.alias) == "postgresql":
                self._listen_postgresql()
            else:
                self._watch_mongodb()
        except Exception:
            # Said once per process: the reader tries again every 30 s (a standalone mongod never answers).
            level = logging.DEBUG if Listener._warned else logging.WARNING
            Listener._warned = True
            log.log(level, "live updates: no database signal (%s); the reader polls instead", self.alias, exc_info=True)
        finally:
            self._listening = False
            self._ready.set()

    def _listen_postgresql(self) -> None:
        base = connections[self.alias]
        conn = base.get_new_connection(base.get_connection_params())
        try:
            conn.autocommit = True
            conn.execute(f"LISTEN {CHANNEL}")
            self._listening = True
            self._ready.set()
            while not self._stop.is_set():
                for _note in conn.notifies(timeout=LOOK_UP):
                    self.wake()
        finally:
            conn.close()

    def _watch_mongodb(self) -> None:
        database: Any = connections[self.alias].get_database()
        pipeline = [{"$match": {"operationType": "insert"}}]
        with database[self.collection].watch(pipeline, max_await_time_ms=int(LOOK_UP * 1000)) as stream:
            self._listening = True
            self._ready.set()
            while not self._stop.is_set() and stream.alive:
                if stream.try_next() is not None:
                    self.wake()
