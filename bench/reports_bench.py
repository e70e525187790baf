"""Reports at size: /relatorios/ and its figure CSV under load, and one download of the per-ticket CSV
(streamed) at the largest queue size, after the queue pages seeded it (bench/pages.py)."""

from __future__ import annotations

import http.client
import time
from datetime import date, timedelta

from bench import report, scenarios
from bench.loadgen import get
from bench.proc import task

WHO = "revenda@demo.local"


def paths() -> tuple[str, str, str]:
    """A 41-day range that holds every seeded ticket (their activity is spread over the past 30 days)."""
    today = date.today()
    first, last = today - timedelta(days=40), today + timedelta(days=1)
    query = f"?periodo=custom&inicio={first.isoformat()}&fim={last.isoformat()}"
    return f"/relatorios/{query}", f"/relatorios/export.csv{query}", f"/relatorios/atendimentos.csv{query}"


def download(port: int, path: str, cookie: str) -> dict:
    """One GET read to the end in 64 KiB chunks: seconds, bytes and lines (rows + header)."""
    t0 = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.request("GET", path, headers={"Cookie": cookie})
    resp = conn.getresponse()
    size = lines = 0
    first_byte = None
    while chunk := resp.read(65536):
        first_byte = first_byte or time.monotonic() - t0
        size += len(chunk)
        lines += chunk.count(b"\n")
    conn.close()
    return {
        "status": resp.status,
        "seconds": round(time.monotonic() - t0, 2),
        "first_byte_s": round(first_byte or 0, 3),
        "bytes": size,
        "lines": lines,
    }


def run(bench, profile: str, env: dict, tenant: dict, out: dict, health, server) -> None:
    cfg = bench.cfg
    cookie = tenant["cookies"][WHO]
    PAGE, FIGURES_CSV, TICKETS_CSV = paths()
    status = scenarios.probe(cfg.port, "GET", PAGE, {"Cookie": cookie})
    if status != 200:
        bench.note(f"{profile}: reports not measured: {PAGE} answered {status}")
        return
    size = max(cfg.queue_sizes)
    counts = task(env, "query_counts", email=WHO, paths=[PAGE, FIGURES_CSV])
    h50 = health.summary()["p50_ms"]
    results = out.setdefault("reports", {"size": size})
    for name, path in (("report page", PAGE), ("figures CSV", FIGURES_CSV)):
        load = bench.load(get(path, {"Cookie": cookie}), cfg.page_s, f"{name} at {size:,}")
        c = counts[path]
        s = bench.row(
            profile, f"{name} (41 days) @ {size:,}", load, queries=c["queries"], notes=f"{c['bytes'] // 1024} KiB"
        )
        results[name] = {**s, "queries": c["queries"], "bytes": c["bytes"]}
        ratio = report.ratio(s["p50_ms"], h50)
        report.target(bench.results, profile, f"{name} @{size:,}: p50 ÷ /healthz p50", ratio, 50)
    print(f"  per-ticket CSV of {size:,} tickets (one download)", flush=True)
    got = download(cfg.port, TICKETS_CSV, cookie)
    results["tickets CSV"] = got
    results["memory_after"] = server.worker_memory()
    peak = max((w["peak_mib"] for w in results["memory_after"].values()), default=None)
    bench.row(
        profile,
        f"per-ticket CSV (streamed) @ {size:,}",
        notes=f"{got['lines'] - 1:,} rows, {got['bytes'] // 1024:,} KiB in {got['seconds']} s "
        f"(first byte {got['first_byte_s']} s); worker peak {peak} MiB",
    )
    if got["status"] != 200 or got["lines"] - 1 < size:
        bench.note(f"{profile}: per-ticket CSV returned {got['status']} with {got['lines'] - 1} rows, expected {size}")
    report.target(bench.results, profile, "worker peak RSS after the per-ticket CSV (MiB)", peak, 100, unit=" MiB")
