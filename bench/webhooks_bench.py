"""Outgoing webhook throughput: ticket changes recorded as events and delivered to a local receiver.

One bench task (bench.tasks.webhook_delivery, in its own process with the profile's environment) makes a
webhook for the bench tenant pointing at a receiver on 127.0.0.1 that answers 200 at once, writes
`webhook_events` ticket changes over 20 tickets, then times the two steps the worker runs: the recorder
(changes → events) and the deliveries (signed POSTs on the worker's runner, WEBHOOK_WORKERS threads).
Correctness is checked, not timed: every event delivered, none twice with different content."""

from __future__ import annotations

from bench.proc import task


def run(bench, profile: str, env: dict, out: dict) -> None:
    cfg = bench.cfg
    count = cfg.webhook_events
    print(f"  webhooks: {count} events to a local receiver", flush=True)
    res = task({**env, "IAZE_ALLOW_PRIVATE_PROVIDER_HOSTS": "1"}, "webhook_delivery", events=count)
    out["webhooks"] = res
    bench.results["rows"].append(
        {
            "profile": profile,
            "scenario": "webhook delivery (local receiver)",
            "rate/s": res["delivered_per_s"],
            "notes": f"delivered {res['delivered']}/{count}, twice {res['twice']}, "
            f"recorded {res['recorded_per_s']}/s, {res['threads']} threads",
        }
    )
    if res["delivered"] != count or res["twice"] or res["changed_content"]:
        bench.failed = True
        bench.note(f"{profile}: webhooks: {res}")
