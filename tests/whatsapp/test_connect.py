"""Admin "Conectar WhatsApp" (Evolution): the instance is created on the gateway with its webhook pointing at
IAZE, or adopted; every refusal is a pt-BR message and leaves no Connection behind."""

from __future__ import annotations

import json

import pytest

from providers.evolution_setup import WEBHOOK_EVENTS
from tests.fake_provider import GATEWAY_KEY
from whatsapp.models import Connection

URL = "/admin/whatsapp/connection/conectar/"


def form(tenant, fake, **over):
    data = {
        "reseller": tenant.reseller.pk,
        "default_department": tenant.suporte.pk,
        "name": "Vendas 1",
        "api_base_url": fake.url,
        "global_key": GATEWAY_KEY,
        "instance_name": "vendas-1",
    }
    return {**data, **over}


@pytest.fixture
def public(settings):
    settings.IAZE_PUBLIC_URL = "https://atendimento.example.com.br"


def test_connect_creates_the_instance_with_its_webhook_then_the_connection_and_shows_the_qr(
    client, reseller_user, tenant, fake, public
):
    client.force_login(reseller_user)
    listing = client.get("/admin/whatsapp/connection/").content.decode()
    assert URL in listing and "Conectar WhatsApp" in listing
    page = client.get(URL).content.decode()
    assert 'type="password"' in page and fake.calls == []

    page = client.post(URL, form(tenant, fake)).content.decode()
    conn = Connection.objects.get(instance_name="vendas-1")
    assert conn.reseller == tenant.reseller and conn.provider == "evolution" and conn.api_base_url == fake.url
    call = fake.calls[0]
    assert (call.provider, call.path, call.headers["apikey"]) == ("evolution:create", "/instance/create", GATEWAY_KEY)
    body = call.json
    assert body["instanceName"] == "vendas-1" and body["integration"] == "WHATSAPP-BAILEYS" and body["qrcode"] is True
    hook = body["webhook"]
    assert hook["url"] == f"https://atendimento.example.com.br/whatsapp/webhook/{conn.key}/"
    assert hook["byEvents"] is False and hook["base64"] is True and hook["enabled"] is True
    assert set(hook["events"]) == set(WEBHOOK_EVENTS) >= {"MESSAGES_UPSERT", "CONNECTION_UPDATE"}
    # IAZE keeps the instance's own token (what the gateway's webhooks carry), never the global key.
    assert conn.api_key == fake.instances["vendas-1"] == body["token"] and GATEWAY_KEY not in conn.api_key
    assert GATEWAY_KEY not in page and conn.api_key not in page
    assert 'id="pairing-qr" src="data:image/png;base64,iVBOR' in page and "WZYEH1YY" in page
    assert f"/admin/whatsapp/connection/{conn.pk}/pair/" in page

    # A webhook from the new instance, in Evolution's envelope with its token, is accepted.
    envelope = {
        "event": "connection.update",
        "instance": "vendas-1",
        "apikey": conn.api_key,
        "data": {"instance": "vendas-1", "state": "open"},
        "date_time": "2026-12-07T12:00:00.000Z",
    }
    answer = client.post(f"/whatsapp/webhook/{conn.key}/", json.dumps(envelope), content_type="application/json")
    assert answer.status_code == 200

    # The global key is typed once per gateway: the tenant's next number on it leaves the field blank.
    assert conn.gateway_key == GATEWAY_KEY
    page = client.post(URL, form(tenant, fake, global_key="", instance_name="vendas-2")).content.decode()
    assert fake.calls[-1].headers["apikey"] == GATEWAY_KEY and fake.calls[-1].json["instanceName"] == "vendas-2"
    assert Connection.objects.filter(instance_name="vendas-2").exists() and GATEWAY_KEY not in page
    assert GATEWAY_KEY not in client.get(f"/admin/whatsapp/connection/{conn.pk}/change/").content.decode()


