"""Request factories for the HTTP scenarios (no Django here: this runs in the load client)."""

from __future__ import annotations

import http.client
import json
import time
from pathlib import Path

from whatsapp.providers.meta import signature_header

from .config import ROOT
from .loadgen import RequestFactory

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
