"""The REST API's ticket list at the largest queue size (100,000 tickets in a full run), over HTTP.

`GET /api/v1/tickets/` as an agent (its departments) and as the supervisor (the whole tenant), the default
order (newest activity first, the queue's keyset) and a state filter, plus the syncing order
(`updated_after`, on the change feed's index), each with a Bearer token made for the run. Targets, as for
the queue pages (bench/pages.py): p50 ÷ /healthz p50 under load, and the API list against the same user's
queue page at that size (a page of 25 as JSON should not cost more than the page that renders 25 as HTML).
"""

from __future__ import annotations

from urllib.parse import urlencode

from bench import polls, report, scenarios
from bench.loadgen import get
from bench.proc import task

WHO = [("agente1@demo.local", "agent"), ("revenda@demo.local", "supervisor")]


def run(run, profile: str, env: dict, tenant: dict, out: dict, health, health1) -> None:
    cfg = run.cfg
    largest = max(cfg.queue_sizes)
    seeded = task(env, "seed_queue", total=largest, connection_key=tenant["meta_key"])  # no-op after `pages`
    if seeded["added"]:
        run.row(profile, f"seed to {largest:,} tickets", notes=f"+{seeded['added']:,} in {seeded['seconds']} s")
    secrets = task(env, "api_tokens", emails=[email for email, _role in WHO])
    headers = {email: {"Authorization": f"Bearer {secret}"} for email, secret in secrets.items()}
    status = scenarios.probe(cfg.port, "GET", "/api/v1/tickets/", headers[WHO[0][0]])
    if status != 200:
        run.note(f"{profile}: API not measured: /api/v1/tickets/ answered {status}")
        return
    h50 = health.summary()["p50_ms"]
    since = task(env, "api_sync_point")["updated_after"]
    lists = [
        ("tickets", "/api/v1/tickets/"),
        ("tickets espera", "/api/v1/tickets/?status=espera"),
        ("tickets updated_after", "/api/v1/tickets/?" + urlencode({"updated_after": since})),
    ]
    rows = out.setdefault("api", [])
    for email, role in WHO:
        counts = task(env, "api_query_counts", email=email, paths=[p for _label, p in lists])
        for label, path in lists:
            load = run.load(get(path, headers[email]), cfg.page_s, f"API {label} as {role} at {largest:,}")
            c = counts[path]
            s = run.row(
                profile,
                f"API {label} {role} @ {largest:,}",
                load,
                queries=c["queries"],
                notes=f"{c['bytes'] // 1024} KiB, {c['results']} tickets",
            )
            rows.append({"size": largest, "list": label, "role": role, "path": path, **c, **s})
            report.target(
                run.results,
                profile,
                f"API {label} {role}: p50 @{largest:,} ÷ /healthz p50",
                report.ratio(s["p50_ms"], h50),
                polls.LOADED_PAGE_LIMIT,
            )
            if label == "tickets espera":
                page = [
                    q["p50_ms"]
                    for q in out.get("queue", [])
                    if (q["size"], q["state"], q["role"]) == (largest, "espera", role)
                ]
                if page:
                    report.target(
                        run.results,
                        profile,
                        f"API {label} {role}: p50 ÷ the queue page's p50 @{largest:,}",
                        report.ratio(s["p50_ms"], page[0]),
                        1.0,
                    )
        one = polls.one_client_page(
            run, profile, f"API tickets {role} @ {largest:,}", lists[0][1], headers[email], health1.summary()
        )
        out.setdefault("api_one_client", []).append({"role": role, **one})
