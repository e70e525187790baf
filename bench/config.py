"""Knobs of one benchmark run. Everything has a default that fits `make bench` in 20 minutes
on a 2-core machine; BENCH_QUICK=1 shrinks every phase for a smoke run of a couple of minutes."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def _env(name: str, default, cast=str):
    raw = os.environ.get(name)
    return default if raw in (None, "") else cast(raw)


def _ints(raw: str) -> list[int]:
    return [int(x) for x in raw.replace(" ", "").split(",") if x]


@dataclass
class Config:
    quick: bool
    profiles: list[str]
    pg_url: str
    port: int
    workers: int
    worker_class: str
    threads: int
    concurrency: int
    ceiling_s: float
    healthz_s: float
    ingest_s: float
    ingest_clients: int
    page_s: float
    one_client_s: float
    queue_sizes: list[int]
    conversation_messages: int
    claim_agents: int
    claim_tickets: int
    outbox_messages: int
    outbox_workers: list[int]
    outbox_latency_ms: int
    webhook_events: int
    keep: bool
    scenarios: list[str]
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> Config:
        quick = _env("BENCH_QUICK", "0") not in ("0", "false", "no")
        q = (lambda full, short: short) if quick else (lambda full, short: full)
        return cls(
            quick=quick,
            profiles=_env("BENCH_PROFILES", "sqlite,postgresql").replace(" ", "").split(","),
            pg_url=_env("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/iaze_bench"),
            port=_env("BENCH_PORT", 18600, int),
            # gunicorn's own rule, 2 × CPUs + 1 (5 on 2 cores): requests wait on commits
            # (fsync) more than on the CPU, and 5 beat 3 on both profiles in our runs.
            workers=_env("BENCH_WORKERS", 2 * len(os.sched_getaffinity(0)) + 1, int),
            worker_class=_env("BENCH_WORKER_CLASS", "sync"),
            threads=_env("BENCH_THREADS", 4, int),
            concurrency=_env("BENCH_CONCURRENCY", 16, int),
            ceiling_s=_env("BENCH_CEILING_S", q(10.0, 3.0), float),
            healthz_s=_env("BENCH_HEALTHZ_S", q(20.0, 4.0), float),
            ingest_s=_env("BENCH_INGEST_S", q(60.0, 5.0), float),
            ingest_clients=_env("BENCH_INGEST_CLIENTS", q(5000, 500), int),
            page_s=_env("BENCH_PAGE_S", q(6.0, 3.0), float),
            # One client's sequential requests (/healthz, pages, polls), each phase.
            one_client_s=_env("BENCH_ONE_CLIENT_S", q(5.0, 2.0), float),
            queue_sizes=_ints(_env("BENCH_QUEUE_SIZES", q("1000,10000,100000", "1000,5000"))),
            conversation_messages=_env("BENCH_CONVERSATION_MESSAGES", 5000, int),
            claim_agents=_env("BENCH_CLAIM_AGENTS", 32, int),
            claim_tickets=_env("BENCH_CLAIM_TICKETS", 100, int),
            outbox_messages=_env("BENCH_OUTBOX_MESSAGES", q(300, 120), int),
            outbox_workers=_ints(_env("BENCH_OUTBOX_WORKERS", "1,4")),
            outbox_latency_ms=_env("BENCH_OUTBOX_LATENCY_MS", 50, int),
            webhook_events=_env("BENCH_WEBHOOK_EVENTS", q(2000, 300), int),
            keep=_env("BENCH_KEEP", "0") not in ("0", "false", "no"),
            scenarios=_env(
                "BENCH_SCENARIOS", "ingest,pages,polls,reports,search,contacts,api,claims,outbox,webhooks,live"
            )
            .replace(" ", "")
            .split(","),
        )
