"""Live updates' latency: from a webhook's 200 to its event on an open /eventos/ stream, over real processes.

    .venv/bin/python -m bench.live_latency [--webhooks 400] [--clients 16] [--workers 2] [--streams 1]
        [--profile sqlite|postgresql]

Starts gunicorn as `make run` does (uvicorn workers, iaze.asgi) on the embedded SQLite profile (or a
scratch PostgreSQL database on DATABASE_URL's server, whose NOTIFY wakes the readers) in a
temporary DATA_DIR with the demo tenant, opens `--streams` streams of an agent of the connection's
department, and posts `--webhooks` signed Meta text webhooks from `--clients` concurrent connections, each
from a new client (so each opens a ticket: a `ticket.created` event). The latency of a webhook is the
moment its event arrived on the first stream minus the moment its 200 came back. Prints p50, p95 and max
as JSON (CONTRACT §7: p95 ≤ 1 s at 16 connections). Uses the process tests' harness (tests/ops/helpers).
"""

from __future__ import annotations

import argparse
import json
import queue
import statistics
import tempfile
import threading
import time
from pathlib import Path

import requests

from tests.ops.helpers import ROOT, Agent, App, meta_text_body, post_meta, scratch, seed

MAP = """
import json, django
django.setup()
from tickets.models import Ticket
print(json.dumps({str(t.pk): t.client.wa_id for t in Ticket.objects.select_related("client")}))
"""


class Listener:
    """An agent's /eventos/ stream, read in a thread: (arrival, data) of each event on a queue."""

    def __init__(self, agent: Agent):
        self.response = agent.s.get(f"{agent.base}/eventos/", stream=True, timeout=30)
        self.events: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        try:
            for line in self.response.iter_lines(decode_unicode=True):
                if line and line.startswith("data: "):
                    self.events.put((time.monotonic(), json.loads(line[6:])))
        except requests.RequestException:
            pass


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--webhooks", type=int, default=400)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--streams", type=int, default=1)
    # postgresql: a scratch database on DATABASE_URL's server, the reader woken by LISTEN/NOTIFY.
    ap.add_argument("--profile", choices=("sqlite", "postgresql"), default="sqlite")
    args = ap.parse_args()
    template = json.loads((ROOT / "tests" / "payloads" / "meta_text.json").read_text())
    with tempfile.TemporaryDirectory() as tmp, scratch(Path(tmp), args.profile) as db:
        seed(db)
        app = App(db, workers=args.workers).start()
        try:
            streams = [Listener(Agent(app.base, "agente1@demo.local")) for _ in range(args.streams)]
            answered: dict[str, float] = {}
            todo = iter(range(args.webhooks))
            lock = threading.Lock()

            def post():
                session = requests.Session()
                while True:
                    with lock:
                        i = next(todo, None)
                    if i is None:
                        return
                    wa_id = f"55219{i:08d}"
                    body = meta_text_body(template, wamid=f"wamid.LAT{i:06d}", wa_id=wa_id, text=f"oi {i}")
                    r = post_meta(session, app.base, body, timeout=30)
                    at = time.monotonic()
                    if r.status_code == 200:
                        with lock:
                            answered[wa_id] = at

            started = time.monotonic()
            posters = [threading.Thread(target=post) for _ in range(args.clients)]
            for t in posters:
                t.start()
            for t in posters:
                t.join()
            posting_s = time.monotonic() - started
            arrived: dict[str, float] = {}
            deadline = time.monotonic() + 60
            while len(arrived) < len(answered) and time.monotonic() < deadline:
                try:
                    at, event = streams[0].events.get(timeout=max(0.1, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if event["type"] == "ticket.created":
                    arrived.setdefault(event["ticket"], at)
            tickets = json.loads(db.manage("shell", "-c", MAP).stdout.strip().splitlines()[-1])
            latencies = sorted(arrived[t] - answered[w] for t, w in tickets.items() if t in arrived and w in answered)
            q = statistics.quantiles(latencies, n=100) if len(latencies) >= 2 else latencies * 99
            print(
                json.dumps(
                    {
                        "webhooks_200": len(answered),
                        "events_matched": len(latencies),
                        "missing": len(answered) - len(latencies),
                        "profile": args.profile,
                        "clients": args.clients,
                        "workers": args.workers,
                        "streams": args.streams,
                        "webhooks_per_s": round(len(answered) / posting_s, 1),
                        "latency_p50_s": round(statistics.median(latencies), 3) if latencies else None,
                        "latency_p95_s": round(q[94], 3) if latencies else None,
                        "latency_max_s": round(latencies[-1], 3) if latencies else None,
                    }
                )
            )
        finally:
            app.stop_quietly()


if __name__ == "__main__":
    main()
