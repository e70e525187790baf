"""Real provider bodies (the sample payloads), signed or keyed for real, posted to the real webhook."""

import hashlib
import hmac
import itertools
import json

from tests import factories as f

_seq = itertools.count(1)


def _raw(body) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def meta_text_body(connection, *, wa_id: str, text: str, name: str = "Maria", ts: int = 1749416383) -> dict:
    body = f.load_payload("meta_text.json")
    value = body["entry"][0]["changes"][0]["value"]
    value["metadata"]["phone_number_id"] = connection.phone_number_id
    value["contacts"][0].update(wa_id=wa_id, profile={"name": name})
    message = value["messages"][0]
    message.update({"from": wa_id, "id": f"wamid.ADM{next(_seq):08d}", "timestamp": str(ts)})
    message["text"]["body"] = text
    return body


def post_meta(client, connection, body):
    raw = _raw(body)
    signature = "sha256=" + hmac.new(connection.app_secret.encode(), raw, hashlib.sha256).hexdigest()
    return client.post(
        f"/whatsapp/webhook/{connection.key}/",
        data=raw,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=signature,
    )


def post_meta_text(client, connection, *, wa_id: str, text: str, ts: int = 1749416383):
    response = post_meta(client, connection, meta_text_body(connection, wa_id=wa_id, text=text, ts=ts))
    assert response.status_code == 200, response.content
    return response


def post_evolution_text(client, connection, *, text: str = "olá"):
    body = f.load_payload("evolution_messages_upsert_text.json")
    body["instance"] = connection.instance_name
    body["data"]["key"]["id"] = f"3EB0ADM{next(_seq):08d}"
    body["data"]["message"]["conversation"] = text
    body["apikey"] = connection.api_key
    response = client.post(f"/whatsapp/webhook/{connection.key}/", data=_raw(body), content_type="application/json")
    assert response.status_code == 200, response.content
    return response
