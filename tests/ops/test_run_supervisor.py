"""`make run`'s supervisor, scripts/run.sh, as real processes (gunicorn, the outbox worker, SIGKILL, deploy).

A pid file can outlive its process (a crash, a reboot, a container restart with the data folder on a
persistent disk) and name a PID that is a zombie not yet reaped or someone else's process: it must never
block a start nor make `make run` or `make deploy` signal that process. A crash and an immediate restart
must always come back; a server that cannot start must be said, with a non-zero exit. Every wait polls
with a deadline. The supervisor does not depend on the database profile: these run in the sqlite lane.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.ops.helpers import LANE, ROOT, Scratch, wait_healthy

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(LANE != "sqlite", reason="by design: scripts/run.sh is the same on every profile (sqlite lane)"),
]
STOP_CONTRACT = 20.0  # seconds `make run` has to stop on SIGTERM


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"{what}: not within {timeout}s"
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    """Running and not a zombie (kill -0 succeeds on a zombie)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


class Run:
    """scripts/run.sh as `make run` starts it (PY, HOST, PORT, DATA_DIR), each start in a process group
    of its own, its output appended to a log file."""

    def __init__(self, tmp: Path, **env):
        self.db = Scratch(tmp, "sqlite")
        self.port = _port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tmp / f"run-{self.port}.log"
        self.env = {
            **self.db.env,
            "PY": sys.executable,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "WEB_CONCURRENCY": "2",
            **env,
        }
        self.procs: list[subprocess.Popen] = []

    @property
    def run_dir(self) -> Path:
        return self.db.data_dir / "run"

    def start(self) -> subprocess.Popen:
        with self.log.open("ab") as log:
            proc = subprocess.Popen(
                ["bash", "scripts/run.sh"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.procs.append(proc)
        return proc

    def healthy(self, proc: subprocess.Popen, timeout: float = 90) -> None:
        try:
            wait_healthy(self.base, timeout, proc)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- run.sh log ---\n{self.output()[-4000:]}") from None

    def pid(self, name: str) -> int:
        return int((self.run_dir / f"{name}.pid").read_text())

    def sigterm(self, proc: subprocess.Popen) -> tuple[int, float]:
        """SIGTERM to run.sh, as `make run`'s Ctrl-C or a service manager sends it: (exit status, seconds)."""
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(STOP_CONTRACT + 10)
        return code, time.monotonic() - t0

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def deploy(self, **env) -> subprocess.CompletedProcess:
        env = {
            **self.db.env,
            "PY": sys.executable,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "RESTART": "auto",
            "HEALTH_TIMEOUT": "60",
            "DEPLOY_BACKUP": "0",
            "DEPLOY_COLLECTSTATIC": "0",
            **env,
        }
        return subprocess.run(
            ["bash", "scripts/deploy.sh"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
        )

    def kill_all(self) -> None:
        for proc in self.procs:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(30)


@pytest.fixture
def stranger():
    """A live process that is not ours, in this checkout's directory: `sleep 300`."""
    proc = subprocess.Popen(["sleep", "300"], cwd=ROOT)
    yield proc
    proc.kill()
    proc.wait(10)


@pytest.fixture
def other_checkout(tmp_path):
    """A live 'gunicorn iaze.wsgi' of another checkout (its command line says so; its directory is not ours)."""
    code = "import time; time.sleep(300)"
    proc = subprocess.Popen([sys.executable, "-c", code, "gunicorn", "iaze.wsgi:application"], cwd=tmp_path)
    yield proc
    proc.kill()
    proc.wait(10)


def test_stale_pid_files_naming_other_processes_block_nothing_and_are_never_signalled(
    tmp_path, stranger, other_checkout
):
    run = Run(tmp_path)
    run.run_dir.mkdir()
    data = run.db.data_dir
    # Where this version keeps them, and where older versions kept theirs (DATA_DIR itself).
    for path, pid in [
        (run.run_dir / "run.pid", stranger.pid),
        (run.run_dir / "gunicorn.pid", other_checkout.pid),
        (run.run_dir / "worker.pid", stranger.pid),
        (data / "run.pid", stranger.pid),
        (data / "gunicorn.pid", other_checkout.pid),
    ]:
        path.write_text(f"{pid}\n")
    proc = run.start()
    try:
        t0 = time.monotonic()
        run.healthy(proc)
        started = time.monotonic() - t0
        assert run.pid("run") == proc.pid and os.getpgid(run.pid("gunicorn")) == proc.pid
        assert os.getpgid(run.pid("worker")) == proc.pid
        assert not (data / "run.pid").exists() and not (data / "gunicorn.pid").exists()  # stale: forgotten

        # `make deploy` reloads this tree through the new pid file and reports the outbox worker's stop.
        worker = run.pid("worker")
        deployed = run.deploy()
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        assert "DEPLOY OK" in deployed.stdout and "WARNING" not in deployed.stdout + deployed.stderr
        assert "reload: the outbox worker" in deployed.stdout and "stopped after SIGTERM" in deployed.stdout
        assert not _alive(worker) and run.pid("worker") != worker  # restarted on the new code
        assert os.getpgid(run.pid("worker")) == proc.pid

        code, stop_seconds = run.sigterm(proc)
        assert code == 0 and stop_seconds < STOP_CONTRACT, (code, stop_seconds, run.output()[-3000:])
        assert not any(run.run_dir.glob("*.pid")), list(run.run_dir.iterdir())
    finally:
        run.kill_all()
    assert stranger.poll() is None and other_checkout.poll() is None, "a process that is not ours was signalled"

    # With the app stopped and every pid file naming someone else, `make deploy` refuses to restart and
    # signals nothing.
    for path, pid in [
        (run.run_dir / "run.pid", stranger.pid),
        (run.run_dir / "gunicorn.pid", other_checkout.pid),
        (data / "run.pid", stranger.pid),
        (data / "gunicorn.pid", other_checkout.pid),
    ]:
        path.write_text(f"{pid}\n")
    refused = run.deploy()
    assert refused.returncode != 0 and "DEPLOY FAILED at: restart" in refused.stderr, refused.stderr
    assert stranger.poll() is None and other_checkout.poll() is None, "make deploy signalled a stranger"
    print(f"\nstale pid files: started in {started:.1f}s, stopped on SIGTERM in {stop_seconds:.1f}s")


# A parent that never reaps, like a container's init without --init: a child subreaper, so that the
# processes of a killed run.sh (the gunicorn master, the outbox worker) become its children and stay
# zombies — as in the crash this reproduces, where the next start met the old master not yet reaped.
NO_REAPER = """
import ctypes, subprocess, sys
ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
started = []  # kept, never waited for: a Popen that is collected would reap its process
for line in sys.stdin:
    log = open(line.strip(), "ab")
    started.append(subprocess.Popen(["bash", "scripts/run.sh"], stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True))
    print(started[-1].pid, flush=True)
"""


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def test_twenty_crashes_each_followed_at_once_by_a_start_that_serves(tmp_path):
    """Every process of the tree SIGKILLed, `make run` started again at once with the killed processes not
    reaped (zombies, their PIDs still taken) and their pid files left behind — twenty times in a row;
    every start serves /healthz, from its own gunicorn."""
    run = Run(tmp_path)
    parent = subprocess.Popen(
        [sys.executable, "-c", NO_REAPER],
        cwd=ROOT,
        env=run.env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    started: list[int] = []

    def start() -> int:
        parent.stdin.write(f"{run.log}\n")
        parent.stdin.flush()
        started.append(int(parent.stdout.readline()))
        return started[-1]

    def healthy(pid: int) -> None:
        deadline = time.monotonic() + 90
        while True:
            assert _alive(pid), f"run.sh {pid} exited before serving:\n{run.output()[-4000:]}"
            try:
                wait_healthy(run.base, 0.5)
                return
            except AssertionError:
                assert time.monotonic() < deadline, f"no /healthz within 90s:\n{run.output()[-4000:]}"

    times, zombies = [], 0
    try:
        pid = start()
        healthy(pid)
        for i in range(20):
            master = run.pid("gunicorn")
            os.killpg(pid, signal.SIGKILL)  # run.sh, the gunicorn master and workers, the outbox worker
            t0, killed = time.monotonic(), pid
            pid = start()  # at once
            healthy(pid)
            times.append(time.monotonic() - t0)
            assert os.getpgid(run.pid("gunicorn")) == pid, f"start {i + 1}: /healthz from another gunicorn"
            # The killed run.sh is never reaped (its parent does not): its PID in run.pid is a zombie. The
            # killed master too, unless its run.sh reaped it in the instant before dying itself.
            assert _state(killed) == "Z"
            zombies += _state(master) == "Z"
        os.kill(pid, signal.SIGTERM)
        t0 = time.monotonic()
        _wait(lambda: not _alive(pid), STOP_CONTRACT, "make run stops on SIGTERM")
        stop_seconds = time.monotonic() - t0
    finally:
        for pid in started:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        parent.stdin.close()
        parent.wait(30)  # its zombies go to init, which reaps them
    out = run.output()
    # gunicorn's master says "[ERROR] Worker (pid:N) was sent SIGTERM!" when the stop reaches a uvicorn worker
    # still booting, before its own handler is set: a worker that had served nothing, stopped as asked.
    errors = [line for line in out.splitlines() if "ERROR" in line and "was sent SIGTERM!" not in line]
    assert out.count("IAZE on http://") == 21 and errors == []
    print(
        f"\n20 crash-restarts: each served /healthz in {min(times):.1f}-{max(times):.1f}s "
        f"(total {sum(times):.0f}s); the killed gunicorn master was still an unreaped zombie at {zombies} of "
        f"them; final SIGTERM stop in {stop_seconds:.1f}s"
    )


def test_a_live_run_is_never_doubled_and_what_outlived_a_killed_supervisor_is_replaced(tmp_path):
    run = Run(tmp_path)
    first = run.start()
    try:
        run.healthy(first)
        # A second `make run` on the same runtime files while the first lives: refused, the first untouched.
        second = run.start()
        assert second.wait(60) == 1
        assert f"already running: {run.run_dir / 'run.pid'} names pid {first.pid}" in run.output()
        assert run.pid("run") == first.pid and first.poll() is None
        # Only the supervisor dies (SIGKILL, OOM): its gunicorn and outbox worker live on, orphaned.
        web, worker = run.pid("gunicorn"), run.pid("worker")
        first.kill()
        first.wait(10)
        assert _alive(web) and _alive(worker)
        third = run.start()
        _wait(lambda: not _alive(web) and not _alive(worker), 30, "the orphans stopped")
        run.healthy(third)
        assert os.getpgid(run.pid("gunicorn")) == third.pid
        assert f"the gunicorn of an earlier run (pid {web}) outlived its supervisor" in run.output()
        code, _ = run.sigterm(third)
        assert code == 0
    finally:
        run.kill_all()


def test_a_server_that_cannot_start_is_said_with_a_nonzero_exit(tmp_path):
    run = Run(tmp_path)
    with socket.socket() as taken:  # another program listens on the port
        taken.bind(("127.0.0.1", run.port))
        taken.listen()
        proc = run.start()
        try:
            code = proc.wait(120)  # migrate, then gunicorn's five bind attempts a second apart
        finally:
            run.kill_all()
    out = run.output()
    assert code != 0, out[-3000:]
    assert "ERROR: gunicorn" in out and f"port {run.port}" in out, out[-3000:]
    assert not any(run.run_dir.glob("*.pid"))
    # Nothing of it is left behind: the outbox worker was stopped with it.
    worker = int(out.split("outbox worker pid ", 1)[1].split(")", 1)[0])
    assert not _alive(worker)


def test_deploy_says_when_the_outbox_worker_had_to_be_killed(tmp_path):
    """An outbox worker that ignores SIGTERM: the reload SIGKILLs it after STOP_TIMEOUT, `make deploy` says
    so as a warning and still succeeds; a stop of `make run` kills it too, within the contract."""
    fake = tmp_path / "python"
    fake.write_text(
        "#!/bin/bash\n"
        "# python, except that the outbox worker ignores SIGTERM (stuck past its bound)\n"
        'if [ "$1 $2" = "manage.py worker" ]; then\n'
        f'  exec {sys.executable} -c "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); '
        'time.sleep(600)" "$@"\n'
        "fi\n"
        f'exec {sys.executable} "$@"\n'
    )
    fake.chmod(0o755)
    run = Run(tmp_path, PY=str(fake), STOP_TIMEOUT="2")
    proc = run.start()
    try:
        run.healthy(proc)
        stuck = run.pid("worker")
        deployed = run.deploy()
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        assert "WARNING: forced stop: the outbox worker" in deployed.stderr
        assert f"(pid {stuck}) did not stop within 2s of SIGTERM and was SIGKILLed" in deployed.stderr
        assert "DEPLOY OK" in deployed.stdout and "1 warning(s)" in deployed.stdout
        assert not _alive(stuck)
        assert run.pid("worker") != stuck

        code, stop_seconds = run.sigterm(proc)
        assert code == 0 and stop_seconds < STOP_CONTRACT, (code, stop_seconds)
        assert "forced stop: the outbox worker" in run.output().rsplit("reloaded", 1)[1]
    finally:
        run.kill_all()
