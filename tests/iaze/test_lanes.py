"""The root conftest's lane rules, run for real in a child pytest on a scratch test tree.

With IAZE_REQUIRE_ALL_LANES=1 (as `.ci/run` sets) a missing server, a missing Chromium or
any other skip must fail the run; skips that only mean "another lane runs this" must not.
"""

import shutil
import subprocess
import sys

import pytest

from tests.iaze.helpers import ROOT, child_env

pytestmark = pytest.mark.slow

INI = """[pytest]
markers =
    postgresql: needs PostgreSQL
    browser: needs Chromium
"""
TESTS = {
    "plain": "def test_ok():\n    assert True\n",
    "skips": "import pytest\n\ndef test_skips():\n    pytest.skip('a fixture could not start')\n",
    "browser": "import pytest\n\n@pytest.mark.browser\ndef test_page():\n    assert True\n",
    "pg": "import pytest\n\n@pytest.mark.postgresql\ndef test_race():\n    assert True\n",
}


def run_lane(tmp_path, tests, lane="sqlite", require_all=True, **env):
    shutil.copy(ROOT / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "pytest.ini").write_text(INI)
    for name in tests:
        (tmp_path / f"test_{name}.py").write_text(TESTS[name])
    environment = child_env(tmp_path / "data", IAZE_TEST_LANE=lane, **env)
    environment.pop("IAZE_REQUIRE_ALL_LANES", None)  # the outer run's setting must not leak in
    if require_all:
        environment["IAZE_REQUIRE_ALL_LANES"] = "1"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:django", "-p", "no:cacheprovider", "-rs", str(tmp_path)],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result.returncode, result.stdout + result.stderr


def test_any_skip_fails_when_all_lanes_are_required(tmp_path):
    code, out = run_lane(tmp_path, ["plain", "skips"])
    assert code == 1, out
    assert "skipped while every lane is required" in out and "a fixture could not start" in out


def test_missing_chromium_fails_when_all_lanes_are_required(tmp_path):
    code, out = run_lane(tmp_path, ["plain", "browser"], CHROMIUM="")
    assert code == 1, out
    assert "Chromium is not installed" in out


def test_missing_chromium_is_a_reported_skip_otherwise(tmp_path):
    code, out = run_lane(tmp_path, ["plain", "browser"], require_all=False, CHROMIUM="")
    assert code == 0, out
    assert "SKIPPED" in out and "Chromium is not installed" in out


def test_unreachable_postgresql_fails_the_postgresql_lane(tmp_path):
    code, out = run_lane(
        tmp_path, ["plain", "pg"], lane="postgresql", DATABASE_URL="postgres://postgres@127.0.0.1:18398/iaze_nowhere"
    )
    assert code == 1, out
    assert "PostgreSQL is not reachable" in out


def test_tests_of_another_lane_are_not_a_missing_lane(tmp_path):
    code, out = run_lane(tmp_path, ["plain", "pg"])
    assert code == 0, out
    assert "runs in the postgresql lane" in out


def test_a_lane_that_collects_nothing_fails(tmp_path):
    code, out = run_lane(tmp_path, [])
    assert code == 1, out
    assert "collected no tests" in out
