"""Test lanes. `make test` runs pytest once per lane, with IAZE_TEST_LANE set:

- sqlite: the whole suite on the embedded database (+ browser tests when Chromium is present)
- postgresql: the whole suite on a real PostgreSQL server (DATABASE_URL), incl. race tests
- mongodb: the MongoDB compatibility checks, which need no server (tests/mongo)

A lane whose server is missing is skipped with the reason; with IAZE_REQUIRE_ALL_LANES=1
(as `.ci/run` sets) a skipped lane or browser test is an error instead.
"""

import os
import shutil

import pytest

LANE = os.environ.get("IAZE_TEST_LANE", "sqlite")
REQUIRE_ALL = os.environ.get("IAZE_REQUIRE_ALL_LANES") == "1"

collect_ignore_glob = [] if LANE == "mongodb" else ["tests/mongo/*"]


def chromium_path():
    return os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def _postgres_unavailable() -> str | None:
    from django.conf import settings

    db = settings.DATABASES["default"]
    if "postgresql" not in db["ENGINE"]:
        return "the postgresql lane needs DATABASE_URL=postgres://… (make test sets it from TEST_DATABASE_URL)"
    try:
        import psycopg

        psycopg.connect(host=db.get("HOST") or "127.0.0.1", port=db.get("PORT") or 5432,
                        user=db.get("USER") or "postgres", password=db.get("PASSWORD") or None,
                        dbname="postgres", connect_timeout=3).close()
    except Exception as exc:  # noqa: BLE001 - any failure means the lane cannot run
        return f"PostgreSQL is not reachable: {exc}"
    return None


def pytest_collection_modifyitems(config, items):
    lane_problem = _postgres_unavailable() if LANE == "postgresql" else None
    browser = chromium_path()
    for item in items:
        reason = None
        if lane_problem:
            reason = lane_problem
        elif item.get_closest_marker("postgresql") and LANE != "postgresql":
            reason = "runs in the postgresql lane (a real server is needed for real races)"
            item.add_marker(pytest.mark.skip(reason=reason))
            continue  # by design, not a missing lane
        elif item.get_closest_marker("browser"):
            if LANE != "sqlite":
                item.add_marker(pytest.mark.skip(reason="browser tests run in the sqlite lane"))
                continue
            if not browser:
                reason = "Chromium is not installed (apt-get install chromium)"
        if reason:
            if REQUIRE_ALL:
                item.add_marker(pytest.mark.xfail(reason=f"LANE REQUIRED BUT UNAVAILABLE: {reason}", strict=True,
                                                  run=False))
                config._iaze_lane_missing = reason
            else:
                item.add_marker(pytest.mark.skip(reason=reason))


def pytest_sessionfinish(session, exitstatus):
    missing = getattr(session.config, "_iaze_lane_missing", None)
    if missing:
        print(f"\nERROR: a required test lane could not run: {missing}")
        session.exitstatus = 1