def test_a_taken_name_is_adopted_with_its_webhook_set(client, reseller_user, tenant, fake, public):
    fake.instances["vendas-1"] = "TOKEN-OF-THE-OLD-INSTANCE"
    client.force_login(reseller_user)
    page = client.post(URL, form(tenant, fake)).content.decode()
    conn = Connection.objects.get(instance_name="vendas-1")
    assert [c.provider for c in fake.calls] == ["evolution:create", "evolution:webhook"]
    assert fake.calls[0].status == 403 and "already in use" in str(fake.calls[0].answer)
    hook = fake.calls[1]
    assert hook.path == "/webhook/set/vendas-1" and hook.headers["apikey"] == GATEWAY_KEY
    assert hook.json["webhook"]["url"].endswith(f"/whatsapp/webhook/{conn.key}/") and hook.json["webhook"]["enabled"]
    # The old instance's token is not known: its webhooks authenticate with the key sent as a header.
    assert conn.api_key == GATEWAY_KEY == hook.json["webhook"]["headers"]["apikey"]
    assert "já existia no gateway" in page and GATEWAY_KEY not in page
    # Its webhooks carry the old token in the envelope and the header set here: accepted by the header.
    envelope = {
        "event": "connection.update",
        "instance": "vendas-1",
        "apikey": "TOKEN-OF-THE-OLD-INSTANCE",
        "data": {"instance": "vendas-1", "state": "open"},
        "date_time": "2026-12-07T12:00:00.000Z",
    }
    url = f"/whatsapp/webhook/{conn.key}/"
    body = json.dumps(envelope)
    assert client.post(url, body, content_type="application/json").status_code == 401
    assert client.post(url, body, content_type="application/json", headers={"apikey": GATEWAY_KEY}).status_code == 200


@pytest.mark.parametrize(
    "case, message",
    [
        ("wrong_key", "recusou a chave global"),
        ("unreachable", "Não foi possível conectar ao provedor"),
        ("gateway_500", "O gateway está com problemas"),
        ("adopt_refused", "recusou a chave global"),
    ],
)
def test_a_refusing_gateway_leaves_nothing_behind_and_says_why_in_portuguese(
    client, reseller_user, tenant, fake, public, case, message
):
    data = form(tenant, fake)
    if case == "wrong_key":
        data["global_key"] = "not-the-key"
    elif case == "unreachable":
        data["api_base_url"] = "http://127.0.0.1:9"  # nothing listens on the discard port
    elif case == "gateway_500":
        fake.fail_next("500")
    elif case == "adopt_refused":  # name taken, and the webhook/set is refused
        fake.instances["vendas-1"] = "T"
        fake.fail_next("401", after=1)
    before = Connection.objects.count()
    client.force_login(reseller_user)
    page = client.post(URL, data).content.decode()
    assert Connection.objects.count() == before
    assert 'id="connect-error"' in page and message in page and "Nada foi criado no IAZE" in page
    assert "not-the-key" not in page and GATEWAY_KEY not in page


def test_another_tenants_departments_and_resellers_are_neither_offered_nor_accepted(
    client, reseller_user, tenant, fake, outsider, public
):
    client.force_login(reseller_user)
    for url in (URL, "/admin/whatsapp/connection/conectar-meta/"):
        page = client.get(url).content.decode()
        assert str(outsider.department.pk) not in page and str(outsider.reseller.pk) not in page
    assert outsider.connection.key not in client.get("/admin/whatsapp/connection/").content.decode()
    refused = client.post(URL, form(tenant, fake, default_department=outsider.department.pk)).content.decode()
    assert "errorlist" in refused and fake.calls == []
    # The reseller field is fixed to the user's own tenant: a forged one is ignored, never used.
    client.post(URL, form(tenant, fake, reseller=outsider.reseller.pk))
    assert Connection.objects.get(instance_name="vendas-1").reseller == tenant.reseller
    assert list(Connection.objects.filter(reseller=outsider.reseller)) == [outsider.connection]
    # The other tenant's reseller user never sees this tenant's new connection, nor its pair page, nor
    # gets its stored global key by naming the same gateway.
    client.force_login(outsider.reseller_user)
    conn = Connection.objects.get(instance_name="vendas-1")
    calls = len(fake.calls)
    other = {**form(tenant, fake, global_key="", instance_name="outra-1"), "default_department": outsider.department.pk}
    page = client.post(URL, other).content.decode()
    assert "Informe a chave global" in page and len(fake.calls) == calls
    assert not Connection.objects.filter(instance_name="outra-1").exists()
    assert "vendas-1" not in client.get("/admin/whatsapp/connection/").content.decode()
    assert client.get(f"/admin/whatsapp/connection/{conn.pk}/pair/").status_code in (302, 404)
    # An agent has no admin at all.
    client.force_login(outsider.agent)
    assert client.get(URL).status_code in (302, 403)


