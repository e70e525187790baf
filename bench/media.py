"""Media benchmark (docs/media.md): N inbound media messages through signed webhooks, downloaded by the worker.

    python -m bench.media [--messages 500] [--port 8790] [--workers 3] [--all-good]

A scratch SQLite DATA_DIR, a real gunicorn, one `send_outbox --loop` worker and the fake provider
(tests/fake_provider.py, in this process) serving every file over Meta's real endpoints. It sends N
text webhooks, then N media webhooks (photos and PDFs; a few with an expired media id or a wrong
SHA-256 on purpose), and reports: stored, failed (with reasons), the time until every download
ended, and the webhook's latency p50/p99 with and without media. Not part of `make test`.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import io
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fake_provider import FakeProvider  # noqa: E402

SECRET = "bench-app-secret"
PHONE_ID = "100000000000001"
SEED = """
from accounts.models import Department, Reseller, ResellerConfig
from whatsapp.models import Connection
r = Reseller.objects.create(slug="bench", name="Bench")
ResellerConfig.objects.create(reseller=r, display_name="Bench")
d = Department.objects.create(reseller=r, name="Suporte")
Connection.objects.create(reseller=r, default_department=d, provider="meta", key="bench-meta",
    phone_number_id="{phone}", app_secret="{secret}", access_token="bench-token", api_base_url="{base}")
