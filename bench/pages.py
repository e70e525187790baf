"""Queue pages at growing sizes and one long conversation, over HTTP, plus their query counts."""

from __future__ import annotations

from bench import polls, report, scenarios
from bench.loadgen import get
from bench.proc import task

# (who, role, state): an agent sees its departments' tickets, a supervisor the whole tenant.
QUEUE_PAGES = [
    ("agente1@demo.local", "agent", "espera"),
    ("agente1@demo.local", "agent", "atendendo"),
    ("revenda@demo.local", "supervisor", "espera"),
    ("revenda@demo.local", "supervisor", "atendendo"),
]


def queue_and_conversation(run, profile: str, env: dict, tenant: dict, out: dict, health, health1) -> None:
    cfg = run.cfg
    h50 = health.summary()["p50_ms"]
    loaded, one = health.summary(), health1.summary()
    cookie = {e: {"Cookie": c} for e, c in tenant["cookies"].items()}
    status = scenarios.probe(cfg.port, "GET", "/tickets/?status=espera", cookie["agente1@demo.local"])
    if status != 200:
        run.note(f"{profile}: queue and conversation pages not measured: /tickets/ answered {status}")
        return
    queue = out.setdefault("queue", [])
    for size in cfg.queue_sizes:
        print(f"  seeding {size:,} tickets × 10 messages", flush=True)
        seeded = task(env, "seed_queue", total=size, connection_key=tenant["meta_key"])
        # No ANALYZE of its own on SQLite: the pages meet the database as the app keeps it.
        stats = task(env, "planner_statistics")["statistics"]
        out.setdefault("planner_statistics", {})[str(size)] = stats
        run.row(
            profile,
            f"seed to {size:,} tickets",
            notes=f"+{seeded['added']:,} in {seeded['seconds']} s; planner statistics: {stats}",
        )
        by_user = {}
        for email, _role, state in QUEUE_PAGES:
            by_user.setdefault(email, []).append(f"/tickets/?status={state}")
        counts = {}
        for email, paths in by_user.items():
            for path, c in task(env, "query_counts", email=email, paths=paths).items():
                counts[(email, path)] = c
        for email, role, state in QUEUE_PAGES:
            path = f"/tickets/?status={state}"
            load = run.load(get(path, cookie[email]), cfg.page_s, f"{state} as {role} at {size:,}")
            c = counts[(email, path)]
            s = run.row(
                profile,
                f"queue {state} {role} @ {size:,}",
                load,
                queries=c["queries"],
                notes=f"{c['bytes'] // 1024} KiB",
            )
            queue.append(
                {
                    "size": size,
                    "state": state,
                    "role": role,
                    "queries": c["queries"],
                    "bytes": c["bytes"],
                    "status": c["status"],
                    **s,
                }
            )
    largest = max(cfg.queue_sizes)
    # At the largest size, before the ingest below changes the queues under the polls.
    one_client = out.setdefault("queue_one_client", [])
    for email, role, state in QUEUE_PAGES:
        path = f"/tickets/?status={state}"
        name = f"queue {state} {role} @ {largest:,}"
        one_client.append(
            {"state": state, "role": role, **polls.one_client_page(run, profile, name, path, cookie[email], one)}
        )
    if "polls" in cfg.scenarios:
        for email, role in (("agente1@demo.local", "agent"), ("revenda@demo.local", "supervisor")):
            out.setdefault("polls", {})[f"queue espera {role}"] = polls.poll(
                run, profile, f"queue espera {role}", "/tickets/?status=espera", cookie[email], loaded, one
            )
    if "ingest" in cfg.scenarios:
        # The same ingest once the tables are big: lookups that scan show up here, not on an empty database.
        run.ingest(profile, env, run.tmp, tenant, out, at_size=largest)
    for email, role, state in QUEUE_PAGES:
        run.where_time_goes(
            env, profile, f"queue-{state}-{role}-{largest}", email=email, path=f"/tickets/?status={state}"
        )
    _queue_targets(run, profile, queue, h50)
    _conversation(run, profile, env, tenant, out, cookie["agente1@demo.local"], loaded, one)


def _queue_targets(run, profile, queue, h50) -> None:
    sizes = sorted({q["size"] for q in queue})
    if not sizes:
        return
    small, large = sizes[0], sizes[-1]
    for state in ("espera", "atendendo"):
        for role in ("agent", "supervisor"):
            rows = {q["size"]: q for q in queue if q["state"] == state and q["role"] == role}
            if small not in rows or large not in rows:
                continue
            name = f"queue {state} {role}"
            if large != small:
                report.target(
                    run.results,
                    profile,
                    f"{name}: p50 @{large:,} ÷ p50 @{small:,}",
                    report.ratio(rows[large]["p50_ms"], rows[small]["p50_ms"]),
                    1.5,
                )
            report.target(
                run.results,
                profile,
                f"{name}: p50 @{large:,} ÷ /healthz p50",
                report.ratio(rows[large]["p50_ms"], h50),
                polls.LOADED_PAGE_LIMIT,
            )
            spread = len({r["queries"] for r in rows.values()})
            report.target(run.results, profile, f"{name}: distinct query counts over sizes", spread, 1, unit="")


def _conversation(run, profile, env, tenant, out, cookie, loaded, one) -> None:
    cfg = run.cfg
    h50 = loaded["p50_ms"]
    print(f"  seeding one conversation of {cfg.conversation_messages:,} messages", flush=True)
    conv = task(
        env,
        "seed_conversation",
        messages=cfg.conversation_messages,
        connection_key=tenant["meta_key"],
        agent_email="agente1@demo.local",
    )
    long_path, short_path = f"/tickets/{conv['ticket']}/", f"/tickets/{conv['small_ticket']}/"
    counts = task(env, "query_counts", email="agente1@demo.local", paths=[long_path, short_path])
    load = run.load(get(long_path, cookie), cfg.page_s, f"conversation of {cfg.conversation_messages:,} messages")
    long_q, short_q = counts[long_path]["queries"], counts[short_path]["queries"]
    s = run.row(
        profile,
        f"conversation, {cfg.conversation_messages:,} messages",
        load,
        queries=long_q,
        notes=f"{short_q} queries with 10 messages; {counts[long_path]['bytes'] // 1024} KiB",
    )
    run.where_time_goes(
        env, profile, f"conversation-{cfg.conversation_messages}", email="agente1@demo.local", path=long_path
    )
    out["conversation"] = {**s, "queries": long_q, "queries_10_messages": short_q, "bytes": counts[long_path]["bytes"]}
    report.target(
        run.results,
        profile,
        "conversation p50 ÷ /healthz p50",
        report.ratio(s["p50_ms"], h50),
        polls.LOADED_PAGE_LIMIT,
    )
    name = f"conversation, {cfg.conversation_messages:,} messages"
    out["conversation_one_client"] = polls.one_client_page(run, profile, name, long_path, cookie, one)
    if "polls" in cfg.scenarios:
        out.setdefault("polls", {})["conversation"] = polls.poll(
            run, profile, "conversation", long_path, cookie, loaded, one
        )
    report.target(run.results, profile, "conversation queries (5,000 msgs) − (10 msgs)", long_q - short_q, 0, unit="")
