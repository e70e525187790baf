"""Run the project in a child process with a controlled environment (settings are read once per process)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROFILE_VARS = (
    "MONGO_URL",
    "MONGO_DB_NAME",
    "DATABASE_URL",
    "SECRET_KEY",
    "DEBUG",
    "DATA_DIR",
    "IAZE_TEST_LANE",
    "DJANGO_SETTINGS_MODULE",
)


def child_env(data_dir, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in PROFILE_VARS}
    env.update(DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="iaze.settings", PYTHONPATH=str(ROOT))
    env.setdefault("IAZE_ALLOW_PRIVATE_PROVIDER_HOSTS", "1")  # the fake providers listen on 127.0.0.1
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run(args, data_dir, timeout=120, **extra) -> subprocess.CompletedProcess:
    return subprocess.run(
        args, cwd=ROOT, env=child_env(data_dir, **extra), capture_output=True, text=True, timeout=timeout
    )


def manage(*args, data_dir, **extra) -> subprocess.CompletedProcess:
    return run([sys.executable, "manage.py", *args], data_dir, **extra)


def settings_value(expr: str, data_dir, **extra) -> str:
    code = f"import django; django.setup(); from django.conf import settings; print({expr})"
    result = run([sys.executable, "-c", code], data_dir, **extra)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()
