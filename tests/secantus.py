"""A local SecantusDB (a MongoDB wire-protocol server) for the mongodb test lane.

A pytest plugin (pytest.ini: `-p tests.secantus`): with IAZE_TEST_LANE=mongodb and no MONGO_URL,
it starts `secantusd-py` on a free port with a fresh data folder, waits until it answers a ping,
and sets MONGO_URL, all before pytest-django reads the settings; the server stops when the run
ends. Run with pytest-xdist (`-n 2`), every worker starts a server of its own. A problem starting
it is reported by the root conftest as the lane's problem.

SecantusDB is GPL-2.0: it only ever runs as a separate process that the tests talk to over the
wire, exactly like a real MongoDB. Nothing here imports it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

START_TIMEOUT = 60.0


def _executable() -> str:
    """secantusd-py of this interpreter's environment first (the project venv), then PATH."""
    local = Path(sys.executable).with_name("secantusd-py")
    if local.exists():
        return str(local)
    found = shutil.which("secantusd-py")
    if not found:
        raise RuntimeError("secantusd-py is not installed: `make venv` installs it (requirements-dev.txt)")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    """Linux: the server gets SIGTERM when the process that started it dies, even by SIGKILL."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def ping(url: str, timeout: float = 2.0) -> bool:
    from pymongo import MongoClient
    from pymongo.errors import PyMongoError

    client = MongoClient(url, serverSelectionTimeoutMS=int(timeout * 1000), connectTimeoutMS=int(timeout * 1000))
    try:
        client.admin.command("ping")
        return True
    except PyMongoError:
        return False
    finally:
        client.close()


class Server:
    """One secantusd-py process on a free port with a fresh data folder, removed on stop()."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="iaze-secantus-"))
        self.port = _free_port()
        self.url = f"mongodb://127.0.0.1:{self.port}/?directConnection=true"
        self.log = self.dir / "server.log"
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [
                    _executable(),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--storage-path",
                    str(self.dir / "data"),
                    "--log-level",
                    "WARNING",
                ],
                cwd=self.dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while not ping(self.url, timeout=1.0):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                tail = self.log.read_text(errors="replace")[-2000:]
                self.stop()
                raise RuntimeError(
                    f"SecantusDB did not answer a ping on port {self.port} within {START_TIMEOUT:.0f} s:\n{tail}"
                )
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


def start() -> Server:
    """Start a server (one retry: the free port may be taken between the probe and the bind)."""
    try:
        return Server()
    except RuntimeError:
        return Server()


# --- the plugin ------------------------------------------------------------------------------

server: Server | None = None
problem: str | None = None
CLOSED_PORT_URL = "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=200"


# Set by a pytest-xdist controller: each worker starts a server of its own (one database server per
# process, so that the workers' flushes and fixtures never meet), and the controller starts none.
PER_WORKER = "IAZE_SECANTUS_PER_WORKER"


def _parallel(early_config) -> bool:
    workers = getattr(early_config.known_args_namespace, "numprocesses", None)
    return bool(workers) and workers != "0"


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    global server, problem
    if os.environ.get("IAZE_TEST_LANE") != "mongodb":
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker is None and not os.environ.get("MONGO_URL") and _parallel(early_config):
        os.environ[PER_WORKER] = "1"
        os.environ["MONGO_URL"] = CLOSED_PORT_URL  # the controller only collects and reports
        return
    if os.environ.get("MONGO_URL") and not (worker and os.environ.get(PER_WORKER)):
        return
    try:
        server = start()
        os.environ["MONGO_URL"] = server.url
    except Exception as exc:
        problem = f"SecantusDB could not start: {exc}"
        os.environ["MONGO_URL"] = CLOSED_PORT_URL  # the settings load; every test is then skipped


def pytest_unconfigure(config):
    global server
    if server is not None:
        server.stop()
        server = None
