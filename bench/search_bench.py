"""The queue's search at the largest queue size (100,000 tickets, 1,000,000 messages in a full run).

Three searches a person types, each through `GET /tickets/?q=…` as the supervisor (the whole tenant)
and as an agent (its departments): a client's name, a fragment from the middle of a number, and a word
that appears in the messages of almost every seeded ticket (the worst case of a word search: the seeded
texts draw from ~35 words). p50/p95 and the query count of each, like the queue pages (bench/pages.py).
"""

from __future__ import annotations

from urllib.parse import urlencode

from bench import report, scenarios
from bench.loadgen import get
from bench.proc import task

WHO = [("revenda@demo.local", "supervisor"), ("agente1@demo.local", "agent")]


def searches(size: int) -> list[tuple[str, str]]:
    """(label, query): seeded clients are "Cliente <i>" with the number 5500<i, 9 digits> (bench/seeding.py)."""
    i = size * 3 // 7  # a client in the middle of the seeded range
    return [
        ("client name", f"cliente {i}"),
        ("number fragment", f"{i:09d}"[-7:]),
        ("message word", "rastreio"),
    ]


def run(run, profile: str, env: dict, tenant: dict, out: dict, health) -> None:
    cfg = run.cfg
    largest = max(cfg.queue_sizes)
    cookie = {e: {"Cookie": c} for e, c in tenant["cookies"].items()}
    seeded = task(env, "seed_queue", total=largest, connection_key=tenant["meta_key"])  # no-op after `pages`
    if seeded["added"]:
        run.row(profile, f"seed to {largest:,} tickets", notes=f"+{seeded['added']:,} in {seeded['seconds']} s")
    status = scenarios.probe(cfg.port, "GET", "/tickets/?q=cliente", cookie["revenda@demo.local"])
    if status != 200:
        run.note(f"{profile}: search not measured: /tickets/?q= answered {status}")
        return
    h50 = health.summary()["p50_ms"]
    rows = out.setdefault("search", [])
    for email, role in WHO:
        paths = {label: "/tickets/?" + urlencode({"status": "espera", "q": q}) for label, q in searches(largest)}
        counts = task(env, "query_counts", email=email, paths=list(paths.values()))
        for label, path in paths.items():
            load = run.load(get(path, cookie[email]), cfg.page_s, f"search {label} as {role} at {largest:,}")
            c = counts[path]
            s = run.row(
                profile,
                f"search {label} {role} @ {largest:,}",
                load,
                queries=c["queries"],
                notes=f"{c['bytes'] // 1024} KiB; {path.split('q=')[1]}",
            )
            rows.append({"size": largest, "search": label, "role": role, "path": path, **c, **s})
            # Against the same page without a search when `pages` measured it (the machine's load cancels out),
            # else against /healthz.
            plain = [
                q["p50_ms"]
                for q in out.get("queue", [])
                if (q["size"], q["state"], q["role"]) == (largest, "espera", role)
            ]
            if plain:
                name, value, limit = "÷ the same queue page's p50", report.ratio(s["p50_ms"], plain[0]), 2
            else:
                name, value, limit = "÷ /healthz p50", report.ratio(s["p50_ms"], h50), 10
            report.target(run.results, profile, f"search {label} {role}: p50 @{largest:,} {name}", value, limit)
    label, path = "message word", rows[-1]["path"]
    run.where_time_goes(env, profile, f"search-{label.replace(' ', '-')}-{largest}", email=WHO[0][0], path=path)
