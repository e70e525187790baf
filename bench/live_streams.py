"""Idle live streams one server holds: memory per stream, CPU with nothing changing, and a page's time meanwhile.

    .venv/bin/python -m bench.live_streams [--streams 2000] [--workers 2] [--idle 30] [--pages 30]
        [--profile sqlite|postgresql]

Starts gunicorn as `make run` does (uvicorn workers, iaze.asgi) on the embedded SQLite profile in a
temporary DATA_DIR with the demo tenant, logs the demo agents in, and then:

1. times `--pages` GETs of the queue (`/tickets/?status=espera`, an agent's page) with no stream open, and
   reads the server's CPU seconds over `--idle` seconds with nothing happening (the floor);
2. opens `--streams` `/eventos/` streams (raw asyncio sockets, one HTTP/1.1 request each, the agents'
   session cookies in turn), each read and discarded as it comes (the stream's keep-alive comments);
3. with them all held: the server's RSS (master and workers, from /proc) against before, the CPU seconds
   over `--idle` seconds with nothing changing, and the queue page's times again;
4. checks that every stream is still open at the end.

Prints one JSON object (CONTRACT §7, issue "Live" figure 2: ≥ 2,000 streams with the pages in their usual
times; memory per idle stream; the CPU they cost, near zero). Linux only (/proc).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from tests.ops.helpers import Agent, App, scratch, seed

AGENTS = ("agente1@demo.local", "agente2@demo.local", "agente3@demo.local")
TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def server_pids(master: int) -> list[int]:
    """The gunicorn master and its workers (the processes whose parent is the master)."""
    pids = [master]
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == master:
            pids.append(int(entry))
    return pids


def rss_bytes(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
        except OSError:
            pass
    return total


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (the 14th and 15th fields)
    return total / TICKS


def page_times(agent: Agent, n: int) -> dict:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        r = agent.s.get(f"{agent.base}/tickets/?status=espera", timeout=30)
        times.append(time.perf_counter() - started)
        assert r.status_code == 200, r.status_code
    times.sort()
    return {
        "median_ms": round(statistics.median(times) * 1000, 1),
        "p95_ms": round(times[max(0, int(len(times) * 0.95) - 1)] * 1000, 1),
        "max_ms": round(times[-1] * 1000, 1),
    }


class Stream:
    """One /eventos/ stream on its own socket: the answer's status, then every byte read and dropped."""

    def __init__(self):
        self.status = 0
        self.received = 0
        self.closed = False
        self.writer: asyncio.StreamWriter | None = None

    async def open(self, port: int, cookie: str) -> None:
        reader, self.writer = await asyncio.open_connection("127.0.0.1", port)
        self.writer.write(
            (
                f"GET /eventos/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n"
                f"Cookie: sessionid={cookie}\r\n\r\n"
            ).encode()
        )
        await self.writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        self.status = int(head.split(b" ", 2)[1])
        self.task = asyncio.create_task(self._drain(reader))

    async def _drain(self, reader: asyncio.StreamReader) -> None:
        while True:
            chunk = await reader.read(4096)
            if not chunk:
                self.closed = True
                return
            self.received += len(chunk)


async def open_streams(port: int, cookies: list[str], n: int, batch: int = 50) -> list[Stream]:
    streams = [Stream() for _ in range(n)]
    for start in range(0, n, batch):  # in batches: the listen backlog is finite
        await asyncio.gather(
            *(s.open(port, cookies[i % len(cookies)]) for i, s in enumerate(streams[start : start + batch], start))
        )
    return streams


async def measure(app: App, agents: list[Agent], args) -> dict:
    pids = server_pids(app.proc.pid)
    probe = agents[0]
    result: dict = {
        "profile": args.profile,
        "streams_asked": args.streams,
        "workers": args.workers,
        "idle_s": args.idle,
    }
    result["page_before"] = await asyncio.to_thread(page_times, probe, args.pages)
    rss_before = rss_bytes(pids)
    cpu0 = cpu_seconds(pids)
    await asyncio.sleep(args.idle)
    result["cpu_s_idle_no_streams"] = round(cpu_seconds(pids) - cpu0, 2)

    cookies = [a.s.cookies.get("sessionid") for a in agents]
    started = time.monotonic()
    streams = await open_streams(app.port, cookies, args.streams)
    result["open_s"] = round(time.monotonic() - started, 1)
    result["streams_200"] = sum(s.status == 200 for s in streams)
    await asyncio.sleep(5)  # every stream past its first recheck: the steady state
    pids = server_pids(app.proc.pid)
    rss_after = rss_bytes(pids)
    cpu0 = cpu_seconds(pids)
    await asyncio.sleep(args.idle)
    cpu_streams = cpu_seconds(pids) - cpu0
    result["page_with_streams"] = await asyncio.to_thread(page_times, probe, args.pages)
    result["rss_before_mib"] = round(rss_before / 2**20, 1)
    result["rss_after_mib"] = round(rss_after / 2**20, 1)
    result["rss_per_stream_kib"] = round((rss_after - rss_before) / max(1, result["streams_200"]) / 1024, 1)
    result["cpu_s_idle_with_streams"] = round(cpu_streams, 2)
    result["cpu_share_of_one_core"] = round(cpu_streams / args.idle, 3)
    result["streams_open_at_end"] = sum(not s.closed for s in streams)
    result["bytes_per_stream"] = round(sum(s.received for s in streams) / max(1, len(streams)))
    for s in streams:
        s.task.cancel()
        if s.writer is not None:
            s.writer.close()
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--streams", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--idle", type=float, default=30)
    ap.add_argument("--pages", type=int, default=30)
    # postgresql: a scratch database on DATABASE_URL's server (its readers woken by LISTEN/NOTIFY).
    ap.add_argument("--profile", choices=("sqlite", "postgresql"), default="sqlite")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, scratch(Path(tmp), args.profile) as db:
        seed(db)
        app = App(db, workers=args.workers).start()
        try:
            agents = [Agent(app.base, email) for email in AGENTS]
            print(json.dumps(asyncio.run(measure(app, agents, args))))
        finally:
            app.stop_quietly()


if __name__ == "__main__":
    main()
