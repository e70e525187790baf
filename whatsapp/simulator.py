"""Provider-shaped inbound bodies, authenticated like the real thing (demo simulator, tests, benchmarks).

Each adapter knows its own wire format (`Provider.simulated_text`); this module only picks the
connection's adapter, so a new provider is simulated by its own module.
"""

from __future__ import annotations

import json

from providers import get_provider
from providers.evolution import evolution_text_body
from providers.meta import meta_text_body, signature_header
from whatsapp.models import Connection

__all__ = ["evolution_text_body", "inbound_request", "last_id", "meta_signature", "meta_text_body"]


def meta_signature(app_secret: str, raw: bytes) -> str:
    return signature_header(app_secret, raw)


def inbound_request(
    connection: Connection, *, sender: str, name: str, text: str, message_id: str = ""
) -> tuple[bytes, dict]:
    """(raw body, headers) ready to POST to the connection's webhook."""
    return get_provider(connection).simulated_text(sender=sender, name=name, text=text, message_id=message_id)


def last_id(raw: bytes) -> str:
    body = json.loads(raw)
    if "entry" in body:
        return body["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    return body["data"]["key"]["id"]
