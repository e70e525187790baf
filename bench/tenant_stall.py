"""One tenant's hung provider against another tenant's media: how long tenant A's photo takes to be stored.

    .venv/bin/python -m bench.tenant_stall [--runs 5] [--b-connections 4] [--b-files 2]
    .venv/bin/python -m bench.tenant_stall --ref 80e7af6     # a git ref, exported to a temporary directory

A scratch SQLite DATA_DIR, one `send_outbox --loop` worker (default settings: 4 download threads, 1 per
connection; 2 per tenant where the code has that share) and the fake provider (tests/fake_provider.py, in
this process) serving every file over Meta's endpoints. Tenant B has `--b-connections` Meta connections,
tenant A one. Two scenarios, `--runs` times each:

- alone: tenant A's photo arrives with nothing else queued;
- b_hung: the fake holds every call of B's connections (fake.hang on each token), B's `--b-files` photos per
  connection are queued, and once the worker has started what it will start of them, A's photo arrives.

Reported per scenario: A's time from its download job's creation to its file stored (the job's created_at
to stored_at, both written by the app), and how many of B's calls the fake held when A's photo arrived.
Security round three, item 1; the figures are in bench/README.md. Not part of `make bench`.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fake_provider import FakeProvider  # noqa: E402

SEED = """
from accounts.models import Department, Reseller, ResellerConfig
from whatsapp.models import Connection
def tenant(slug):
    r = Reseller.objects.create(slug=slug, name=slug)
    ResellerConfig.objects.create(reseller=r, display_name=slug)
    return r, Department.objects.create(reseller=r, name="Suporte")
a, a_dept = tenant("tenant-a")
b, b_dept = tenant("tenant-b")
Connection.objects.create(reseller=a, default_department=a_dept, provider="meta", key="a-0",
    phone_number_id="100000000000000", app_secret="s", access_token="a-token-0", api_base_url="{base}")
for i in range({b_connections}):
    Connection.objects.create(reseller=b, default_department=b_dept, provider="meta", key=f"b-{{i}}",
        phone_number_id=f"20000000000000{{i}}", app_secret="s", access_token=f"b-token-{{i}}", api_base_url="{base}")
"""

# Media messages stored through the real door (message_store enqueues each download), one per media id.
PHOTOS = """
from accounts.models import Client
from tickets import services
from whatsapp.models import Connection
for key, media_id in {photos!r}:
    conn = Connection.objects.get(key=key)
    wa_id = "5511" + media_id
    client = Client.objects.create(reseller_id=conn.reseller_id, identity=wa_id, wa_id=wa_id, phone=wa_id, name=wa_id)
    ticket, _ = services.inbound_route(connection=conn, client=client)
    services.message_store(ticket=ticket, msg=services.InboundMessage(
        provider_message_id="wamid." + media_id, kind="image", raw_type="image",
        media={{"id": media_id, "mime_type": "image/jpeg"}}))
