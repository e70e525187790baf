"""Resident memory of a real gunicorn worker around unauthenticated 8 MB Evolution bodies.

    .venv/bin/python -m bench.webhook_memory                 # this checkout
    .venv/bin/python -m bench.webhook_memory --ref HEAD      # a git ref, exported to a temporary directory

Starts one gunicorn (one sync worker) on the embedded SQLite profile in a temporary DATA_DIR, with one
Evolution connection, and posts `--bodies` bodies of `--size-mb` MB without a valid key: an envelope whose
`data` is an array of `{}` (cheap to send, ~40× its size once parsed as JSON). Prints the worker's resident
memory (VmRSS) before and after each body, and its peak (VmHWM), as JSON. Linux only (/proc). Security
round three, item 3: the figures are in docs/operations.md (Security) and bench/README.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KEY = "bench-memory-evo"

SETUP = f"""
from accounts.models import Department, Reseller, ResellerConfig
from whatsapp.models import Connection
reseller = Reseller.objects.create(slug="mem", name="Mem")
ResellerConfig.objects.create(reseller=reseller, display_name="Mem")
dept = Department.objects.create(reseller=reseller, name="Suporte")
Connection.objects.create(
    reseller=reseller, default_department=dept, provider=Connection.Provider.EVOLUTION, key={KEY!r},
    instance_name="mem", api_key="the-real-key", api_base_url="http://127.0.0.1:9/evolution",
)
"""


def object_bomb(size: int, apikey: str | None = None) -> bytes:
    head = b'{"event":"messages.upsert","instance":"mem","data":['
    tail = b'{}],"date_time":"2025-05-01T12:00:00.000Z"'
    if apikey is not None:
        tail += b',"apikey":' + json.dumps(apikey).encode()
    tail += b"}"
    return head + b"{}," * ((size - len(head) - len(tail)) // 3) + tail


def _status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in kB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0])
    return values


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(p) for p in text]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(port: int, method: str, path: str, body: bytes = b"", headers=None) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request(method, path, body=body or None, headers=headers or {})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def _export(ref: str, into: Path) -> Path:
    archive = subprocess.run(["git", "archive", ref], cwd=ROOT, check=True, stdout=subprocess.PIPE).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def measure(root: Path, *, bodies: int, size: int) -> dict:
    data_dir = Path(tempfile.mkdtemp(prefix="iaze-webhook-memory-"))
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MONGO_URL")}
    env.update(DATA_DIR=str(data_dir), DEBUG="false", LOG_LEVEL="WARNING")
    server = None
    try:
        run = {"cwd": root, "env": env, "check": True, "stdout": subprocess.DEVNULL}
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], **run)
        subprocess.run([sys.executable, "manage.py", "shell", "-c", SETUP], **run)
        port = _free_port()
        gunicorn = [sys.executable, "-m", "gunicorn", "iaze.wsgi:application", "--worker-class", "sync"]
        gunicorn += ["--bind", f"127.0.0.1:{port}"]
        server = subprocess.Popen(
            [*gunicorn, "--workers", "1", "--timeout", "120"],
            cwd=root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                if _request(port, "GET", "/healthz") == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("gunicorn did not start")
            time.sleep(0.2)
        (worker,) = _children(server.pid)
        path = f"/whatsapp/webhook/{KEY}/"
        json_type = {"Content-Type": "application/json"}
        # Warm up: the webhook's code is imported and a small unauthenticated body answered once.
        assert _request(port, "POST", path, object_bomb(4096), json_type) == 401
        body = object_bomb(size)
        rows = [{"after": "warm-up", **_status(worker)}]
        for n in range(1, bodies + 1):
            status = _request(port, "POST", path, body, json_type)
            rows.append({"after": f"body {n}", "status": status, **_status(worker)})
        return {
            "root": str(root),
            "body_bytes": len(body),
            "rows": rows,
            "rss_growth_kb": rows[-1]["VmRSS"] - rows[0]["VmRSS"],
            "peak_growth_kb": rows[-1]["VmHWM"] - rows[0]["VmHWM"],
        }
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        shutil.rmtree(data_dir, ignore_errors=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ref", help="measure this git ref (exported to a temporary directory) instead")
    parser.add_argument("--bodies", type=int, default=3)
    parser.add_argument("--size-mb", type=float, default=8)
    args = parser.parse_args(argv)
    size = int(args.size_mb * 1024 * 1024)
    if args.ref:
        with tempfile.TemporaryDirectory(prefix="iaze-ref-") as tmp:
            result = measure(_export(args.ref, Path(tmp)), bodies=args.bodies, size=size)
        result["ref"] = args.ref
    else:
        result = measure(ROOT, bodies=args.bodies, size=size)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
