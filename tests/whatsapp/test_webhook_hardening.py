"""Security review items 4 and 6: cross-tenant Meta routing, and no 5xx for bad webhook input."""

import pytest

from tests import factories as f
from tests.whatsapp.conftest import evo_sample, meta_text, post_evolution, post_meta, raw_json, sign, webhook_url
from tickets.models import Message, Ticket
from whatsapp.models import WebhookEvent

pytestmark = pytest.mark.django_db

DEEP = b"[" * 100_000


# --- item 6 -----------------------------------------------------------------------------------------
def test_non_ascii_meta_signature_is_401_not_500(client, meta_conn):
    raw = raw_json(meta_text(meta_conn))
    response = client.post(
        webhook_url(meta_conn),
        data=raw,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256="sha256=ção" + "0" * 61,
    )
    assert response.status_code == 401 and WebhookEvent.objects.count() == 0


def test_non_ascii_evolution_apikey_header_is_401_not_500(client, evo_conn):
    body = evo_sample("evolution_messages_upsert_text.json")
    body.pop("apikey", None)
    response = client.post(
        webhook_url(evo_conn), data=raw_json(body), content_type="application/json", HTTP_APIKEY="çhave"
    )
    assert response.status_code == 401 and WebhookEvent.objects.count() == 0


def test_deep_nesting_unsigned_is_401_and_never_parsed(client, meta_conn):
    response = client.post(webhook_url(meta_conn), data=DEEP, content_type="application/json")
    assert response.status_code == 401 and WebhookEvent.objects.count() == 0


def test_deep_nesting_signed_is_400_not_500(client, meta_conn):
    response = post_meta(client, meta_conn, DEEP, signature=sign(meta_conn.app_secret, DEEP))
    assert response.status_code == 400 and WebhookEvent.objects.count() == 0


@pytest.mark.parametrize("header", [False, True])
def test_deep_nesting_to_evolution_is_4xx_not_500(client, evo_conn, header):
    extra = {"HTTP_APIKEY": evo_conn.api_key} if header else {}
    response = client.post(webhook_url(evo_conn), data=DEEP, content_type="application/json", **extra)
    assert response.status_code == (400 if header else 401) and WebhookEvent.objects.count() == 0


def test_evolution_envelope_key_still_authenticates(client, evo_conn):
    response = post_evolution(client, evo_conn, evo_sample("evolution_messages_upsert_text.json"))
    assert response.status_code == 200 and WebhookEvent.objects.count() == 1


# --- item 4 -----------------------------------------------------------------------------------------
def test_a_body_naming_another_tenants_number_never_lands_in_that_tenant(client, tenant, outsider):
    """One Meta app (one app secret) shared by two resellers: B's number posted to A's URL stays out of B."""
    shared = "one-meta-app-secret"
    a = f.make_connection(tenant.reseller, tenant.suporte, key="a-meta", phone_number_id="111", app_secret=shared)
    b = outsider.connection
    b.app_secret = shared
    b.save()
    body = meta_text(b, wa_id="5511977770001", text="olá B")  # metadata names B's phone number id
    assert body["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] == b.phone_number_id
    response = post_meta(client, a, body)
    assert response.status_code == 200
    assert not Ticket.objects.filter(reseller=outsider.reseller).exists()
    assert not Message.objects.filter(connection=b).exists()
    # The same body on B's own URL lands in B.
    body = meta_text(b, wa_id="5511977770001", text="olá de novo")
    assert post_meta(client, b, body).status_code == 200
    assert Message.objects.filter(connection=b, text="olá de novo").exists()


def test_routing_by_number_still_works_within_one_tenant(client, tenant):
    shared = "one-meta-app-secret"
    a = f.make_connection(tenant.reseller, tenant.suporte, key="a-meta", phone_number_id="111", app_secret=shared)
    a2 = f.make_connection(tenant.reseller, tenant.financeiro, key="a2-meta", phone_number_id="222", app_secret=shared)
    assert post_meta(client, a, meta_text(a2, text="pelo segundo número")).status_code == 200
    assert Message.objects.get(text="pelo segundo número").connection_id == a2.pk


def _post_chunked(path: str, raw: bytes, **headers) -> int:
    """A POST the way gunicorn hands over a chunked body: no Content-Length, the decoded stream terminated."""
    import io

    from django.test import RequestFactory
    from django.test.client import ClientHandler

    environ = RequestFactory()._base_environ(
        PATH_INFO=path, REQUEST_METHOD="POST", CONTENT_TYPE="application/json", **headers
    )
    environ.pop("CONTENT_LENGTH", None)
    environ.update({"wsgi.input": io.BytesIO(raw), "wsgi.input_terminated": True})
    # The test client's own handler: Django's full request handling from this environ, without closing
    # the test's database connection at the request's end as a real server's handler would.
    return ClientHandler()(environ).status_code


def test_a_chunked_body_without_content_length_is_read_whole(meta_conn, settings):
    raw = raw_json(meta_text(meta_conn, text="enviado em pedaços"))
    signature = sign(meta_conn.app_secret, raw)
    assert _post_chunked(webhook_url(meta_conn), raw, HTTP_X_HUB_SIGNATURE_256=signature) == 200
    assert Message.objects.filter(text="enviado em pedaços").count() == 1
    # The limit holds for a chunked body too: 413, nothing stored.
    settings.WHATSAPP_WEBHOOK_MAX_BYTES = len(raw) - 1
    before = WebhookEvent.objects.count()
    assert _post_chunked(webhook_url(meta_conn), raw, HTTP_X_HUB_SIGNATURE_256=signature) == 413
    assert WebhookEvent.objects.count() == before
