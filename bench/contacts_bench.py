"""The contact list and its search (/contatos/) at the largest queue size: one client per seeded ticket, so
100,000 contacts in a full run, with their search index (`client_search_terms`) as the services write it.

As the supervisor (the whole tenant) and as an agent (agents see every contact of their tenant too): the
plain list, a client's name, 7 digits from the middle of a number, the whole number typed in another form
(without the ninth digit's place: the seeded numbers are not Brazilian mobiles, so this is the raw-digits
path), and `cliente`, a word in every seeded name (the worst case of a word search). p50/p95 and the query
count of each, like the queue's search (bench/search_bench.py). Targets: the plain list ≤ 10× /healthz
p50 (a page like the queue's); each search ≤ 2× the same role's plain list p50 in the same run.
"""

from __future__ import annotations

from urllib.parse import urlencode

from bench import report
from bench.loadgen import get
from bench.proc import task
from bench.scenarios import probe

WHO = [("revenda@demo.local", "supervisor"), ("agente1@demo.local", "agent")]


def searches(size: int) -> list[tuple[str, str]]:
    """(label, query): seeded clients are "Cliente <i>" with the number 5500<i, 9 digits> (bench/seeding.py)."""
    i = size * 3 // 7
    return [
        ("list", ""),
        ("name", f"cliente {i}"),
        ("number fragment", f"{i:09d}"[-7:]),
        ("whole number", f"+5500{i:09d}"),
        ("common word", "cliente"),
    ]


def run(run, profile: str, env: dict, tenant: dict, out: dict, health) -> None:
    cfg = run.cfg
    largest = max(cfg.queue_sizes)
    cookie = {e: {"Cookie": c} for e, c in tenant["cookies"].items()}
    seeded = task(env, "seed_queue", total=largest, connection_key=tenant["meta_key"])  # no-op when seeded
    if seeded["added"]:
        run.row(profile, f"seed to {largest:,} tickets", notes=f"+{seeded['added']:,} in {seeded['seconds']} s")
    if probe(cfg.port, "GET", "/contatos/", cookie["revenda@demo.local"]) != 200:
        run.note(f"{profile}: contacts not measured: /contatos/ did not answer 200")
        return
    h50 = health.summary()["p50_ms"]
    rows = out.setdefault("contacts", [])
    for email, role in WHO:
        paths = {label: "/contatos/" + (f"?{urlencode({'q': q})}" if q else "") for label, q in searches(largest)}
        counts = task(env, "query_counts", email=email, paths=list(paths.values()))
        for label, path in paths.items():
            load = run.load(get(path, cookie[email]), cfg.page_s, f"contacts {label} as {role} at {largest:,}")
            c = counts[path]
            s = run.row(
                profile,
                f"contacts {label} {role} @ {largest:,}",
                load,
                queries=c["queries"],
                notes=f"{c['bytes'] // 1024} KiB; {path}",
            )
            rows.append({"size": largest, "search": label, "role": role, "path": path, **c, **s})
            if label == "list":
                plain = s["p50_ms"]
                name, value, limit = "÷ /healthz p50", report.ratio(s["p50_ms"], h50), 10
            else:
                # A search against the same role's plain list in the same run: the machine's load cancels out.
                name, value, limit = "÷ the plain list's p50", report.ratio(s["p50_ms"], plain), 2
            report.target(run.results, profile, f"contacts {label} {role}: p50 @{largest:,} {name}", value, limit)
    run.where_time_goes(env, profile, f"contacts-common-word-{largest}", email=WHO[0][0], path=paths["common word"])
