"""A fake WhatsApp provider for tests, demos and benchmarks (Meta Cloud API + Evolution API sends).

It answers with the providers' real response shapes, records every call, and can be
told to fail or to be slow.

In-process (tests):

    from tests.fake_provider import FakeProvider

    with FakeProvider() as fake:                  # binds 127.0.0.1 on a free port (or port=...)
        connection.api_base_url = fake.url        # Meta:      POST {url}/{phone_number_id}/messages
        ...                                       # Evolution: POST {url}/message/sendText/{instance}
        fake.fail_next("130429", times=2)         # then answers normally again
        fake.fail_always("500")                   # until fake.reset()
        fake.latency_ms = 50
        fake.calls                                # list of Call(provider, path, headers, json, status, at)
        fake.texts()                              # the texts it was asked to send, in order

Evolution's pairing and history (tests of whatsapp.health / whatsapp.recovery):

        fake.connect_answer = {...}               # GET {url}/instance/connect/{instance} (default: a QR code)
        fake.history = [record, ...]              # POST {url}/chat/findMessages/{instance}: messages.upsert
        fake.history_endless = True               #   `data` records, filtered by where.messageTimestamp.gte,
                                                  #   paged by the body's page/offset (or a never-ending paging)

Failure modes: "500" (HTTP 500), "130429" (rate limit), "131056" (pair rate limit), "131047"
(24-hour window closed), "400" (Evolution-style bad request), "timeout" (holds the request
without answering for `hang_seconds`, default 30, or until stop()).

Standalone (other processes: `seed_demo --api-base http://127.0.0.1:P`):

    python -m tests.fake_provider --port P [--latency-ms 50] [--host 127.0.0.1]

and control it over HTTP: GET /_fake/calls (JSON list), POST /_fake/fail {"mode": "500", "times": 3}
(times 0 = always), POST /_fake/latency {"ms": 50}, POST /_fake/reset.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import secrets
import threading
import time
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

META_PATH = re.compile(r"^(?:/[^/]+)*/(?P<phone>[^/]+)/messages$")
EVOLUTION_PATH = re.compile(r"^(?:/[^/]+)*/message/sendText/(?P<instance>[^/]+)$")
CONNECT_PATH = re.compile(r"^(?:/[^/]+)*/instance/connect/(?P<instance>[^/]+)$")
FIND_MESSAGES_PATH = re.compile(r"^(?:/[^/]+)*/chat/findMessages/(?P<instance>[^/]+)$")
# A 1x1 PNG: what the gateway's `base64` field carries, a data: URI of the QR image.
QR_PNG = (
    "data:image/png;base64,"
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
DEFAULT_CONNECT = {"pairingCode": "WZYEH1YY", "code": "2@FAKEQRPAYLOAD,abc,def", "base64": QR_PNG, "count": 1}

META_ERRORS = {
    "130429": (
        400,
        130429,
        "(#130429) Rate limit hit",
        "Message failed to send because there were too many messages sent from this phone number "
        "in a short period of time",
    ),
    "131056": (
        400,
        131056,
        "(#131056) (Business Account, Consumer Account) pair rate limit hit",
        "Message failed to send because there were too many messages sent from this phone number "
        "to the same phone number in a short period of time",
    ),
    "131047": (
        400,
        131047,
        "(#131047) Re-engagement message",
        "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
    ),
    "500": (500, 1, "An unknown error occurred", "Service temporarily unavailable"),
    "400": (400, 100, "(#100) Invalid parameter", "Parameter value is not valid"),
}


@dataclass
class Call:
    provider: str
    path: str
    headers: dict
    json: dict | None
    status: int = 0
    at: float = field(default_factory=time.time)


class FakeProvider:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, latency_ms: int = 0, hang_seconds: float = 30.0):
        self.latency_ms = latency_ms
        self.hang_seconds = hang_seconds
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._failures: list[str] = []
        self._always: str | None = None
        self._ids = itertools.count(1)
        # Ids stay unique across restarts of the fake, like the real providers' ids.
        self._run = secrets.token_hex(4).upper()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer((host, port), _handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None
        self.connect_answer: dict = dict(DEFAULT_CONNECT)
        self.history: list[dict] = []
        self.history_endless = False

    # --- control -------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def fail_next(self, mode: str, times: int = 1) -> None:
        self._check(mode)
        with self._lock:
            self._failures.extend([mode] * times)

    def fail_always(self, mode: str | None) -> None:
        if mode:
            self._check(mode)
        with self._lock:
            self._always = mode

    def reset(self) -> None:
        with self._lock:
            self._failures.clear()
            self._always = None
            self.calls.clear()
            self.latency_ms = 0
            self.connect_answer = dict(DEFAULT_CONNECT)
            self.history = []
            self.history_endless = False

    def history_calls(self) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.provider == "evolution:findMessages"]

    def texts(self) -> list[str]:
        with self._lock:
            return [_text_of(c) for c in self.calls if c.provider in ("meta", "evolution")]

    # --- lifecycle -----------------------------------------------------------------------
    def start(self) -> FakeProvider:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-provider", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # --- internals -----------------------------------------------------------------------
    @staticmethod
    def _check(mode: str) -> None:
        if mode != "timeout" and mode not in META_ERRORS:
            raise ValueError(f"unknown failure mode {mode!r}")

    def _next_failure(self) -> str | None:
        with self._lock:
            if self._failures:
                return self._failures.pop(0)
            return self._always

    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    def answer(self, provider: str, body: dict) -> tuple[int, dict | None]:
        """(status, JSON) for one send; None means hang without answering."""
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)
        failure = self._next_failure()
        if failure == "timeout":
            self._stopping.wait(self.hang_seconds)
            return 0, None
        if failure:
            status, code, message, details = META_ERRORS[failure]
            if provider == "meta":
                return status, {
                    "error": {
                        "message": message,
                        "type": "OAuthException",
                        "code": code,
                        "error_data": {"messaging_product": "whatsapp", "details": details},
                        "fbtrace_id": "AFakeTrace",
                    }
                }
            return status, {
                "status": status,
                "error": "Internal Server Error" if status >= 500 else "Bad Request",
                "response": {"message": [f"{message}: {details}"]},
            }
        n = next(self._ids)
        if provider == "meta":
            return 200, {
                "messaging_product": "whatsapp",
                "contacts": [{"input": body.get("to", ""), "wa_id": str(body.get("to", "")).lstrip("+")}],
                "messages": [{"id": f"wamid.FAKE{self._run}{n:08d}"}],
            }
        number = str(body.get("number", ""))
        key = {"remoteJid": f"{number}@s.whatsapp.net", "fromMe": True, "id": f"3EB0FAKE{self._run}{n:08X}"}
        return 201, {
            "key": key,
            "pushName": "Você",
            "status": "PENDING",
            "message": {"conversation": body.get("text", "")},
            "contextInfo": None,
            "messageType": "conversation",
            "messageTimestamp": int(time.time()),
            "instanceId": "00000000-0000-4000-8000-00000000fake",
            "source": "unknown",
        }

    def failure_answer(self) -> tuple[int, dict] | None:
        """A configured failure for the pairing/history endpoints (Evolution's error shape), or None."""
        failure = self._next_failure()
        if not failure or failure == "timeout":
            return None
        status, _code, message, details = META_ERRORS[failure]
        error = "Internal Server Error" if status >= 500 else "Bad Request"
        return status, {"status": status, "error": error, "response": {"message": [f"{message}: {details}"]}}

    def find_messages(self, body: dict) -> tuple[int, dict]:
        """Evolution v2's findMessages answer: {"messages": {"total", "pages", "currentPage", "records"}}."""
        failed = self.failure_answer()
        if failed:
            return failed
        where = (body.get("where") or {}).get("messageTimestamp") or {}
        gte = int(where.get("gte") or 0)
        page = max(1, int(body.get("page") or 1))
        size = max(1, int(body.get("offset") or 50))
        with self._lock:
            records = [r for r in self.history if int(r.get("messageTimestamp") or 0) >= gte]
        if self.history_endless:  # a gateway whose paging never ends: always one more page, same records
            return 200, {
                "messages": {"total": 10**9, "pages": page + 1, "currentPage": page, "records": records[:size]}
            }
        pages = max(1, -(-len(records) // size))
        chunk = records[(page - 1) * size : page * size]
        return 200, {"messages": {"total": len(records), "pages": pages, "currentPage": page, "records": chunk}}


def _text_of(call: Call) -> str:
    body = call.json or {}
    return (body.get("text") or {}).get("body", "") if call.provider == "meta" else body.get("text", "")


def _handler(fake: FakeProvider):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes; with Nagle on, keep-alive clients stall ~40 ms per call.
        disable_nagle_algorithm = True

        def log_message(self, *args):  # keep test output clean
            pass

        def _json_body(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                return json.loads(raw) if raw else None
            except ValueError:
                return None

        def _send(self, status: int, body) -> None:
            data = json.dumps(body, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path.rstrip("/") == "/_fake/calls":
                with fake._lock:
                    return self._send(200, [asdict(c) for c in fake.calls])
            path = self.path.split("?", 1)[0]
            if CONNECT_PATH.match(path):
                call = Call(provider="evolution:connect", path=path, headers=dict(self.headers), json=None)
                fake._record(call)
                if not self.headers.get("apikey"):
                    call.status = 401
                    return self._send(401, {"status": 401, "error": "Unauthorized"})
                call.status, answer = fake.failure_answer() or (200, fake.connect_answer)
                return self._send(call.status, answer)
            self._send(404, {"error": "not found"})

        def do_POST(self):
            body = self._json_body()
            path = self.path.split("?", 1)[0]
            if path.startswith("/_fake/"):
                return self._control(path, body or {})
            if FIND_MESSAGES_PATH.match(path):
                call = Call(provider="evolution:findMessages", path=path, headers=dict(self.headers), json=body)
                fake._record(call)
                if not self.headers.get("apikey"):
                    call.status = 401
                    return self._send(401, {"status": 401, "error": "Unauthorized"})
                call.status, answer = fake.find_messages(body or {})
                return self._send(call.status, answer)
            evo = EVOLUTION_PATH.match(path)
            provider = "evolution" if evo else "meta" if META_PATH.match(path) else None
            if provider is None:
                return self._send(404, {"error": "not found"})
            call = Call(provider=provider, path=path, headers=dict(self.headers), json=body)
            fake._record(call)
            if provider == "meta" and not (self.headers.get("Authorization") or "").startswith("Bearer "):
                call.status = 401
                return self._send(401, {"error": {"message": "Missing access token", "code": 190}})
            if provider == "evolution" and not self.headers.get("apikey"):
                call.status = 401
                return self._send(
                    401, {"status": 401, "error": "Unauthorized", "response": {"message": "Unauthorized"}}
                )
            status, answer = fake.answer(provider, body or {})
            call.status = status
            if answer is None:
                self.close_connection = True
                return
            self._send(status, answer)

        def _control(self, path, body):
            if path == "/_fake/fail":
                times = int(body.get("times", 1))
                fake.fail_always(body.get("mode")) if times == 0 else fake.fail_next(body["mode"], times)
            elif path == "/_fake/latency":
                fake.latency_ms = int(body.get("ms", 0))
            elif path == "/_fake/reset":
                fake.reset()
            else:
                return self._send(404, {"error": "not found"})
            self._send(200, {"ok": True})

    return Handler


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Fake Meta / Evolution send API")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18100)
    parser.add_argument("--latency-ms", type=int, default=0)
    args = parser.parse_args(argv)
    fake = FakeProvider(host=args.host, port=args.port, latency_ms=args.latency_ms)
    print(f"fake provider on {fake.url} (latency {args.latency_ms} ms)", flush=True)
    try:
        fake._server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        fake._server.server_close()


if __name__ == "__main__":
    main()
