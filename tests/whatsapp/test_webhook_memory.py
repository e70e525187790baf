"""Security round three, item 3: an unauthenticated webhook costs its raw bytes, nothing more.

An 8 MB Evolution body without a key raised a worker by 213 MB before its 401: the body was parsed as JSON
to find the envelope's `apikey`, and 8 MB of `{}` decode into millions of dicts. The key is now looked for
in the raw bytes (providers.evolution.apikeys_in_raw_body) and a body without it is refused
before anything is built from it. bench/webhook_memory.py measures the same on a real gunicorn (RSS)."""

import json
import os
import tracemalloc

import pytest
from django.test import RequestFactory

from iaze.lib import blobs
from providers.evolution import APIKEY_CANDIDATES, apikeys_in_raw_body
from tests.whatsapp.conftest import evo_sample, post_evolution, raw_json, webhook_url
from tickets.models import Message
from whatsapp.models import WebhookEvent
from whatsapp.views import webhook

pytestmark = pytest.mark.django_db

BODY_SIZE = 8 * 1024 * 1024


def object_bomb(apikey: str | None = None, *, size: int = BODY_SIZE) -> bytes:
    """An Evolution envelope whose `data` is ~8 MB of `{}`: cheap to send, ~40× its size once parsed.
    The `apikey` member comes last, where Evolution puts it (after `data`)."""
    head = b'{"event":"messages.upsert","instance":"demo","data":['
    tail = b'{}],"date_time":"2025-05-01T12:00:00.000Z"'
    if apikey is not None:
        tail += b',"apikey":' + json.dumps(apikey).encode()
    tail += b"}"
    return head + b"{}," * ((size - len(head) - len(tail)) // 3) + tail


def _traced_post(connection, raw: bytes, **headers):
    """The webhook view's own allocations: the request (and its copy of the body) is built before tracing."""
    request = RequestFactory().post(webhook_url(connection), data=raw, content_type="application/json", **headers)
    tracemalloc.start()
    try:
        response = webhook(request, key=connection.key)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return response, peak


def _temp_files():
    return {name for name in os.listdir(blobs.temp_dir()) if name.startswith("webhook-")}


@pytest.mark.parametrize(
    "apikey, headers",
    [
        (None, {}),  # no key at all
        ("wrong-key", {}),  # a wrong key in the envelope
        (None, {"HTTP_APIKEY": "wrong-key"}),  # a wrong key in the header
    ],
    ids=["no-key", "wrong-envelope-key", "wrong-header-key"],
)
def test_an_unauthenticated_8mb_body_is_refused_without_being_parsed(evo_conn, apikey, headers):
    raw = object_bomb(apikey)
    assert len(raw) > BODY_SIZE - 16
    before = _temp_files()
    response, peak = _traced_post(evo_conn, raw, **headers)
    assert response.status_code == 401
    # The raw bytes are read (once); parsing them would cost ~40× their size.
    assert peak < 1.5 * len(raw), f"peak {peak / 2**20:.1f} MB for a {len(raw) / 2**20:.1f} MB body"
    assert WebhookEvent.objects.count() == 0
    assert _temp_files() == before  # the spooled copy is gone too


def test_the_right_key_after_8mb_of_data_still_authenticates(client, evo_conn):
    """The scan reads the whole body: Evolution puts `apikey` after `data`, however large."""
    body = evo_sample("evolution_messages_upsert_text.json", message_id="3EB0BIGBODY0001")
    body["instance"] = evo_conn.instance_name
    body["data"]["message"]["conversation"] = "corpo grande"
    body["data"]["padding"] = "A" * BODY_SIZE  # what base64 media looks like
    body.pop("apikey", None)
    body["apikey"] = evo_conn.api_key  # last, as Evolution sends it
    raw = raw_json(body)
    assert raw.rindex(b'"apikey"') > BODY_SIZE
    response = client.post(webhook_url(evo_conn), data=raw, content_type="application/json")
    assert response.status_code == 200, response.content
    assert WebhookEvent.objects.get().state == "processed"
    assert Message.objects.get().text == "corpo grande"


def test_the_key_in_the_header_still_authenticates(client, evo_conn):
    response = post_evolution(client, evo_conn, evo_sample("evolution_messages_upsert_text.json"), header=True)
    assert response.status_code == 200 and WebhookEvent.objects.count() == 1


def test_the_key_quoted_inside_a_message_text_is_not_the_envelope_key(client, evo_conn):
    body = evo_sample("evolution_messages_upsert_text.json")
    body.pop("apikey", None)
    body["data"]["message"]["conversation"] = f'"apikey": "{evo_conn.api_key}"'  # escaped in the JSON
    response = client.post(webhook_url(evo_conn), data=raw_json(body), content_type="application/json")
    assert response.status_code == 401 and WebhookEvent.objects.count() == 0


def test_a_nested_apikey_member_is_not_the_envelope_key(client, evo_conn):
    """The raw scan only decides whether a body is worth parsing: the decoded envelope's top-level
    `apikey` still decides whether it is authenticated."""
    body = evo_sample("evolution_messages_upsert_text.json")
    body.pop("apikey", None)
    body["data"]["apikey"] = evo_conn.api_key
    response = client.post(webhook_url(evo_conn), data=raw_json(body), content_type="application/json")
    assert response.status_code == 401 and WebhookEvent.objects.count() == 0


def test_an_escaped_envelope_key_is_decoded(client, evo_conn):
    body = evo_sample("evolution_messages_upsert_text.json")
    body["apikey"] = evo_conn.api_key
    raw = raw_json(body).replace(
        f'"apikey":"{evo_conn.api_key[0]}'.encode(), b'"apikey":"\\u%04x' % ord(evo_conn.api_key[0])
    )
    assert evo_conn.api_key.encode() not in raw
    response = client.post(webhook_url(evo_conn), data=raw, content_type="application/json")
    assert response.status_code == 200 and WebhookEvent.objects.count() == 1


def test_the_raw_scan_reads_members_not_strings_and_stops_early():
    assert list(apikeys_in_raw_body(b'{"a":"\\"apikey\\":\\"x\\"","apikey" :\n "k\\u0031"}')) == ["k1"]
    assert list(apikeys_in_raw_body(b'{"apikey":5,"apikey":"","apikey":"' + b"k" * 600 + b'"}')) == []
    many = b"{" + b'"apikey":"no",' * (APIKEY_CANDIDATES + 5) + b'"apikey":"yes"}'
    assert list(apikeys_in_raw_body(many)) == ["no"] * APIKEY_CANDIDATES
