"""The mongodb lane's flush between tests, narrowed to the collections this process wrote to.

The MongoDB test server has no transactions, so Django cannot roll a test back: after every test it flushes
the test database and sends post_migrate, as after a migrate from scratch. On django-mongodb-backend that is
an options query and a delete for each of ~40 collections, then ~35 reads and ~16 inserts to put the content
types and permissions back: about a third of the lane's round trips to a wire-protocol server written in
Python, whatever the test touched.

A pymongo command listener notes the collection every write of this process names; the flush empties just
those, and when neither the content types nor the permissions were among them, post_migrate is not sent
(they are still there, and the plain-twin indexes are never dropped by a flush). A collection nobody wrote
to since the last flush is still empty, so each test starts from the same database as before.

What a listener here cannot see makes the flush a whole one, as before: any command this file does not
know to be harmless, a fork, and every flush while a process that this one started is alive or since it
was started (a server a fixture keeps for a module's tests writes to the same database unseen).
IAZE_FLUSH_ALL=1 turns all of this off.
"""

from __future__ import annotations

import os
import subprocess
import threading
import weakref

from pymongo import monitoring

# Commands that name the one collection whose documents they change.
WRITES = frozenset({"insert", "update", "delete", "findAndModify"})
# Commands that leave no document behind (reads, cursors, indexes, sessions, handshakes; a drop empties).
HARMLESS = frozenset(
    {
        "find",
        "getMore",
        "killCursors",
        "count",
        "distinct",
        "listCollections",
        "listIndexes",
        "listDatabases",
        "ping",
        "hello",
        "isMaster",
        "ismaster",
        "buildInfo",
        "buildinfo",
        "endSessions",
        "explain",
        "dbStats",
        "collStats",
        "serverStatus",
        "saslStart",
        "saslContinue",
        "createIndexes",
        "dropIndexes",
        "create",
        "drop",
        "dropDatabase",
        "connectionStatus",
        "getParameter",
        "abortTransaction",
    }
)
# What post_migrate puts back after a flush that emptied them.
REBUILT = frozenset({"django_content_type", "auth_permission"})


class Written(monitoring.CommandListener):
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.names: set[tuple[str, str]] = set()
        self.everything = True  # nothing is known before the first whole flush
        self.quiet = threading.local()  # the flush's own deletes
        self.children: weakref.WeakSet[subprocess.Popen] = weakref.WeakSet()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if getattr(self.quiet, "on", False):
            return
        name = event.command_name
        if name in WRITES and isinstance(event.command.get(name), str):
            with self.lock:
                self.names.add((event.database_name, event.command[name]))
        elif name == "aggregate":
            stages = event.command.get("pipeline") or []
            if any("$out" in stage or "$merge" in stage for stage in stages):
                self.all()
        elif name not in HARMLESS:
            self.all()

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    def all(self) -> None:
        with self.lock:
            self.everything = True

    def take(self, database: str) -> set[str] | None:
        """The collections of `database` to empty (None: all of them), forgotten from here on."""
        alive = any(child.poll() is None for child in list(self.children))
        with self.lock:
            everything, names = self.everything or alive, self.names
            self.everything, self.names = alive, set()
        return None if everything else {coll for db, coll in names if db == database}


written = Written()
# Whether the flush that just ran left the content types and permissions in place.
_kept = threading.local()


def install() -> None:
    """Before the first MongoClient: a listener applies to the clients made after it is registered."""
    from django.core.management.commands import flush
    from django_mongodb_backend.operations import DatabaseOperations

    monitoring.register(written)
    whole = DatabaseOperations.execute_sql_flush
    emit = flush.emit_post_migrate_signal

    def execute_sql_flush(self, tables):
        wanted = written.take(self.connection.database.name)
        _kept.on = wanted is not None and not wanted & REBUILT
        written.quiet.on = True
        try:
            return whole(self, tables if wanted is None else [t for t in tables if t in wanted])
        finally:
            written.quiet.on = False

    def emit_post_migrate_signal(*args, **kwargs):
        if getattr(_kept, "on", False):
            return
        written.quiet.on = True  # what it writes is the state every test starts from, not a test's write
        try:
            emit(*args, **kwargs)
        finally:
            written.quiet.on = False

    DatabaseOperations.execute_sql_flush = execute_sql_flush
    flush.emit_post_migrate_signal = emit_post_migrate_signal

    popen_init = subprocess.Popen.__init__

    def init(self, *args, **kwargs):
        written.all()  # another process may write where this listener cannot see
        popen_init(self, *args, **kwargs)
        written.children.add(self)

    subprocess.Popen.__init__ = init
    os.register_at_fork(before=written.all)  # a forked child is not followed: one whole flush after it