META_URL = "/admin/whatsapp/connection/conectar-meta/"
TOKEN = "EAAG-good-token"


def meta_form(tenant, fake, setup, **over):
    data = {
        "reseller": tenant.reseller.pk,
        "default_department": tenant.suporte.pk,
        "name": "",
        "phone_number_id": "106540352242922",
        "business_account_id": "",
        "access_token": TOKEN,
        "app_secret": "app-secret-1",
        "api_base_url": f"{fake.url}/v21.0",
        "setup": setup,
    }
    return {**data, **over}


def _setup(page: str) -> str:
    return page.split('name="setup" value="', 1)[1].split('"', 1)[0]


def test_meta_test_button_names_the_wrong_credential_and_save_writes_only_after_graph_said_yes(
    client, reseller_user, tenant, fake, public
):
    fake.graph_tokens = {TOKEN}
    fake.phone_numbers["106540352242922"] = {"display_phone_number": "+55 11 4000-1234", "verified_name": "Loja Demo"}
    client.force_login(reseller_user)
    page = client.get(META_URL).content.decode()
    setup = _setup(page)
    shown_url = page.split('id="webhook-url">', 1)[1].split("<", 1)[0]
    verify = page.split('id="verify-token">', 1)[1].split("<", 1)[0]
    assert shown_url.startswith("https://atendimento.example.com.br/whatsapp/webhook/") and len(verify) >= 24
    assert fake.calls == []
    before = Connection.objects.count()

    wrong_token = client.post(META_URL, meta_form(tenant, fake, setup, access_token="EAAG-bad", save="1"))
    wrong_token = wrong_token.content.decode()
    wrong_phone = client.post(META_URL, meta_form(tenant, fake, setup, phone_number_id="999999", test="1"))
    wrong_phone = wrong_phone.content.decode()
    assert Connection.objects.count() == before
    assert "recusou o token de acesso" in wrong_token and "não encontrou este ID do número" not in wrong_token
    assert "não encontrou este ID do número" in wrong_phone and "recusou o token" not in wrong_phone
    assert "EAAG-bad" not in wrong_token and TOKEN not in wrong_phone  # secrets are never rendered back
    call = fake.calls[0]
    assert call.path == "/v21.0/106540352242922" and call.headers["Authorization"] == "Bearer EAAG-bad"
    assert "fields=display_phone_number%2Cverified_name" in call.query
    assert (fake.calls[0].status, fake.calls[1].status) == (401, 400)

    tested = client.post(META_URL, meta_form(tenant, fake, setup, test="1")).content.decode()
    assert 'id="check-ok"' in tested and "+55 11 4000-1234" in tested and Connection.objects.count() == before
    # The key and token shown stay the same across posts: what was pasted at Meta keeps working.
    assert shown_url in tested and verify in tested

    saved = client.post(META_URL, meta_form(tenant, fake, setup, save="1")).content.decode()
    conn = Connection.objects.get(phone_number_id="106540352242922")
    assert (conn.display_phone, conn.name, conn.provider) == ("+55 11 4000-1234", "Loja Demo", "meta")
    assert shown_url.endswith(f"/whatsapp/webhook/{conn.key}/") and conn.verify_token == verify
    assert conn.access_token == TOKEN and conn.app_secret == "app-secret-1" and conn.reseller == tenant.reseller
    assert TOKEN not in saved and "app-secret-1" not in saved
    # Meta's verification handshake on the shown URL answers with the shown token.
    handshake = client.get(
        f"/whatsapp/webhook/{conn.key}/", {"hub.mode": "subscribe", "hub.verify_token": verify, "hub.challenge": "42"}
    )
    assert handshake.status_code == 200 and handshake.content == b"42"

    # A forged setup (a key of the browser's choosing) is refused; nothing is written.
    forged = client.post(META_URL, meta_form(tenant, fake, "forged:setup", phone_number_id="106540352242923", save="1"))
    assert "expirou" in forged.content.decode() and Connection.objects.count() == before + 1