"""


def _jpeg(n: int) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (320, 240), ((n * 37) % 256, (n * 91) % 256, 120)).save(out, "JPEG")
    return out.getvalue()


def _export(ref: str, into: Path) -> Path:
    archive = subprocess.run(["git", "archive", ref], cwd=ROOT, check=True, stdout=subprocess.PIPE).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


class Bench:
    def __init__(self, code: Path, b_connections: int):
        self.code, self.b_connections = code, b_connections
        self.tmp = Path(tempfile.mkdtemp(prefix="iaze-tenant-stall-"))
        self.fake = FakeProvider().start()
        self.env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MONGO_URL")}
        self.env.update(
            DATA_DIR=str(self.tmp),
            SECRET_KEY="bench",
            LOG_LEVEL="WARNING",
            WHATSAPP_SEND_INLINE="false",
            IAZE_ALLOW_PRIVATE_PROVIDER_HOSTS="1",
            PYTHONPATH=str(code),
        )
        self.seq = 0
        self.worker: subprocess.Popen | None = None

    def manage(self, *args: str) -> None:
        subprocess.run([sys.executable, "manage.py", *args], cwd=self.code, env=self.env, check=True)

    def start(self) -> None:
        self.manage("migrate", "-v0")
        seed = SEED.format(base=self.fake.url + "/v21.0", b_connections=self.b_connections)
        self.manage("shell", "-v", "0", "-c", seed)
        log = open(self.tmp / "worker.log", "ab")
        self.worker = subprocess.Popen(
            [sys.executable, "manage.py", "send_outbox", "--loop", "--interval", "0.2"],
            cwd=self.code,
            env=self.env,
            stdout=log,
            stderr=log,
        )

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.terminate()
            self.worker.wait(30)
        self.fake.stop()

    def photos(self, keys: list[str]) -> list[str]:
        """Queue one photo per connection key (served by the fake); returns their media ids."""
        pairs = []
        for key in keys:
            self.seq += 1
            media_id = f"{900000000 + self.seq}"
            self.fake.add_media(media_id, _jpeg(self.seq), "image/jpeg")
            pairs.append((key, media_id))
        self.manage("shell", "-v", "0", "-c", PHOTOS.format(photos=pairs))
        return [media_id for _key, media_id in pairs]

    def _db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.tmp / "iaze.sqlite3", timeout=30)

    def stored_seconds(self, media_id: str, limit: float = 180.0) -> float | None:
        """Seconds from the photo's download job created to its file stored (None: not within `limit`)."""
        query = (
            "select d.state, d.created_at, d.stored_at from media_downloads d join messages m on m.id = d.message_id "
            "where m.provider_message_id = ?"
        )
        deadline = time.monotonic() + limit
        with self._db() as db:
            while time.monotonic() < deadline:
                row = db.execute(query, ("wamid." + media_id,)).fetchone()
                if row and row[0] == "stored":
                    created, stored = (datetime.fromisoformat(v) for v in row[1:])
                    return (stored - created).total_seconds()
                time.sleep(0.01)
        return None

    def settle(self, limit: float = 180.0) -> None:
        """Until every download is stored (B's released calls, their retries after a timeout included)."""
        deadline = time.monotonic() + limit
        with self._db() as db:
            while time.monotonic() < deadline:
                if db.execute("select count(*) from media_downloads where state != 'stored'").fetchone()[0] == 0:
                    return
                time.sleep(0.1)
        raise RuntimeError("downloads still pending after the run")

    def alone(self) -> dict:
        (media_id,) = self.photos(["a-0"])
        return {"a_seconds": self.stored_seconds(media_id), "b_calls_held": 0}

    def b_hung(self, b_files: int) -> dict:
        tokens = [f"b-token-{i}" for i in range(self.b_connections)]
        for token in tokens:
            self.fake.hang(token)
        try:
            self.photos([f"b-{i}" for i in range(self.b_connections) for _ in range(b_files)])
            if not self.fake.wait_held(1, timeout=60):
                raise RuntimeError("the worker never called B's provider")
            time.sleep(1.0)  # the worker's passes start whatever they will of B's files
            held = self.fake.held()
            (media_id,) = self.photos(["a-0"])
            seconds = self.stored_seconds(media_id)
        finally:
            for token in tokens:
                self.fake.release(token)
        self.settle()
        return {"a_seconds": seconds, "b_calls_held": held}


def _summary(rows: list[dict]) -> dict:
    times = [r["a_seconds"] for r in rows if r["a_seconds"] is not None]
    return {
        "runs": len(rows),
        "a_stored": len(times),
        "a_seconds_median": round(statistics.median(times), 3) if times else None,
        "a_seconds_min": round(min(times), 3) if times else None,
        "a_seconds_max": round(max(times), 3) if times else None,
        "b_calls_held": sorted({r["b_calls_held"] for r in rows}),
    }


def measure(code: Path, *, runs: int, b_connections: int, b_files: int) -> dict:
    bench = Bench(code, b_connections)
    try:
        bench.start()
        bench.alone()  # warm-up: the worker's first pass, the first files written
        results: dict[str, list[dict]] = {"alone": [], "b_hung": []}
        for _ in range(runs):
            results["alone"].append(bench.alone())
            results["b_hung"].append(bench.b_hung(b_files))
        return {name: _summary(rows) for name, rows in results.items()}
    finally:
        bench.stop()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--b-connections", type=int, default=4)
    parser.add_argument("--b-files", type=int, default=2, help="B's photos per connection")
    parser.add_argument("--ref", help="measure this git ref (exported to a temporary directory) instead")
    args = parser.parse_args(argv)
    options = {"runs": args.runs, "b_connections": args.b_connections, "b_files": args.b_files}
    if args.ref:
        with tempfile.TemporaryDirectory(prefix="iaze-ref-") as tmp:
            result = measure(_export(args.ref, Path(tmp)), **options)
        result["ref"] = args.ref
    else:
        result = measure(ROOT, **options)
    print(json.dumps({**options, **result}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
