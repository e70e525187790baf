"""The embedded SQLite's planner statistics, kept current the way SQLite advises: `PRAGMA optimize`.

SQLite has no autovacuum: a database nobody ANALYZEs has no statistics at all, and its planner then
rates every index by the same default guesses. IAZE's hot queries are written so that their plans do
not depend on statistics (tests/tickets/test_query_plans.py); the statistics serve everything else.

- Each connection, when it opens, runs `PRAGMA optimize=0x10002` (SQLite's advice for long-lived
  connections: analyse any table whose statistics are missing or far off, every table, not only those
  this connection used).
- The worker (`send_outbox --loop`) refreshes them at its start and then every STATISTICS_INTERVAL.
  From SQLite 3.46 that is the same `PRAGMA optimize=0x10002`. Older versions skip tables that were
  never analysed, and look only at the tables the connection itself used, so there the pass runs
  `ANALYZE` over every table instead.

Every analysis is bounded by `PRAGMA analysis_limit` (a sample of each index, not a full read: about
50 ms for 100,000 tickets and 1,000,000 messages). The PRAGMAs run on the driver's own connection,
outside Django's query log, so a page's query count stays what its queries are.
"""

from __future__ import annotations

import sqlite3
from typing import Any

# Rows sampled per index by an analysis.
ANALYSIS_LIMIT = 2000
# Seconds between two refreshes by the worker.
STATISTICS_INTERVAL = 3600.0
# From 3.46, `PRAGMA optimize` looks at every table with 0x10000 and analyses tables never analysed.
OPTIMIZE_SEES_EVERY_TABLE = sqlite3.sqlite_version_info >= (3, 46, 0)
OPTIMIZE = "PRAGMA optimize=0x10002"


def on_connection_created(sender: Any, connection: Any, **kwargs: Any) -> None:
    """`connection_created` receiver: a new SQLite connection brings the statistics up to date."""
    if connection.vendor == "sqlite":
        _run(connection.connection, OPTIMIZE)


def statistics_refresh(connection: Any) -> str:
    """The worker's periodic pass: what it ran ("optimize", "analyze"), or "" on another database."""
    if connection.vendor != "sqlite":
        return ""
    connection.ensure_connection()
    if OPTIMIZE_SEES_EVERY_TABLE:
        _run(connection.connection, OPTIMIZE)
        return "optimize"
    _run(connection.connection, "ANALYZE")
    return "analyze"


def has_statistics(connection: Any) -> bool:
    """Whether any table of the database has been analysed (sqlite_stat1 holds a row)."""
    connection.ensure_connection()
    raw = connection.connection
    if not raw.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone():
        return False
    return raw.execute("SELECT 1 FROM sqlite_stat1 LIMIT 1").fetchone() is not None


def _run(raw: Any, statement: str) -> None:
    raw.execute(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}")
    raw.execute(statement)
