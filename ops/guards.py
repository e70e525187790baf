"""Guards against commands that would lose protected data outside a test database."""

from __future__ import annotations

from django.db import connections


def is_test_database(alias: str) -> bool:
    conn = connections[alias]
    name = str(conn.settings_dict.get("NAME") or "")
    test_name = str((conn.settings_dict.get("TEST") or {}).get("NAME") or "")
    return name.startswith("test_") or (test_name and name == test_name) or name == ":memory:" or "mode=memory" in name
