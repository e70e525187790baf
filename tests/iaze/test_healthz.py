"""GET /healthz: 200 with the database answering, 503 when it cannot be reached."""

import copy

import pytest
from django.db import connections


def test_healthz_ok(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok", "database": "ok"}
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_healthz_refuses_post(client, db):
    assert client.post("/healthz").status_code == 405


@pytest.fixture
def unreachable_database(django_db_blocker, tmp_path):
    """Swap the default connection for one to where no database answers, for real (no mocks).

    A fresh wrapper, so the test database (in-memory on SQLite) is left untouched.
    """
    original = connections["default"]
    broken_settings = copy.deepcopy(original.settings_dict)
    pools = getattr(type(original), "_connection_pools", None)  # MongoDB: one client per alias, shared
    pool = pools.pop("default", None) if pools is not None else None
    if original.vendor == "sqlite":
        # A database file inside a directory that does not exist cannot be opened.
        broken_settings["NAME"] = str(tmp_path / "missing-dir" / "iaze.sqlite3")
    elif original.vendor == "postgresql":
        broken_settings.update(HOST="127.0.0.1", PORT="18399")  # nothing listens there
        broken_settings.setdefault("OPTIONS", {})["connect_timeout"] = 2
    elif original.vendor == "mongodb":
        broken_settings["HOST"] = "mongodb://127.0.0.1:18399/?directConnection=true"  # nothing listens there
        broken_settings.setdefault("OPTIONS", {}).update(serverSelectionTimeoutMS=2000, connectTimeoutMS=2000)
    else:
        pytest.fail(f"no unreachable-database recipe for {original.vendor}")
    broken = type(original)(broken_settings, alias="default")
    connections["default"] = broken
    with django_db_blocker.unblock():
        try:
            yield
        finally:
            if pools is not None:
                if broken.connection is not None:
                    broken.close_pool()
                if pool is not None:
                    pools["default"] = pool
            else:
                broken.close()
            connections["default"] = original


def test_healthz_503_when_database_unreachable(client, unreachable_database, caplog):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "error"
    assert response.json()["database"] == "unreachable"
    # It failed because the database could not be reached, not for any other reason.
    assert any("database unreachable" in r.getMessage() for r in caplog.records)
