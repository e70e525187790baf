"""The load client: threads over keep-alive `http.client` connections, fixed duration.

One client for every scenario, so ratios between scenarios compare the server and
not the client. Each thread owns one connection (reopened transparently when a
sync gunicorn worker closes it) and sends the next request as soon as the
previous answer is read: a closed loop, so the concurrency is exactly `concurrency`.
"""

from __future__ import annotations

import asyncio
import http.client
import math
import multiprocessing
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

# (method, path, body, headers, token): token is handed back with the status,
# so a scenario can tell which of its requests were accepted.
Request = tuple[str, str, bytes | None, dict, object]
RequestFactory = Callable[[int, int], Request]
# Called with (status, body) after each answer, from the connection's thread: lets a scenario
# follow the server (a poll picks up the new version stamp a 200 carries).
Observer = Callable[[int, bytes], None]


@dataclass
class LoadResult:
    concurrency: int
    duration_s: float
    latencies_s: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    accepted_tokens: list = field(default_factory=list)
    first_error: str = ""
    # The successful requests' latencies by status: a poll's 204s apart from its 200s.
    latencies_by_status: dict[int, list[float]] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    @property
    def ok(self) -> int:
        return sum(n for code, n in self.statuses.items() if 200 <= code < 400)

    @property
    def rate(self) -> float:
        return self.ok / self.duration_s if self.duration_s else 0.0

    def pct(self, q: float) -> float | None:
        """Latency percentile in milliseconds over the successful requests."""
        value = percentile(sorted(self.latencies_s), q)
        return None if value is None else value * 1000

    def pct_of(self, status: int, q: float) -> float | None:
        """Latency percentile in milliseconds over the answers with this status only."""
        value = percentile(sorted(self.latencies_by_status.get(status, [])), q)
        return None if value is None else value * 1000

    def rate_of(self, status: int) -> float:
        return len(self.latencies_by_status.get(status, [])) / self.duration_s if self.duration_s else 0.0

    def summary(self) -> dict:
        return {
            "concurrency": self.concurrency,
            "duration_s": round(self.duration_s, 2),
            "requests": self.requests,
            "ok": self.ok,
            "errors": self.errors,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "rate_per_s": round(self.rate, 1),
            "p50_ms": _r(self.pct(50)),
            "p95_ms": _r(self.pct(95)),
            "p99_ms": _r(self.pct(99)),
            "first_error": self.first_error,
        }


def percentile(data: list[float], q: float) -> float | None:
    """Nearest-rank percentile of already sorted data."""
    if not data:
        return None
    return data[max(0, min(len(data) - 1, math.ceil(q / 100 * len(data)) - 1))]


def _r(value):
    return None if value is None else round(value, 2)


def run_load(
    host: str,
    port: int,
    factory: RequestFactory,
    *,
    concurrency: int = 16,
    duration_s: float = 10.0,
    timeout_s: float = 30.0,
    observe: Observer | None = None,
) -> LoadResult:
    """Drive `concurrency` connections for `duration_s` seconds and collect every answer."""
    result = LoadResult(concurrency=concurrency, duration_s=duration_s)
    lock = threading.Lock()
    start = threading.Barrier(concurrency + 1)
    deadline = [0.0]

    def worker(index: int) -> None:
        conn = http.client.HTTPConnection(host, port, timeout=timeout_s)
        latencies, statuses, tokens, errors, first_error = [], {}, [], 0, ""
        by_status: dict[int, list[float]] = {}
        start.wait()
        seq = 0
        while time.perf_counter() < deadline[0]:
            method, path, body, headers, token = factory(index, seq)
            seq += 1
            t0 = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                resp = conn.getresponse()
                body = resp.read()
            except (OSError, http.client.HTTPException) as exc:
                errors += 1
                first_error = first_error or f"{type(exc).__name__}: {exc}"
                conn.close()
                continue
            elapsed = time.perf_counter() - t0
            statuses[resp.status] = statuses.get(resp.status, 0) + 1
            if observe is not None:
                observe(resp.status, body)
            if 200 <= resp.status < 400:
                latencies.append(elapsed)
                by_status.setdefault(resp.status, []).append(elapsed)
                if token is not None:
                    tokens.append(token)
            if resp.will_close:
                conn.close()
        conn.close()
        with lock:
            result.latencies_s.extend(latencies)
            result.accepted_tokens.extend(tokens)
            result.errors += errors
            result.first_error = result.first_error or first_error
            for code, n in statuses.items():
                result.statuses[code] = result.statuses.get(code, 0) + n
            for code, values in by_status.items():
                result.latencies_by_status.setdefault(code, []).extend(values)

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(concurrency)]
    for t in threads:
        t.start()
    t_start = time.perf_counter()
    deadline[0] = t_start + duration_s
    start.wait()
    for t in threads:
        t.join()
    # Requests in flight at the deadline finish after it: count the real elapsed time.
    result.duration_s = time.perf_counter() - t_start
    return result


def get(path: str, headers: dict | None = None) -> RequestFactory:
    headers = dict(headers or {})
    return lambda _i, _n: ("GET", path, None, headers, None)


# --- the client's own ceiling ------------------------------------------------------------

_FIXED = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n{"status": "ok"}'


async def _serve_fixed(port: int, ready) -> None:
    async def handle(reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                if length:
                    await reader.readexactly(length)
                writer.write(_FIXED)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    ready.set()
    async with server:
        await server.serve_forever()


def _fixed_server_main(port: int, ready) -> None:
    asyncio.run(_serve_fixed(port, ready))


def client_ceiling(port: int, *, concurrency: int, duration_s: float) -> LoadResult:
    """The same client against a server that does nothing (a fixed answer, keep-alive):
    the most this client can measure on this machine."""
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    proc = ctx.Process(target=_fixed_server_main, args=(port, ready), daemon=True)
    proc.start()
    try:
        if not ready.wait(15):
            raise RuntimeError("the fixed-answer server did not start")
        return run_load("127.0.0.1", port, get("/healthz"), concurrency=concurrency, duration_s=duration_s)
    finally:
        proc.terminate()
        proc.join(5)
