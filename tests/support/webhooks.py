"""Webhook bodies for tests: the real sample payloads (tests/payloads/), varied, signed or keyed for real.

Signatures come from the app's own simulator (whatsapp.simulator), the code the demo and benchmarks use too.
"""

import copy
import itertools
import json

from django.urls import reverse

from tests import factories as f
from whatsapp.simulator import meta_signature

_seq = itertools.count(1)


def sign(secret: str, raw: bytes) -> str:
    return meta_signature(secret, raw)


def raw_json(body) -> bytes:
    """Compact UTF-8 bytes, non-ASCII kept as is (not \\u-escaped): the harder case for signatures."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def webhook_url(connection) -> str:
    return reverse("whatsapp:webhook", args=[connection.key])


def post_meta(client, connection, body, *, signature=None, secret=None):
    raw = body if isinstance(body, bytes) else raw_json(body)
    headers = {}
    if signature is not False:
        headers["HTTP_X_HUB_SIGNATURE_256"] = signature or sign(secret or connection.app_secret, raw)
    return client.post(webhook_url(connection), data=raw, content_type="application/json", **headers)


def post_evolution(client, connection, body, *, apikey=None, header=False):
    body = copy.deepcopy(body)
    extra = {}
    if header:
        body.pop("apikey", None)
        extra["HTTP_APIKEY"] = apikey or connection.api_key
    else:
        body["apikey"] = connection.api_key if apikey is None else apikey
    return client.post(webhook_url(connection), data=raw_json(body), content_type="application/json", **extra)


def meta_sample(name: str, connection=None, *, wa_id=None, message_id=None, name_=None) -> dict:
    """A Meta sample with this connection's number and, when asked, another sender / message id."""
    body = f.load_payload(name)
    for entry in body["entry"]:
        for change in entry["changes"]:
            value = change["value"]
            if connection is not None:
                value["metadata"]["phone_number_id"] = connection.phone_number_id
            for m in value.get("messages", []):
                if message_id:
                    m["id"] = message_id
                if wa_id:
                    m["from"] = wa_id
            for s in value.get("statuses", []):
                if message_id:
                    s["id"] = message_id
            for c in value.get("contacts", []):
                if wa_id:
                    c["wa_id"] = wa_id
                if name_ is not None:
                    c["profile"]["name"] = name_
    return body


def meta_text(connection, *, wa_id="5511988880001", text="Olá", message_id=None, name="Maria", ts=1749416383):
    body = meta_sample(
        "meta_text.json", connection, wa_id=wa_id, name_=name, message_id=message_id or f"wamid.T{next(_seq):010d}"
    )
    m = body["entry"][0]["changes"][0]["value"]["messages"][0]
    m["text"]["body"], m["timestamp"] = text, str(ts)
    return body


def evo_sample(name: str, *, message_id=None, jid=None) -> dict:
    body = f.load_payload(name)
    data = body["data"]
    if message_id and "key" in data:
        data["key"]["id"] = message_id
    if jid and "key" in data:
        data["key"]["remoteJid"] = jid
    return body


def meta_status(connection, message_id, status, *, ts=1750263773, error=None) -> dict:
    body = meta_sample("meta_status_delivered.json", connection, message_id=message_id)
    s = body["entry"][0]["changes"][0]["value"]["statuses"][0]
    s["status"], s["timestamp"] = status, str(ts)
    if error:
        s["errors"] = [error]
    return body


def post_meta_text(client, connection, *, wa_id: str, text: str, ts: int = 1749416383):
    """A client's text, posted and accepted (200)."""
    response = post_meta(client, connection, meta_text(connection, wa_id=wa_id, text=text, ts=ts))
    assert response.status_code == 200, response.content
    return response


def post_evolution_text(client, connection, *, text: str = "olá"):
    body = evo_sample("evolution_messages_upsert_text.json", message_id=f"3EB0T{next(_seq):010d}")
    body["instance"] = connection.instance_name
    body["data"]["message"]["conversation"] = text
    response = post_evolution(client, connection, body)
    assert response.status_code == 200, response.content
    return response
