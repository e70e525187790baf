"""Live updates in `make bench` (scenario `live`): the two live benches, each in its own process with its own
gunicorn (uvicorn workers, as `make run` serves), on the profile's database.

- bench.live_latency: webhook 200 → event on an open stream, 16 connections; target p95 ≤ 1 s.
- bench.live_streams: idle streams held at once, memory per stream, CPU with nothing changing, and the
  queue page's time with them open; target ≥ 2,000 streams with the page within 2× its time before.
- Side by side, agents one server carries: polling (the queue poll's rate under load × 4 s, from the
  `polls` scenario of the same run) against streams (the streams held, one per agent's tab).

SQLite and PostgreSQL only: the live benches' harness starts its scratch databases on those two."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from bench import report
from bench.config import ROOT

PROFILES = ("sqlite", "postgresql")


def _bench(module: str, profile: str, pg_url: str, *args: str) -> dict:
    env = {**os.environ, "DATABASE_URL": pg_url} if profile == "postgresql" else dict(os.environ)
    env.pop("MONGO_URL", None)
    if profile == "sqlite":
        env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", module, "--profile", profile, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode or not lines:
        raise RuntimeError(f"{module} exited {done.returncode}: {(done.stderr or done.stdout)[-800:]}")
    return json.loads(lines[-1])


def run(bench, profile: str, out: dict) -> None:
    cfg = bench.cfg
    if profile not in PROFILES:
        bench.note(f"{profile}: live benches not run (their harness starts SQLite and PostgreSQL only)")
        return
    webhooks, streams, idle = (200, 300, 10) if cfg.quick else (400, 2000, 30)
    print(f"  live: {webhooks} webhooks → events; {streams} idle streams × {idle:g} s", flush=True)
    try:
        lat = _bench("bench.live_latency", profile, cfg.pg_url, "--webhooks", str(webhooks), "--clients", "16")
        held = _bench("bench.live_streams", profile, cfg.pg_url, "--streams", str(streams), "--idle", str(idle))
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        bench.failed = True
        bench.note(f"{profile}: live: {exc}")
        return
    out["live"] = {"latency": lat, "streams": held}
    rows = bench.results["rows"]
    rows.append(
        {
            "profile": profile,
            "scenario": "live: webhook 200 → event on a stream",
            "rate/s": lat["webhooks_per_s"],
            "p50 ms": _ms(lat["latency_p50_s"]),
            "p95 ms": _ms(lat["latency_p95_s"]),
            "notes": f"{lat['events_matched']}/{lat['webhooks_200']} events, max {_ms(lat['latency_max_s'])} ms",
        }
    )
    report.target(bench.results, profile, "live: event p95 after the webhook's 200", lat["latency_p95_s"], 1, unit=" s")
    before, during = held["page_before"]["median_ms"], held["page_with_streams"]["median_ms"]
    rows.append(
        {
            "profile": profile,
            "scenario": f"live: {held['streams_200']} idle streams held",
            "notes": f"open at the end {held['streams_open_at_end']}; {held['rss_per_stream_kib']} KiB each; "
            f"CPU {held['cpu_share_of_one_core']:.1%} of a core idle; queue page median {before} → {during} ms",
        }
    )
    report.target(
        bench.results,
        profile,
        "live: idle streams held open",
        held["streams_open_at_end"],
        streams,
        at_least=True,
        unit="",
    )
    report.target(
        bench.results, profile, "live: queue page median with streams ÷ without", report.ratio(during, before), 2
    )
    if lat["missing"] or held["streams_open_at_end"] < held["streams_200"]:
        bench.failed = True
        bench.note(f"{profile}: live: events missing or streams closed: {lat} {held}")
    polling = (out.get("polls", {}).get("queue espera agent") or {}).get("loaded", {}).get("agents_at_4s")
    rows.append(
        {
            "profile": profile,
            "scenario": "live: agents one server carries",
            "notes": f"polling every 4 s: {polling if polling is not None else 'not measured'}; "
            f"streams: {held['streams_open_at_end']} held (all asked), "
            f"CPU idle {held['cpu_share_of_one_core']:.1%}",
        }
    )


def _ms(seconds):
    return None if seconds is None else round(seconds * 1000, 1)
