"""One agent's view of the pages, and the live refresh that keeps them current.

- One client: sequential requests from one connection (an agent clicking), against /healthz
  measured the same way; the 16-connection closed loop (bench/pages.py) is the load case.
- The poll: what an open queue or conversation sends every 3-4 s (templates/tickets/_queue_live.html,
  templates/tickets/_thread_live.html), with nothing changed since, so the server answers 204
  (tickets/web/views.py). Its rate under load times 4 s is how many agents polling every 4 s one server carries.
"""

from __future__ import annotations

from bench import report, scenarios
from bench.loadgen import get

POLL_INTERVAL_S = 4.0
ONE_CLIENT_PAGE_LIMIT = 3  # × /healthz p50, one client
LOADED_PAGE_LIMIT = 8  # × /healthz p50, 16 connections
POLL_LIMIT = 1.5  # × /healthz p50, one client and 16 connections


def one_client_page(run, profile: str, name: str, path: str, headers: dict, h1: dict, **extra) -> dict:
    """One connection, one request after another: the page as one agent waits for it."""
    load = run.load(get(path, headers), run.cfg.one_client_s, f"{name}, one client", concurrency=1)
    s = run.row(profile, f"{name}, one client", load, **extra)
    report.target(
        run.results,
        profile,
        f"{name}, one client: p50 ÷ /healthz p50 (one client)",
        report.ratio(s["p50_ms"], h1.get("p50_ms")),
        ONE_CLIENT_PAGE_LIMIT,
    )
    return s


def poll(run, profile: str, name: str, path: str, headers: dict, health: dict, h1: dict) -> dict:
    """The unchanged poll of `path`, one client and under load; latencies of its 204 answers only."""
    cfg = run.cfg
    out: dict = {}
    for label, concurrency, baseline in (("one client", 1, h1), (f"{cfg.concurrency} connections", None, health)):
        poller = scenarios.poll_for(cfg.port, path, headers)
        if poller is None:
            run.note(f"{profile}: {name} poll not measured: {path} carries no v= stamp")
            return out
        duration = cfg.one_client_s if concurrency == 1 else cfg.page_s
        load = run.load(
            poller.factory, duration, f"{name} poll, {label}", concurrency=concurrency, observe=poller.observe
        )
        s = load.summary()
        p50 = load.pct_of(204, 50)
        row = {
            **s,
            "p50_ms": None if p50 is None else round(p50, 2),
            "p95_ms": _r(load.pct_of(204, 95)),
            "p99_ms": _r(load.pct_of(204, 99)),
            "rate_204_per_s": round(load.rate_of(204), 1),
            "refreshed": poller.refreshed,
        }
        agents = None if concurrency == 1 else round(load.rate_of(204) * POLL_INTERVAL_S)
        notes = f"204: {s['statuses'].get('204', 0)}, 200: {s['statuses'].get('200', 0)}"
        if agents is not None:
            notes += f"; carries {agents:,} agents polling every {POLL_INTERVAL_S:g} s"
            row["agents_at_4s"] = agents
        run.results["rows"].append(
            {
                "profile": profile,
                "scenario": f"{name} poll (204), {label}",
                "rate/s": row["rate_204_per_s"],
                "p50 ms": row["p50_ms"],
                "p95 ms": row["p95_ms"],
                "p99 ms": row["p99_ms"],
                "notes": notes,
            }
        )
        report.target(
            run.results,
            profile,
            f"{name} poll (204), {label}: p50 ÷ /healthz p50 ({label})",
            report.ratio(row["p50_ms"], baseline.get("p50_ms")),
            POLL_LIMIT,
        )
        out["one_client" if concurrency == 1 else "loaded"] = row
    return out


def _r(value):
    return None if value is None else round(value, 2)
