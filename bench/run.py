"""`make bench`: the whole benchmark, profile by profile, against real gunicorn servers.

Every latency target is a ratio against the same server's own GET /healthz measured
in the same run, with the same client, so machines and noise cancel out.
"""

from __future__ import annotations

import contextlib
import os
import platform
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from bench import (
    api_bench,
    contacts_bench,
    live_bench,
    outbox_bench,
    pages,
    report,
    reports_bench,
    scenarios,
    search_bench,
    webhooks_bench,
)
from bench.config import RESULTS, ROOT, Config
from bench.loadgen import client_ceiling, get, run_load
from bench.proc import TaskFailed, task
from bench.server import Gunicorn, cpu_count


def profile_env(cfg: Config, profile: str, data_dir: Path, mongo_url: str = "") -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MONGO_URL")}
    env.update(
        DATA_DIR=str(data_dir),
        SECRET_KEY="bench-secret-key-not-for-production-" + "x" * 20,
        DEBUG="0",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
        # The bench's fake provider listens on 127.0.0.1.
        IAZE_ALLOW_PRIVATE_PROVIDER_HOSTS="1",
        # The API's per-token rate limit is off: the bench measures the list, not the limiter.
        API_RATE_LIMIT="",
    )
    if profile == "postgresql":
        env["DATABASE_URL"] = cfg.pg_url
    elif profile == "mongodb":
        env.update(MONGO_URL=mongo_url, MONGO_DB_NAME="iaze_bench")
    elif profile != "sqlite":
        raise SystemExit(f"unknown profile {profile!r} (sqlite, postgresql, mongodb)")
    return env


