"""Where the time goes: the same requests, in-process, under pyinstrument, with SQL time split out.

Runs in a bench.tasks process (Django set up), through django.test.Client, so no
network or gunicorn is involved: what remains is Django, the app and the database.
"""

from __future__ import annotations

import json
import time
import zlib
from pathlib import Path

from providers.meta import signature_header


def _client(email: str | None):
    from django.test import Client

    from accounts.models import User

    client = Client()
    if email:
        client.force_login(User.objects.get(email=email))
    return client


def _meta_request(n: int, *, tag: str, secret: str, phone_number_id: str, **_):
    from bench.scenarios import META_TEXT

    body = json.loads(META_TEXT.read_text())
    value = body["entry"][0]["changes"][0]["value"]
    wa_id = f"5588{zlib.crc32(tag.encode()) % 1000:03d}{n:06d}"
    value["metadata"]["phone_number_id"] = phone_number_id
    value["contacts"][0]["wa_id"] = wa_id
    value["messages"][0].update(id=f"wamid.profile.{tag}.{n}", timestamp=str(int(time.time())), **{"from": wa_id})
    raw = json.dumps(body).encode()
    sig = signature_header(secret, raw)
    return raw, {"X-Hub-Signature-256": sig}


def profile_requests(
    *, name: str, out_dir: str, email: str | None = None, path: str = "", webhook: dict | None = None, repeat: int = 20
) -> dict:
    """Profile `repeat` requests (a page as `email`, or signed webhook posts) and write the report."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from pyinstrument import Profiler

    client = _client(email)

    def one(i):
        if webhook:
            raw, headers = _meta_request(i, tag=name, **webhook)
            return client.post(webhook["path"], data=raw, content_type="application/json", headers=headers)
        return client.get(path)

    one(10_000_000)  # warm-up: URL resolver, templates, translations
    profiler = Profiler(interval=0.0005)
    sql_s, queries, statuses = 0.0, 0, set()
    t0 = time.perf_counter()
    with CaptureQueriesContext(connection) as ctx:
        profiler.start()
        for i in range(repeat):
            statuses.add(one(i).status_code)
        profiler.stop()
    wall = time.perf_counter() - t0
    for q in ctx.captured_queries:
        sql_s += float(q["time"])
        queries += 1
    report = Path(out_dir) / f"{name}.txt"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(profiler.output_text(unicode=True, color=False, show_all=False))
    return {
        "name": name,
        "requests": repeat,
        "statuses": sorted(statuses),
        "ms_per_request": round(wall / repeat * 1000, 2),
        "sql_ms_per_request": round(sql_s / repeat * 1000, 2),
        "queries_per_request": round(queries / repeat, 1),
        "report": str(report),
    }
