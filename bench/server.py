"""gunicorn under test: start, wait until /healthz answers, read its workers' memory, stop."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench.config import ROOT


class Gunicorn:
    def __init__(self, *, env: dict, port: int, workers: int, worker_class: str, threads: int, log_path: Path):
        self.env, self.port, self.workers = env, port, workers
        self.worker_class, self.threads, self.log_path = worker_class, threads, log_path
        self.proc: subprocess.Popen | None = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self) -> None:
        cmd = [
            sys.executable,
            "-m",
            "gunicorn",
            "iaze.wsgi:application",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.workers),
            "--worker-class",
            self.worker_class,
            "--graceful-timeout",
            "10",
            "--timeout",
            "120",
            # The backlog must hold every connection the client opens at once.
            "--backlog",
            "512",
        ]
        if self.worker_class == "gthread":
            cmd += ["--threads", str(self.threads)]
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}; see {self.log_path}")
            if self._healthy() and len(self.worker_pids()) >= self.workers:
                return
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer /healthz within 60 s; see {self.log_path}")

    def _healthy(self) -> bool:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            conn.request("GET", "/healthz")
            ok = conn.getresponse().status == 200
            conn.close()
            return ok
        except OSError:
            return False

    def worker_pids(self) -> list[int]:
        if self.proc is None:
            return []
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        except OSError:
            return []
        return [int(pid) for pid in children]

    def worker_memory(self) -> dict:
        """Peak (VmHWM) and current (VmRSS) resident memory of each worker, in MiB."""
        out = {}
        for pid in self.worker_pids():
            status = _proc_status(pid)
            if status:
                out[pid] = {"peak_mib": status.get("VmHWM", 0) / 1024, "rss_mib": status.get("VmRSS", 0) / 1024}
        return out

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if getattr(self, "_log", None):
            self._log.close()


def _proc_status(pid: int) -> dict:
    """/proc/<pid>/status memory lines in KiB; empty when the process is gone."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    values = {}
    for line in lines:
        key, _, rest = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            values[key] = int(rest.split()[0])
    return values


def cpu_count() -> int:
    return len(os.sched_getaffinity(0))
