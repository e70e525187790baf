"""Request factories for the HTTP scenarios (no Django here: this runs in the load client)."""

from __future__ import annotations

import http.client
import json
import re
import time
from pathlib import Path

from bench.config import ROOT
from bench.loadgen import RequestFactory
from providers.meta import signature_header

META_TEXT = ROOT / "tests" / "payloads" / "meta_text.json"
INGEST_PREFIX = "wamid.bench."


def meta_text_events(
    *, key: str, secret: str, phone_number_id: str, clients: int, prefix: str = INGEST_PREFIX, path: str = ""
) -> RequestFactory:
    """Signed Meta Cloud API text events (the real payload shape), each with a unique message id,
    from `clients` distinct senders: a new sender opens a ticket, a known one adds to it."""
    template = json.loads(META_TEXT.read_text())
    path = path or f"/whatsapp/webhook/{key}/"

    def factory(worker: int, seq: int):
        msg_id = f"{prefix}{worker}.{seq}"
        n = (worker * 7919 + seq * 104729) % clients
        wa_id = f"5511{n:09d}"
        body = json.loads(json.dumps(template))
        value = body["entry"][0]["changes"][0]["value"]
        value["metadata"]["phone_number_id"] = phone_number_id
        value["contacts"][0]["wa_id"] = wa_id
        value["contacts"][0]["profile"]["name"] = f"Cliente Bench {n}"
        message = value["messages"][0]
        message.update(id=msg_id, timestamp=str(int(time.time())), **{"from": wa_id})
        message["text"]["body"] = f"Olá, mensagem {seq} do cliente {n} — pedido nº {worker}{seq}"
        raw = json.dumps(body).encode()  # ensure_ascii: Meta escapes non-ASCII as \uXXXX too
        signature = signature_header(secret, raw)
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": signature}
        return "POST", path, raw, headers, msg_id

    return factory


# The stamp a live fragment polls with: `hx-get="…?v=<stamp>"`
# (templates/tickets/_queue_live.html, templates/tickets/_thread_live.html).
VERSION_RE = re.compile(rb"[?&;]v=([0-9a-f]{8,64})\"")


class Poll:
    """An htmx live refresh, sent the way htmx sends it: `HX-Request: true` and the `v=` stamp the
    fragment carries. An unchanged page answers 204; a 200 brings a fresh fragment whose stamp the
    next poll sends (observe), as the browser's swap would, so a minute rollover costs one 200."""

    def __init__(self, path: str, headers: dict, version: str):
        self.path, self.version, self.refreshed = path, version, 0
        self.headers = {**headers, "HX-Request": "true"}

    def url(self) -> str:
        return f"{self.path}{'&' if '?' in self.path else '?'}v={self.version}"

    def factory(self, _worker: int, _seq: int):
        return "GET", self.url(), None, self.headers, None

    def observe(self, status: int, body: bytes) -> None:
        if status == 200 and (match := VERSION_RE.search(body)):
            self.version = match.group(1).decode()
            self.refreshed += 1


def fetch(port: int, method: str, path: str, headers: dict | None = None, body: bytes | None = None):
    """(status, body) of one request on a fresh connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def poll_for(port: int, path: str, headers: dict) -> Poll | None:
    """A Poll primed with the stamp the live fragment currently carries (None: no stamp found)."""
    status, body = fetch(port, "GET", path, {**headers, "HX-Request": "true"})
    match = VERSION_RE.search(body) if status == 200 else None
    return Poll(path, headers, match.group(1).decode()) if match else None


def probe(port: int, method: str, path: str, headers: dict | None = None, body: bytes | None = None) -> int:
    """The status a path answers with: tells whether a feature is wired in this checkout yet."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def write_ids(tokens, path: Path) -> Path:
    path.write_text("\n".join(tokens))
    return path