"""


def _jpeg(rng: random.Random, n: int) -> bytes:
    from PIL import Image

    side = 96 + (n % 5) * 64
    noise = Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3))
    out = io.BytesIO()
    noise.save(out, "JPEG", quality=85)
    return out.getvalue()


def _body(kind: str, n: int, media: dict | None, text: str = "") -> bytes:
    message = {"from": f"55119{n % 200:08d}", "id": f"wamid.BENCH{kind}{n:06d}", "timestamp": str(int(time.time()))}
    if media is None:
        message.update(type="text", text={"body": text or f"mensagem {n}"})
    else:
        message.update(type=media.pop("type"), **media)
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550000000", "phone_number_id": PHONE_ID},
        "contacts": [{"profile": {"name": f"Cliente {n % 200}"}, "wa_id": message["from"]}],
        "messages": [message],
    }
    body = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"value": value, "field": "messages"}]}],
    }
    return json.dumps(body, separators=(",", ":")).encode()


def _post(url: str, raw: bytes) -> float:
    signature = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    req = urllib.request.Request(
        url, data=raw, method="POST", headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature}
    )
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=60) as resp:
        resp.read()
        assert resp.status == 200, resp.status
    return (time.perf_counter() - t0) * 1000


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _send_all(url: str, bodies: list[bytes], concurrency: int) -> list[float]:
    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(lambda raw: _post(url, raw), bodies))


def _wait_http(url: str, proc: subprocess.Popen) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            raise RuntimeError("gunicorn exited")
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--port", type=int, default=8790)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--concurrency", type=int, default=4, help="webhooks in flight")
    parser.add_argument(
        "--all-good", action="store_true", help="no deliberately expired ids or wrong hashes: every file must be stored"
    )
    args = parser.parse_args(argv)
    rng = random.Random(12)
    tmp = Path(tempfile.mkdtemp(prefix="iaze-media-bench-"))
    fake = FakeProvider().start()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MONGO_URL")}
    env.update(
        DATA_DIR=str(tmp),
        SECRET_KEY="bench",
        LOG_LEVEL="WARNING",
        WHATSAPP_SEND_INLINE="false",
        MEDIA_DOWNLOAD_MAX_ATTEMPTS="2",  # the deliberate failures end after one retry (5 s backoff)
        IAZE_ALLOW_PRIVATE_PROVIDER_HOSTS="1",  # the fake provider listens on 127.0.0.1
    )
    py = sys.executable
    subprocess.run([py, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    seed = SEED.format(phone=PHONE_ID, secret=SECRET, base=fake.url + "/v21.0")
    subprocess.run([py, "manage.py", "shell", "-c", seed], cwd=ROOT, env=env, check=True)
    log = open(tmp / "server.log", "ab")
    web = subprocess.Popen(
        [py, "-m", "gunicorn", "iaze.wsgi:application", "--worker-class", "sync", "--bind", f"127.0.0.1:{args.port}",
         "--workers", str(args.workers)], cwd=ROOT, env=env, stdout=log, stderr=log,
    )  # fmt: skip
    worker = None
    try:
        base = f"http://127.0.0.1:{args.port}"
        _wait_http(f"{base}/healthz", web)
        url = f"{base}/whatsapp/webhook/bench-meta/"
        n = args.messages

        texts = [_body("T", i, None) for i in range(n)]
        text_ms = _send_all(url, texts, args.concurrency)

        bodies, expected_bad = [], {"expired": 0, "sha256": 0}
        total_bytes = 0
        for i in range(n):
            media_id = f"{700000000 + i}"
            if i % 5 == 4:
                content, mime = b"%PDF-1.4\n" + rng.randbytes(rng.randint(20_000, 300_000)), "application/pdf"
                part = {"type": "document", "document": {"id": media_id, "mime_type": mime, "filename": f"doc-{i}.pdf"}}
            else:
                content, mime = _jpeg(rng, i), "image/jpeg"
                part = {"type": "image", "image": {"id": media_id, "mime_type": mime, "caption": f"foto {i}"}}
            total_bytes += len(content)
            if args.all_good:
                fake.add_media(media_id, content, mime)
            elif i % 100 == 37:
                expected_bad["expired"] += 1  # never registered: Meta answers "does not exist"
            elif i % 100 == 73:
                expected_bad["sha256"] += 1
                fake.add_media(media_id, content, mime, sha256=hashlib.sha256(b"x").hexdigest())
            else:
                fake.add_media(media_id, content, mime)
            bodies.append(_body("M", i, part))

        t_start, wall_start = time.monotonic(), datetime.now(UTC)
        worker = subprocess.Popen(
            [py, "manage.py", "send_outbox", "--loop", "--interval", "0.2"], cwd=ROOT, env=env, stdout=log, stderr=log
        )
        media_ms = _send_all(url, bodies, args.concurrency)
        webhooks_done = time.monotonic() - t_start
        db = sqlite3.connect(tmp / "iaze.sqlite3", timeout=30)
        counts: dict = {}
        while True:
            counts = dict(db.execute("select state, count(*) from media_downloads group by state").fetchall())
            if counts.get("pending", 0) == 0 and sum(counts.values()) >= n:
                break
            if time.monotonic() - t_start > 900:
                break
            time.sleep(0.25)
        all_done = time.monotonic() - t_start
        last = db.execute("select max(stored_at) from media_downloads where state='stored'").fetchone()[0]
        last_stored = datetime.fromisoformat(last).replace(tzinfo=UTC) if last else wall_start
        reasons = dict(
            db.execute(
                "select error_code || ': ' || substr(error_text, 1, 70), count(*) from media_downloads "
                "where state='failed' group by 1"
            ).fetchall()
        )
        files = db.execute("select count(*), sum(size) from media_files").fetchone()
        result = {
            "messages": n,
            "stored": counts.get("stored", 0),
            "failed": counts.get("failed", 0),
            "failed_reasons": reasons,
            "deliberately_bad": expected_bad,
            "media_files": files[0],
            "media_mb": round((files[1] or 0) / 1e6, 1),
            "served_mb": round(total_bytes / 1e6, 1),
            "webhooks_sent_s": round(webhooks_done, 2),
            "time_to_end_all_downloads_incl_retries_s": round(all_done, 2),
            "time_to_store_all_stored_s": round((last_stored - wall_start).total_seconds(), 2),
            "webhook_ms_text": {"p50": round(_pct(text_ms, 50), 1), "p99": round(_pct(text_ms, 99), 1)},
            "webhook_ms_media": {"p50": round(_pct(media_ms, 50), 1), "p99": round(_pct(media_ms, 99), 1)},
            "webhook_ms_mean": {
                "text": round(statistics.mean(text_ms), 1),
                "media": round(statistics.mean(media_ms), 1),
            },
            "provider_calls": len(fake.calls),
        }
        print(json.dumps(result, indent=2))
        return 0
    finally:
        for proc in (worker, web):
            if proc is not None:
                proc.terminate()
                proc.wait(20)
        fake.stop()


if __name__ == "__main__":
    sys.exit(main())