class Run:
    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.failed = False
        self.stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        self.profile_dir = RESULTS / f"{self.stamp}-profiles"
        self.results = {
            "started_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
            "machine": {"cpus": cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
            "config": {k: v for k, v in vars(cfg).items() if k != "extra"},
            "profiles": {},
            "rows": [],
            "targets": [],
            "notes": [],
            "where_time_goes": [],
        }

    # --- small pieces -------------------------------------------------------------------------
    def row(self, profile, scenario, load=None, **extra):
        s = load.summary() if load is not None else {}
        self.results["rows"].append(
            {
                "profile": profile,
                "scenario": scenario,
                "rate/s": s.get("rate_per_s"),
                "p50 ms": s.get("p50_ms"),
                "p95 ms": s.get("p95_ms"),
                "p99 ms": s.get("p99_ms"),
                **extra,
            }
        )
        return s

    def note(self, text):
        print(f"  ! {text}", flush=True)
        self.results["notes"].append(text)

    def where_time_goes(self, env, profile, name, **kwargs):
        """In-process pyinstrument profile of the same request, to explain a figure."""
        try:
            res = task(env, "profile_requests", name=f"{profile}-{name}", out_dir=str(self.profile_dir), **kwargs)
        except TaskFailed as exc:
            self.note(f"{profile}: profiling {name} failed: {exc}")
            return
        res["report"] = str(Path(res["report"]).relative_to(ROOT))
        res["name"] = name
        self.results["where_time_goes"].append({"profile": profile, **res})

    def load(self, factory, duration, label, *, concurrency: int | None = None, observe=None):
        """A closed loop of `concurrency` connections (the run's, 16 by default; 1 = one client's
        sequential requests, the way one agent uses the pages)."""
        n = concurrency or self.cfg.concurrency
        print(f"  {label}: {n} connection{'s' if n > 1 else ''} × {duration:g} s", flush=True)
        return run_load("127.0.0.1", self.cfg.port, factory, concurrency=n, duration_s=duration, observe=observe)

    # --- the run -------------------------------------------------------------------------
    def main(self) -> int:
        cfg = self.cfg
        print(f"client ceiling (fixed-answer server, {cfg.ceiling_s:g} s)", flush=True)
        ceiling = client_ceiling(cfg.port + 2, concurrency=cfg.concurrency, duration_s=cfg.ceiling_s)
        self.results["client_ceiling"] = self.row("-", "client ceiling (no-op server)", ceiling)
        for profile in cfg.profiles:
            t0 = time.monotonic()
            print(f"\n=== profile: {profile} ===", flush=True)
            try:
                self.profile(profile)
            except Exception:
                self.failed = True
                self.note(f"{profile}: aborted: {traceback.format_exc(limit=3)}")
            self.results["profiles"].setdefault(profile, {})["seconds"] = round(time.monotonic() - t0, 1)
        report.print_table(self.results)
        path = report.write_json(self.results, RESULTS / f"{self.stamp}.json")
        print(f"\nJSON: {path.relative_to(ROOT)}")
        return 1 if self.failed else 0

    def profile(self, profile: str) -> None:
        cfg = self.cfg
        if profile == "postgresql" and (problem := pg_unreachable(cfg.pg_url)):
            self.note(f"postgresql: skipped: {problem} (set BENCH_PG_URL, or BENCH_PROFILES=sqlite)")
            return
        out = self.results["profiles"].setdefault(profile, {})
        with tempfile.TemporaryDirectory(prefix=f"iaze-bench-{profile}-") as tmp, mongo_server(profile) as mongo_url:
            tmp = self.tmp = Path(tmp)
            env = profile_env(cfg, profile, tmp / "data", mongo_url)
            out["database"] = task(env, "create_db")
            if mongo_url:
                out["database"]["server"] = "SecantusDB (a MongoDB wire-protocol test server), a separate process"
            try:
                self.profile_body(profile, env, tmp, out)
            finally:
                if not cfg.keep:
                    task(env, "destroy_db")

    def profile_body(self, profile: str, env: dict, tmp: Path, out: dict) -> None:
        cfg = self.cfg
        tenant = task(
            env, "seed_tenant", api_base=f"http://127.0.0.1:{cfg.port + 1}", extra_agents=max(0, cfg.claim_agents - 2)
        )
        # The app's settings plus one calibration route (bench.bare); everything else is the app as served.
        server = Gunicorn(
            env={**env, "DJANGO_SETTINGS_MODULE": "bench.settings"},
            port=cfg.port,
            workers=cfg.workers,
            worker_class=cfg.worker_class,
            threads=cfg.threads,
            log_path=tmp / "gunicorn.log",
        )
        with server:
            warmup = min(5.0, cfg.healthz_s / 2)
            out["healthz_warmup"] = self.load(get("/healthz"), warmup, "GET /healthz (warm-up)").summary()
            if "ingest" in cfg.scenarios:
                self.ingest(profile, env, tmp, tenant, out)
                self.bare_webhook(profile, tenant, out)
            health = self.load(get("/healthz"), cfg.healthz_s, "GET /healthz (baseline)")
            out["healthz"] = self.row(profile, "GET /healthz (baseline)", health)
            health1 = self.load(get("/healthz"), cfg.one_client_s, "GET /healthz, one client", concurrency=1)
            out["healthz_one_client"] = self.row(profile, "GET /healthz, one client (baseline)", health1)
            self.ingest_targets(profile, out, health)
            out["memory_after_ingest"] = server.worker_memory()
            if "pages" in cfg.scenarios:
                pages.queue_and_conversation(self, profile, env, tenant, out, health, health1)
                out["memory_after_pages"] = server.worker_memory()
                if "reports" in cfg.scenarios:
                    reports_bench.run(self, profile, env, tenant, out, health, server)
            if "search" in cfg.scenarios:
                search_bench.run(self, profile, env, tenant, out, health)
            if "contacts" in cfg.scenarios:
                contacts_bench.run(self, profile, env, tenant, out, health)
            if "api" in cfg.scenarios:
                api_bench.run(self, profile, env, tenant, out, health, health1)
        self.memory(profile, out)
        if "claims" in cfg.scenarios:
            self.claims(profile, env, out)
        if "outbox" in cfg.scenarios:
            outbox_bench.run(self, profile, env, tmp, out)
        if "webhooks" in cfg.scenarios:
            webhooks_bench.run(self, profile, env, out)
        if "live" in cfg.scenarios:
            live_bench.run(self, profile, out)

    def ingest(self, profile, env, tmp, tenant, out, *, at_size: int = 0) -> None:
        """Signed Meta text events over HTTP, then count: every 200 must be exactly one stored message.
        With at_size, a shorter second run once the queue holds that many tickets."""
        cfg = self.cfg
        path = f"/whatsapp/webhook/{tenant['meta_key']}/"
        status = scenarios.probe(cfg.port, "POST", path, {"Content-Type": "application/json"}, b"{}")
        if status != 401:
            self.note(f"{profile}: webhook ingest not measured: unsigned POST {path} answered {status}, not 401")
            return
        prefix = f"{scenarios.INGEST_PREFIX}at{at_size}." if at_size else scenarios.INGEST_PREFIX
        factory = scenarios.meta_text_events(
            key=tenant["meta_key"],
            secret=tenant["meta_secret"],
            phone_number_id=tenant["phone_number_id"],
            clients=cfg.ingest_clients,
            prefix=prefix,
        )
        duration = cfg.ingest_s / 4 if at_size else cfg.ingest_s
        label = f"POST webhook (Meta text) @ {at_size:,}" if at_size else "POST webhook (Meta text)"
        load = self.load(factory, duration, label)
        ids = scenarios.write_ids(load.accepted_tokens, tmp / f"accepted-ids-{at_size}.txt")
        check = task(env, "ingest_check", connection_key=tenant["meta_key"], ids_file=str(ids), prefix=prefix)
        result = {
            "load": self.row(profile, label, load, notes=f"lost {check['lost']}, dup {check['duplicated']}"),
            "check": check,
        }
        if at_size:
            out.setdefault("ingest_at_size", {})[str(at_size)] = result
        else:
            out["ingest"] = result
        self.where_time_goes(
            env,
            profile,
            f"webhook-{at_size}" if at_size else "webhook",
            webhook={
                "path": path,
                "key": tenant["meta_key"],
                "secret": tenant["meta_secret"],
                "phone_number_id": tenant["phone_number_id"],
            },
        )
        if check["lost"] or check["duplicated"]:
            self.failed = True
            self.note(f"{profile}: ingest lost {check['lost']} and duplicated {check['duplicated']} events")

    def bare_webhook(self, profile, tenant, out) -> None:
        factory = scenarios.meta_text_events(
            key=tenant["meta_key"],
            secret=tenant["meta_secret"],
            phone_number_id=tenant["phone_number_id"],
            clients=self.cfg.ingest_clients,
            path=f"/_bench/bare-webhook/{tenant['meta_key']}/",
        )
        load = self.load(factory, self.cfg.ingest_s / 4, "POST bare webhook (calibration: HMAC + 2 rows)")
        out["bare_webhook"] = self.row(profile, "POST bare webhook (HMAC + 2 inserts)", load)

    def ingest_targets(self, profile, out, health) -> None:
        load = (out.get("ingest") or {}).get("load") or {}
        h = health.summary()
        bare = out.get("bare_webhook") or {}
        if bare.get("rate_per_s") and h["rate_per_s"]:
            self.results["notes"].append(
                f"{profile}: calibration: a bare webhook (HMAC + 2 inserts) reaches "
                f"{report.ratio(bare['rate_per_s'], h['rate_per_s'])}× the /healthz rate on this machine; "
                f"the full ingest path reaches {report.ratio(load.get('rate_per_s'), bare['rate_per_s'])}× "
                f"the bare webhook"
            )
        # The targets compare the webhook with the least a webhook can do on the same server.
        report.target(
            self.results,
            profile,
            "webhook accepted/s ÷ bare webhook/s",
            report.ratio(load.get("rate_per_s"), bare.get("rate_per_s")),
            0.6,
            at_least=True,
        )
        report.target(
            self.results,
            profile,
            "webhook p99 ÷ bare webhook p99",
            report.ratio(load.get("p99_ms"), bare.get("p99_ms")),
            3,
        )

    def memory(self, profile, out) -> None:
        for phase in ("memory_after_ingest", "memory_after_pages"):
            workers = out.get(phase) or {}
            peak = max((w["peak_mib"] for w in workers.values()), default=None)
            out[phase + "_peak_mib"] = None if peak is None else round(peak, 1)
        peak_all = max((v for k, v in out.items() if k.endswith("_peak_mib") and v), default=None)
        self.row(profile, "peak RSS of one worker (MiB)", notes=f"{peak_all}")
        report.target(self.results, profile, "peak RSS of one gunicorn worker (MiB)", peak_all, 100, unit=" MiB")

    def claims(self, profile, env, out) -> None:
        cfg = self.cfg
        print(f"  claim contention: {cfg.claim_agents} agents × {cfg.claim_tickets} tickets", flush=True)
        res = task(env, "claims", agents=cfg.claim_agents, tickets=cfg.claim_tickets, connection_key="demo-meta")
        out["claims"] = res
        ok = (
            res["claimed_exactly_once"] == res["tickets"] == res["holder_matches_winner"]
            and res["claim_events_per_ticket_max"] == 1
            and not res["errors"]
        )
        self.results["rows"].append(
            {
                "profile": profile,
                "scenario": f"claim race ({res['agents']} agents, {res['tickets']} tickets)",
                "p50 ms": res["p50_ms"],
                "p95 ms": res["p95_ms"],
                "p99 ms": res["p99_ms"],
                "notes": f"claimed once: {res['claimed_exactly_once']}/{res['tickets']}",
            }
        )
        if not ok:
            self.failed = True
            self.note(f"{profile}: claim race broke the exactly-once rule: {res}")


@contextlib.contextmanager
def mongo_server(profile: str):
    """The mongodb profile's server: BENCH_MONGO_URL, or a SecantusDB started (and removed) for the run,
    as a separate process exactly like the mongodb test lane's (tests/secantus.py)."""
    if profile != "mongodb":
        yield ""
        return
    if os.environ.get("BENCH_MONGO_URL"):
        yield os.environ["BENCH_MONGO_URL"]
        return
    from tests.secantus import start

    server = start()
    try:
        yield server.url
    finally:
        server.stop()


def pg_unreachable(url: str) -> str | None:
    try:
        import psycopg

        with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", connect_timeout=3):
            return None
    except Exception as exc:
        return f"PostgreSQL is not reachable at {url}: {str(exc).strip()[:200]}"


def main() -> None:
    cfg = Config.from_env()
    if "--quick" in sys.argv[1:]:
        os.environ["BENCH_QUICK"] = "1"
        cfg = Config.from_env()
    sys.exit(Run(cfg).main())
