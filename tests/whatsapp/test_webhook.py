"""The webhook view: handshake, authentication, journal-first, idempotence, body limits."""

import json

import pytest

from tests import factories as f
from tests.support.webhooks import evo_sample, meta_text, post_evolution, post_meta, raw_json, sign, webhook_url
from tickets.models import Message, Ticket
from whatsapp.models import WebhookEvent

pytestmark = pytest.mark.django_db


# --- GET handshake ---------------------------------------------------------------------------
def test_handshake_answers_challenge_as_plain_text(client, meta_conn):
    r = client.get(
        webhook_url(meta_conn),
        {"hub.mode": "subscribe", "hub.verify_token": "meta-verify-token", "hub.challenge": "1158201444"},
    )
    assert r.status_code == 200 and r.content == b"1158201444" and r["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "meatyhamhock", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": "meta-verify-token", "hub.challenge": "1"},
        {"hub.challenge": "1"},
    ],
)
def test_handshake_refused(client, meta_conn, params):
    assert client.get(webhook_url(meta_conn), params).status_code == 403


def test_handshake_refused_when_connection_has_no_token(client, tenant):
    conn = f.make_connection(tenant.reseller, tenant.suporte, verify_token="")
    r = client.get(webhook_url(conn), {"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"})
    assert r.status_code == 403


# --- POST authentication (Meta) ------------------------------------------------------------
@pytest.mark.parametrize(
    "signature",
    [
        False,  # missing
        "sha256=" + "0" * 64,  # wrong
        "sha256=not-hex",  # malformed
        "sha256=",  # empty
        "deadbeef",  # no scheme
    ],
)
def test_bad_meta_signature_is_401_and_nothing_stored(client, meta_conn, signature):
    r = post_meta(client, meta_conn, meta_text(meta_conn), signature=signature)
    assert r.status_code == 401
    assert WebhookEvent.objects.count() == 0 and Message.objects.count() == 0


def test_sha1_signature_is_refused(client, meta_conn):
    import hashlib
    import hmac

    raw = raw_json(meta_text(meta_conn))
    sha1 = "sha1=" + hmac.new(b"meta-app-secret", raw, hashlib.sha1).hexdigest()
    r = client.post(
        webhook_url(meta_conn),
        data=raw,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE=sha1,
        HTTP_X_HUB_SIGNATURE_256=sha1,
    )
    assert r.status_code == 401 and WebhookEvent.objects.count() == 0


def test_signature_with_another_secret_is_refused(client, meta_conn):
    r = post_meta(client, meta_conn, meta_text(meta_conn), secret="outra-secret")
    assert r.status_code == 401 and WebhookEvent.objects.count() == 0


def test_signature_over_reserialised_json_fails_raw_non_ascii_passes(client, meta_conn):
    body = meta_text(meta_conn, text="Olá, não recebi o código 😊 ¿qué? 你好")
    raw = raw_json(body)  # UTF-8 bytes as they came over the wire
    reserialised = json.dumps(json.loads(raw)).encode()  # what a parse-and-dump would sign: \u escapes
    assert raw != reserialised
    r = post_meta(client, meta_conn, raw, signature=sign(meta_conn.app_secret, reserialised))
    assert r.status_code == 401 and WebhookEvent.objects.count() == 0
    r = post_meta(client, meta_conn, raw)
    assert r.status_code == 200
    assert Message.objects.get().text == "Olá, não recebi o código 😊 ¿qué? 你好"
    assert bytes(WebhookEvent.objects.get().body) == raw


def test_uppercase_hex_signature_is_accepted(client, meta_conn):
    raw = raw_json(meta_text(meta_conn))
    r = post_meta(client, meta_conn, raw, signature="sha256=" + sign(meta_conn.app_secret, raw)[7:].upper())
    assert r.status_code == 200


def test_connection_without_app_secret_accepts_nothing(client, tenant):
    conn = f.make_connection(tenant.reseller, tenant.suporte, app_secret="")
    r = post_meta(client, conn, meta_text(conn), secret="")
    assert r.status_code == 401 and WebhookEvent.objects.count() == 0


# --- POST authentication (Evolution) -------------------------------------------------------
def test_evolution_apikey_in_envelope_or_header(client, evo_conn):
    assert post_evolution(client, evo_conn, evo_sample("evolution_messages_upsert_text.json")).status_code == 200
    body = evo_sample("evolution_messages_upsert_image_caption.json")
    assert post_evolution(client, evo_conn, body, header=True).status_code == 200
    assert Message.objects.count() == 2


@pytest.mark.parametrize("apikey", ["wrong", "", "EVO-API-KEY"])
def test_evolution_wrong_or_missing_apikey_is_401(client, evo_conn, apikey):
    r = post_evolution(client, evo_conn, evo_sample("evolution_messages_upsert_text.json"), apikey=apikey)
    assert r.status_code == 401 and WebhookEvent.objects.count() == 0


def test_evolution_apikey_null_in_envelope_is_401(client, evo_conn):
    body = evo_sample("evolution_connection_update_open.json")  # the sample carries "apikey": null
    r = client.post(webhook_url(evo_conn), data=raw_json(body), content_type="application/json")
    assert r.status_code == 401 and WebhookEvent.objects.count() == 0


