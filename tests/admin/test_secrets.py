"""Connection secrets are write-only: never rendered back, in any admin page, to anyone."""

import pytest
from django.urls import reverse

from tests import factories as f
from tests.support.admin_forms import connection_form_data
from tests.support.webhooks import post_evolution_text, post_meta_text
from whatsapp.models import Connection, WebhookEvent

pytestmark = pytest.mark.django_db

META_SECRETS = {
    "access_token": "EAAGsecretACCESStoken1234",
    "app_secret": "appSECRET-5678-meta",
    "verify_token": "verifyTOKEN-9012",
}
EVO_SECRET = {"api_key": "EVO-apikey-3456-secret", "gateway_key": "EVO-global-7890-secret"}
ALL_SECRETS = [*META_SECRETS.values(), *EVO_SECRET.values()]


@pytest.fixture
def conns(tenant):
    meta = f.make_connection(tenant.reseller, tenant.suporte, key="sec-meta", **META_SECRETS)
    evo = f.make_connection(
        tenant.reseller, tenant.suporte, provider=Connection.Provider.EVOLUTION, key="sec-evo", **EVO_SECRET
    )
    return meta, evo


def _pages(meta, evo, event):
    return [
        reverse("admin:whatsapp_connection_changelist"),
        reverse("admin:whatsapp_connection_changelist") + "?q=sec",
        reverse("admin:whatsapp_connection_add"),
        reverse("admin:whatsapp_connection_change", args=[meta.pk]),
        reverse("admin:whatsapp_connection_change", args=[evo.pk]),
        reverse("admin:whatsapp_connection_history", args=[meta.pk]),
        reverse("admin:whatsapp_connection_connect"),
        reverse("admin:whatsapp_connection_connect_meta"),
        reverse("admin:whatsapp_webhookevent_changelist"),
        reverse("admin:whatsapp_webhookevent_change", args=[event.pk]),
        reverse("admin:tickets_ticket_changelist"),
        reverse("admin:index"),
    ]


def _assert_clean(content: bytes, secrets=ALL_SECRETS):
    text = content.decode()
    leaked = [s for s in secrets if s in text]
    assert leaked == []


@pytest.mark.parametrize("who", ["admin_user", "reseller_user"])
def test_no_page_renders_a_secret(client, conns, who, request):
    meta, evo = conns
    post_evolution_text(client, evo, text="segredo?")  # the journal keeps the apikey inside the raw body
    post_meta_text(client, meta, wa_id="5511933330003", text="oi")
    event = WebhookEvent.objects.get(connection=evo)
    assert EVO_SECRET["api_key"].encode() in bytes(event.body)  # stored raw, as the journal must

    client.force_login(request.getfixturevalue(who))
    for url in _pages(meta, evo, event):
        response = client.get(url)
        assert response.status_code == 200, url
        _assert_clean(response.content)
    # The masked journal is still readable.
    page = client.get(reverse("admin:whatsapp_webhookevent_change", args=[event.pk])).content.decode()
    assert "segredo?" in page and "••••••••" in page


def test_blank_secret_keeps_the_stored_one_and_a_new_one_replaces_it(client, conns, admin_user):
    meta, _evo = conns
    client.force_login(admin_user)
    url = reverse("admin:whatsapp_connection_change", args=[meta.pk])
    response = client.post(url, connection_form_data(meta, name="Renomeada"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    meta.refresh_from_db()
    assert meta.name == "Renomeada"
    assert {k: getattr(meta, k) for k in META_SECRETS} == META_SECRETS

    response = client.post(url, connection_form_data(meta, app_secret="novo-APP-secret-0000"))
    assert response.status_code == 302
    meta.refresh_from_db()
    assert meta.app_secret == "novo-APP-secret-0000" and meta.access_token == META_SECRETS["access_token"]
    _assert_clean(client.get(url).content, [*ALL_SECRETS, "novo-APP-secret-0000"])
    _assert_clean(
        client.get(reverse("admin:whatsapp_connection_history", args=[meta.pk])).content,
        [*ALL_SECRETS, "novo-APP-secret-0000"],
    )


def test_a_form_error_does_not_echo_the_typed_secret(client, conns, admin_user, outsider):
    meta, _evo = conns
    client.force_login(admin_user)
    url = reverse("admin:whatsapp_connection_change", args=[meta.pk])
    # Another tenant's department: refused, and the page comes back with the form.
    response = client.post(
        url,
        connection_form_data(meta, default_department=str(outsider.department.pk), access_token="typed-NEW-token-7777"),
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    _assert_clean(response.content, [*ALL_SECRETS, "typed-NEW-token-7777"])
    meta.refresh_from_db()
    assert meta.access_token == META_SECRETS["access_token"] and meta.default_department_id != outsider.department.pk


def test_change_page_shows_the_webhook_url_ready_to_copy(client, conns, reseller_user, settings):
    settings.ALLOWED_HOSTS = ["atendimento.example.com"]
    meta, _evo = conns
    client.force_login(reseller_user)
    response = client.get(
        reverse("admin:whatsapp_connection_change", args=[meta.pk]), secure=True, HTTP_HOST="atendimento.example.com"
    )
    assert response.status_code == 200
    assert b'value="https://atendimento.example.com/whatsapp/webhook/sec-meta/"' in response.content
    assert b"readonly" in response.content
