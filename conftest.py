"""Test lanes. `make test` runs pytest once per lane, with IAZE_TEST_LANE set:

- sqlite: the whole suite on the embedded database (+ browser tests when Chromium is present)
- postgresql: the whole suite on a real PostgreSQL server (DATABASE_URL), incl. race tests
- mongodb: the whole suite on a real MongoDB wire-protocol server, incl. race tests: MONGO_URL,
  or else a SecantusDB (`secantusd-py`, a separate process) that this run starts and stops
  (tests/secantus.py, a plugin pytest.ini loads: it must run before Django reads the settings)
- mongodb-compat: the MongoDB compatibility checks, which need no server (tests/mongo)

A lane whose server is missing is skipped with the reason; with IAZE_REQUIRE_ALL_LANES=1
(as `.ci/run` sets) a skipped lane or browser test is an error instead.
"""

import os
import shutil

import pytest

LANE = os.environ.get("IAZE_TEST_LANE", "sqlite")
REQUIRE_ALL = os.environ.get("IAZE_REQUIRE_ALL_LANES") == "1"

collect_ignore_glob = [] if LANE == "mongodb-compat" else ["tests/mongo/*"]
# Skip reasons that mean "this test belongs to another lane", never "this lane is missing".
BY_DESIGN = "by design: "
# Lanes with a real database server: they run the race and crash tests (marker `realserver`).
REAL_SERVER_LANES = ("postgresql", "mongodb")


def chromium_path():
    """CHROMIUM, when set, is the only candidate (CHROMIUM= simulates a machine without one)."""
    if "CHROMIUM" in os.environ:
        path = os.environ["CHROMIUM"]
        return path if path and os.access(path, os.X_OK) else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _postgres_unavailable() -> str | None:
    from django.conf import settings

    db = settings.DATABASES["default"]
    if "postgresql" not in db["ENGINE"]:
        return "the postgresql lane needs DATABASE_URL=postgres://… (make test sets it from TEST_DATABASE_URL)"
    try:
        import psycopg

        psycopg.connect(
            host=db.get("HOST") or "127.0.0.1",
            port=db.get("PORT") or 5432,
            user=db.get("USER") or "postgres",
            password=db.get("PASSWORD") or None,
            dbname="postgres",
            connect_timeout=3,
        ).close()
    except Exception as exc:  # noqa: BLE001 - any failure means the lane cannot run
        return f"PostgreSQL is not reachable: {exc}"
    return None


def _mongodb_unavailable() -> str | None:
    from django.conf import settings

    from tests import secantus  # the plugin (pytest.ini) that starts the lane's server

    if secantus.problem:
        return secantus.problem
    if settings.DB_PROFILE != "mongodb":
        return "the mongodb lane needs the MongoDB profile (MONGO_URL, and no DATABASE_URL)"
    if not secantus.ping(settings.DATABASES["default"]["HOST"], timeout=5.0):
        return f"MongoDB is not reachable at {settings.DATABASES['default']['HOST']}"
    return None


def pytest_configure(config):
    if LANE == "mongodb" and os.environ.get("IAZE_FLUSH_ALL") != "1":
        from tests.support import flush_written  # the flush between tests, narrowed to what was written

        flush_written.install()


def pytest_collection_modifyitems(config, items):
    lane_problem = {"postgresql": _postgres_unavailable, "mongodb": _mongodb_unavailable}.get(LANE, lambda: None)()
    browser = chromium_path()
    for item in items:
        reason = None
        if lane_problem:
            reason = lane_problem
        elif item.get_closest_marker("postgresql") and LANE != "postgresql":
            reason = BY_DESIGN + "runs in the postgresql lane (a real server is needed for real races)"
            item.add_marker(pytest.mark.skip(reason=reason))
            continue  # not a missing lane
        elif item.get_closest_marker("mongodb") and LANE != "mongodb":
            reason = BY_DESIGN + "runs in the mongodb lane (a real MongoDB server)"
            item.add_marker(pytest.mark.skip(reason=reason))
            continue
        elif item.get_closest_marker("realserver") and LANE not in REAL_SERVER_LANES:
            reason = BY_DESIGN + "runs in the postgresql and mongodb lanes (real servers, real races)"
            item.add_marker(pytest.mark.skip(reason=reason))
            continue
        elif item.get_closest_marker("sql") and LANE in ("mongodb", "mongodb-compat"):
            reason = BY_DESIGN + "SQL profiles only: " + item.get_closest_marker("sql").args[0]
            item.add_marker(pytest.mark.skip(reason=reason))
            continue
        elif item.get_closest_marker("mongo_difference") and LANE == "mongodb":
            # Runs, and must fail: a server that gets it right shows up as XPASS(strict), a failure.
            reason = "known MongoDB test server difference: " + item.get_closest_marker("mongo_difference").args[0]
            item.add_marker(pytest.mark.xfail(reason=reason, strict=True))
            continue
        elif item.get_closest_marker("browser"):
            if LANE != "sqlite":
                item.add_marker(pytest.mark.skip(reason=BY_DESIGN + "browser tests run in the sqlite lane"))
                continue
            if not browser:
                reason = "Chromium is not installed (apt-get install chromium)"
        if reason:
            if REQUIRE_ALL:
                item.add_marker(
                    pytest.mark.xfail(reason=f"LANE REQUIRED BUT UNAVAILABLE: {reason}", strict=True, run=False)
                )
                config._iaze_lane_missing = reason
            else:
                item.add_marker(pytest.mark.skip(reason=reason))


_unexpected_skips: list[str] = []


_lanes_missing: list[str] = []


def pytest_runtest_logreport(report):
    """With every lane required, any skip that is not by design (a fixture's or a test's own
    pytest.skip, an importorskip, a skip marker) counts as a lane that did not run. Seen from the
    reports, so that a pytest-xdist controller, which collects nothing itself, counts them too."""
    if not REQUIRE_ALL or not report.skipped:
        return
    if hasattr(report, "wasxfail"):
        if "LANE REQUIRED BUT UNAVAILABLE" in report.wasxfail:
            _lanes_missing.append(report.wasxfail)
        return
    reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    if BY_DESIGN not in reason:
        _unexpected_skips.append(f"{report.nodeid}: {reason}")


def pytest_sessionfinish(session, exitstatus):
    missing = getattr(session.config, "_iaze_lane_missing", None) or next(iter(_lanes_missing), None)
    if missing:
        print(f"\nERROR: a required test lane could not run: {missing}")
        session.exitstatus = 1
    if _unexpected_skips:
        print(f"\nERROR: {len(_unexpected_skips)} test(s) skipped while every lane is required:")
        for line in _unexpected_skips[:20]:
            print(f"  {line}")
        session.exitstatus = 1
    if REQUIRE_ALL and exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        print(f"\nERROR: the {LANE} lane collected no tests")
        session.exitstatus = 1