# --- POST shape, keys, size ----------------------------------------------------------------------
@pytest.mark.parametrize("raw", [b"not json", b'{"entry": [', b"", b"\xff\xfe{}"])
def test_signed_body_that_is_not_json_is_400(client, meta_conn, raw):
    r = post_meta(client, meta_conn, raw)
    assert r.status_code == 400 and WebhookEvent.objects.count() == 0


def test_evolution_body_not_json_with_header_key_is_400(client, evo_conn):
    r = client.post(webhook_url(evo_conn), data=b"<xml/>", content_type="application/json", HTTP_APIKEY="evo-api-key")
    assert r.status_code == 400 and WebhookEvent.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [
        {"hello": "world"},
        [1, 2, 3],
        "just a string",
        {"object": "page", "entry": [{"changes": [{"field": "feed", "value": {}}]}]},
    ],
)
def test_json_not_of_provider_shape_is_stored_and_ignored(client, meta_conn, body):
    r = post_meta(client, meta_conn, body)
    assert r.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.state == WebhookEvent.State.IGNORED and Message.objects.count() == 0


def test_unknown_and_inactive_keys_are_404(client, meta_conn):
    body = meta_text(meta_conn)
    from django.test import Client

    r = Client().post(
        "/whatsapp/webhook/nope/",
        data=raw_json(body),
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=sign(meta_conn.app_secret, raw_json(body)),
    )
    assert r.status_code == 404
    meta_conn.active = False
    meta_conn.save()
    assert post_meta(client, meta_conn, body).status_code == 404
    assert client.get(webhook_url(meta_conn), {"hub.mode": "subscribe"}).status_code == 404
    assert WebhookEvent.objects.count() == 0


def test_other_methods_are_405(client, meta_conn):
    assert client.put(webhook_url(meta_conn), data=b"{}").status_code == 405


def test_four_megabyte_batch_is_accepted(client, meta_conn, settings):
    """Above Django's DATA_UPLOAD_MAX_MEMORY_SIZE (1 MB) and REQUEST_MAX_BYTES, below the webhook's cap."""
    body = meta_text(meta_conn, text="grande")
    body["entry"][0]["changes"][0]["value"]["padding"] = "x" * (4 * 1024 * 1024)
    raw = raw_json(body)
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE < len(raw) < settings.WHATSAPP_WEBHOOK_MAX_BYTES
    assert settings.REQUEST_MAX_BYTES < len(raw)  # the webhook keeps its own cap
    r = post_meta(client, meta_conn, raw)
    assert r.status_code == 200 and Message.objects.get().text == "grande"


def test_body_over_the_limit_is_413(client, meta_conn, settings):
    settings.WHATSAPP_WEBHOOK_MAX_BYTES = 10_000
    body = meta_text(meta_conn)
    body["padding"] = "x" * 10_001
    r = post_meta(client, meta_conn, body)
    assert r.status_code == 413 and WebhookEvent.objects.count() == 0


# --- journal first, idempotence ---------------------------------------------------------------------
def test_same_delivery_five_times_is_one_event_one_message(client, meta_conn):
    raw = raw_json(meta_text(meta_conn, text="uma vez"))
    answers = [post_meta(client, meta_conn, raw) for _ in range(5)]
    assert [a.status_code for a in answers] == [200] * 5
    assert [a.json()["duplicate"] for a in answers] == [False, True, True, True, True]
    assert WebhookEvent.objects.count() == 1 and Message.objects.count() == 1 and Ticket.objects.count() == 1


def test_same_message_in_a_different_body_is_stored_once(client, meta_conn):
    body = meta_text(meta_conn, message_id="wamid.same")
    post_meta(client, meta_conn, body)
    body["entry"][0]["id"] = "another-envelope"
    assert post_meta(client, meta_conn, body).status_code == 200
    assert WebhookEvent.objects.count() == 2 and Message.objects.count() == 1


def test_processing_error_is_recorded_and_still_200(client, meta_conn, monkeypatch):
    from whatsapp import inbound as services

    def boom(**kwargs):
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(services, "message_ingest", boom)
    r = post_meta(client, meta_conn, meta_text(meta_conn))
    assert r.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.state == WebhookEvent.State.FAILED and "database hiccup" in event.error and event.attempts == 1
    monkeypatch.undo()
    # The provider's retry of the same delivery completes the work.
    assert post_meta(client, meta_conn, bytes(event.body)).status_code == 200
    event.refresh_from_db()
    assert event.state == WebhookEvent.State.PROCESSED and Message.objects.count() == 1


def test_journal_keeps_raw_body_and_signature_header(client, meta_conn):
    raw = raw_json(meta_text(meta_conn))
    post_meta(client, meta_conn, raw)
    event = WebhookEvent.objects.get()
    assert bytes(event.body) == raw and event.headers["X-Hub-Signature-256"].startswith("sha256=")
    assert event.event_type == "meta:messages" and event.processed_at is not None
