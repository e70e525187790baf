"""Running one Django-side step (bench.tasks) in its own process, with a profile's environment."""

from __future__ import annotations

import json
import subprocess
import sys

from bench.config import ROOT
from bench.tasks import RESULT_PREFIX


class TaskFailed(RuntimeError):
    pass


def task(env: dict, task_name: str, **kwargs):
    """Run `python -m bench.tasks task_name kwargs` and return its result; stderr (progress bars) passes through."""
    proc = subprocess.run(
        [sys.executable, "-m", "bench.tasks", task_name, json.dumps(kwargs)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX) and proc.returncode == 0:
            return json.loads(line[len(RESULT_PREFIX) :])
    raise TaskFailed(f"bench task {task_name} failed (exit {proc.returncode}): {proc.stdout[-2000:]}")
