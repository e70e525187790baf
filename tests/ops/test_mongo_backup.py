"""The MongoDB profile's backup and restore (see mongo_backup_check.py), run in a subprocess of its own."""

import os
import subprocess

from tests.ops.helpers import PY, ROOT


def test_backup_and_restore_work_on_the_mongodb_profile(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
    env.update(
        IAZE_TEST_LANE="mongodb-compat",
        MONGO_URL="mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=200",
        DATA_DIR=str(tmp_path),
        IAZE_REQUIRE_ALL_LANES="0",
    )
    r = subprocess.run(
        [PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/ops/mongo_backup_check.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0 and "1 passed" in r.stdout, r.stdout[-3000:] + r.stderr[-2000:]
