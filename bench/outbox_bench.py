"""Outbox throughput: queued replies delivered to a fake provider that takes 50 ms per call,
by 1 and by 4 concurrent `send_outbox` processes (one pass each, as the contract defines it)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections import Counter

from bench import report
from bench.config import ROOT
from bench.proc import task


def _fake(port: int, method: str, path: str, body: dict | None = None):
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read() or b"null")


def _wait_up(port: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the fake provider exited")
        try:
            _fake(port, "GET", "/_fake/calls")
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the fake provider did not start")


def run(bench, profile: str, env: dict, tmp, out: dict) -> None:
    cfg = bench.cfg
    if (
        not (ROOT / "tests" / "fake_provider.py").exists()
        or not (ROOT / "whatsapp" / "management" / "commands" / "send_outbox.py").exists()
    ):
        bench.note(f"{profile}: outbox not measured: the fake provider or send_outbox is missing")
        return
    port = cfg.port + 1
    fake = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_provider", "--port", str(port), "--latency-ms", str(cfg.outbox_latency_ms)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp / "fake_provider.log", "ab"),
    )
    results = out.setdefault("outbox", {})
    try:
        _wait_up(port, fake)
        for workers in cfg.outbox_workers:
            results[str(workers)] = _one(bench, profile, env, port, workers)
    finally:
        fake.terminate()
        fake.wait(10)
    rates = {int(k): v["rate_per_s"] for k, v in results.items()}
    if 1 in rates and 4 in rates:
        report.target(
            bench.results,
            profile,
            "outbox deliveries/s: 4 workers ÷ 1 worker",
            report.ratio(rates[4], rates[1]),
            3,
            at_least=True,
        )


def _one(bench, profile, env, port, workers: int) -> dict:
    cfg = bench.cfg
    tag = f"bench-outbox-{workers}w"
    print(
        f"  outbox: {cfg.outbox_messages} replies, {workers} send_outbox process(es), "
        f"{cfg.outbox_latency_ms} ms per call",
        flush=True,
    )
    _fake(port, "POST", "/_fake/reset", {})
    _fake(port, "POST", "/_fake/latency", {"ms": cfg.outbox_latency_ms})
    task(env, "outbox_enqueue", count=cfg.outbox_messages, tag=tag, connection_key="demo-meta")
    t0 = time.monotonic()
    procs = [
        subprocess.Popen([sys.executable, "manage.py", "send_outbox"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
        for _ in range(workers)
    ]
    codes = [p.wait() for p in procs]
    wall = time.monotonic() - t0
    calls = [
        c
        for c in _fake(port, "GET", "/_fake/calls")
        if (c.get("json") or {}).get("text", {}).get("body", "").startswith(f"{tag} #")
    ]
    texts = Counter(c["json"]["text"]["body"] for c in calls)
    status = task(env, "outbox_status", tag=tag)
    at = sorted(c["at"] for c in calls)
    # Busy time as the provider saw it: first call received to last call answered.
    busy = (at[-1] - at[0] + cfg.outbox_latency_ms / 1000) if at else 0
    # Steady rate over the middle 80 % of calls: the processes do not start at the same instant,
    # and that ramp says nothing about how fast several workers deliver together.
    lo, hi = len(at) // 10, len(at) - 1 - len(at) // 10
    steady = (hi - lo) / (at[hi] - at[lo]) if len(at) >= 10 and at[hi] > at[lo] else None
    res = {
        "workers": workers,
        "queued": cfg.outbox_messages,
        "provider_calls": len(calls),
        "distinct_texts": len(texts),
        "sent_twice": sum(n - 1 for n in texts.values() if n > 1),
        "status": status,
        "exit_codes": codes,
        "wall_s": round(wall, 2),
        "busy_s": round(busy, 2),
        "rate_per_s": round(steady, 1) if steady else None,
        "rate_overall_per_s": round(len(texts) / busy, 1) if busy else None,
    }
    bench.results["rows"].append(
        {
            "profile": profile,
            "scenario": f"outbox, {workers} send_outbox",
            "rate/s": res["rate_per_s"],
            "notes": f"sent {status.get('sent', 0)}/{cfg.outbox_messages}, dup {res['sent_twice']}, "
            f"overall {res['rate_overall_per_s']}/s",
        }
    )
    if res["sent_twice"] or status.get("sent", 0) != cfg.outbox_messages or any(codes):
        bench.failed = True
        bench.note(f"{profile}: outbox with {workers} workers: {res}")
    return res
