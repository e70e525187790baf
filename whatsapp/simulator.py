"""Provider-shaped inbound bodies, authenticated like the real thing (demo simulator, tests, benchmarks)."""

from __future__ import annotations

import json
import time
import uuid

from .models import Connection
from .providers.meta import signature_header


def meta_text_body(
    *, phone_number_id: str, sender: str, name: str, text: str, message_id: str = "", timestamp: int | None = None
) -> dict:
    message_id = message_id or f"wamid.SIM{uuid.uuid4().hex.upper()}"
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "0",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"display_phone_number": phone_number_id, "phone_number_id": phone_number_id},
                            "contacts": [{"profile": {"name": name}, "wa_id": sender}],
                            "messages": [
                                {
                                    "from": sender,
                                    "id": message_id,
                                    "timestamp": str(timestamp or int(time.time())),
                                    "type": "text",
                                    "text": {"body": text},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }


def evolution_text_body(
    *, instance: str, apikey: str, sender: str, name: str, text: str, message_id: str = "", timestamp: int | None = None
) -> dict:
    return {
        "event": "messages.upsert",
        "instance": instance,
        "data": {
            "key": {
                "remoteJid": f"{sender}@s.whatsapp.net",
                "fromMe": False,
                "id": message_id or uuid.uuid4().hex[:20].upper(),
            },
            "pushName": name,
            "message": {"conversation": text},
            "messageType": "conversation",
            "messageTimestamp": timestamp or int(time.time()),
            "source": "android",
        },
        "apikey": apikey,
    }


def meta_signature(app_secret: str, raw: bytes) -> str:
    return signature_header(app_secret, raw)


def inbound_request(
    connection: Connection, *, sender: str, name: str, text: str, message_id: str = ""
) -> tuple[bytes, dict]:
    """(raw body, headers) ready to POST to the connection's webhook."""
    if connection.provider == Connection.Provider.META:
        body = meta_text_body(
            phone_number_id=connection.phone_number_id, sender=sender, name=name, text=text, message_id=message_id
        )
        raw = json.dumps(body, ensure_ascii=False).encode()
        return raw, {
            "Content-Type": "application/json",
            "X-Hub-Signature-256": meta_signature(connection.app_secret, raw),
        }
    body = evolution_text_body(
        instance=connection.instance_name,
        apikey=connection.api_key,
        sender=sender,
        name=name,
        text=text,
        message_id=message_id,
    )
    return json.dumps(body, ensure_ascii=False).encode(), {"Content-Type": "application/json"}


def last_id(raw: bytes) -> str:
    body = json.loads(raw)
    if "entry" in body:
        return body["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    return body["data"]["key"]["id"]
