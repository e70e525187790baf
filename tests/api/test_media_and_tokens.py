"""The media view with a token, `api_token` on the command line, and tokens in the admin."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import ApiToken, User
from tests import factories as f
from tests.api.conftest import Api, api_for, url
from tickets.media import store as media
from tickets.models import Message

pytestmark = pytest.mark.django_db


@pytest.fixture
def document(meta_conn):
    ticket = f.make_ticket(meta_conn, text="segue o comprovante")
    stored = media.media_file_store(
        b"%PDF-1.4 comprovante", reseller_id=ticket.reseller_id, claimed_mime="application/pdf"
    )
    message = Message.objects.get(ticket=ticket)
    Message.objects.filter(pk=message.pk).update(media_file=stored, kind=Message.Kind.DOCUMENT)
    return ticket, message


def test_a_messages_media_url_opens_with_the_token(document, agent1, agent3, outsider, client):
    ticket, message = document
    api = api_for(agent1)
    shown = api.get(url(ticket, "messages")).json()["results"][0]
    assert shown["media_url"] == f"http://testserver/tickets/{ticket.pk}/midia/{message.pk}/"
    got = api.client.get(shown["media_url"], headers=api._headers({}))
    assert got.status_code == 200 and b"".join(got.streaming_content if got.streaming else [got.content]).startswith(
        b"%PDF"
    )
    assert api_for(agent3).client.get(shown["media_url"], headers=api_for(agent3)._headers({})).status_code == 404
    outsider_api = api_for(outsider.reseller_user)
    assert outsider_api.client.get(shown["media_url"], headers=outsider_api._headers({})).status_code == 404
    bad = Api("iaze_nope")
    refused = bad.client.get(shown["media_url"], headers=bad._headers({}))
    assert refused.status_code == 401 and refused.json()["code"] == "authentication_failed"
    anonymous = client.get(shown["media_url"])
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")


def test_api_token_create_prints_the_token_last_and_it_works(agent1, meta_conn):
    out = io.StringIO()
    call_command("api_token", "create", "--user", "AGENTE1@demo.local", "--name", "n8n", stdout=out)
    secret = out.getvalue().strip().splitlines()[-1]
    assert secret.startswith("iaze_")
    assert Api(secret).get(url()).status_code == 200
    token = ApiToken.objects.get(user=agent1)
    assert token.name == "n8n" and token.kind == ApiToken.Kind.PERSON
    listing = io.StringIO()
    call_command("api_token", "list", stdout=listing)
    assert token.prefix in listing.getvalue() and secret not in listing.getvalue()
    call_command("api_token", "revoke", token.prefix, stdout=io.StringIO())
    assert Api(secret).get(url()).status_code == 401


def test_api_token_create_for_an_integration_and_the_refusals(tenant, meta_conn):
    out = io.StringIO()
    call_command("api_token", "create", "--integration", "demo", "--name", "Typebot", stdout=out)
    secret = out.getvalue().strip().splitlines()[-1]
    token = ApiToken.objects.get(kind=ApiToken.Kind.INTEGRATION)
    assert token.user.role == User.Role.BOT and Api(secret).get(url()).status_code == 200
    with pytest.raises(CommandError):
        call_command("api_token", "create", "--user", "ninguem@demo.local", stdout=io.StringIO())
    with pytest.raises(CommandError):
        call_command("api_token", "create", "--integration", "nenhuma", stdout=io.StringIO())


def _changelist(client):
    return client.get("/admin/accounts/apitoken/")


def test_the_admin_creates_shows_once_lists_without_secrets_and_revokes(client, reseller_user, agent1, meta_conn):
    client.force_login(reseller_user)
    response = client.post("/admin/accounts/apitoken/add/", {"kind": "person", "name": "ERP", "user": str(agent1.pk)})
    assert response.status_code == 200, response.content
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    token = ApiToken.objects.get(name="ERP")
    start = page.index('id="api-token-secret"')
    secret = page[page.index(">", start) + 1 : page.index("</code>", start)]
    assert secret.startswith(token.prefix) and Api(secret).get(url()).status_code == 200
    assert token.user == agent1 and token.created_by == reseller_user and token.reseller == agent1.reseller
    listing = _changelist(client).content.decode()
    assert token.prefix in listing and secret not in listing and token.secret_hash not in listing
    detail = client.get(f"/admin/accounts/apitoken/{token.pk}/change/").content.decode()
    assert secret not in detail and token.secret_hash not in detail
    client.post(
        "/admin/accounts/apitoken/",
        {"action": "revoke_tokens", "_selected_action": [str(token.pk)]},
    )
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert Api(secret).get(url()).status_code == 401


def test_a_rename_in_the_admin_does_not_undo_a_revocation(client, reseller_user, agent1):
    from accounts import tokens

    token, _secret = tokens.token_create(user=agent1, name="velho")
    client.force_login(reseller_user)
    page = client.get(f"/admin/accounts/apitoken/{token.pk}/change/")
    assert page.status_code == 200
    tokens.token_revoke(token=ApiToken.objects.get(pk=token.pk))  # meanwhile, elsewhere
    client.post(f"/admin/accounts/apitoken/{token.pk}/change/", {"name": "novo"})
    row = ApiToken.objects.get(pk=token.pk)
    assert row.name == "novo" and row.revoked_at is not None


def test_a_manager_makes_integration_tokens_for_their_own_tenant_only(client, reseller_user, outsider, tenant):
    client.force_login(reseller_user)
    response = client.post(
        "/admin/accounts/apitoken/add/",
        {"kind": "integration", "name": "Typebot", "reseller": str(outsider.reseller.pk)},
    )
    assert response.status_code == 200
    token = ApiToken.objects.get(name="Typebot")
    assert token.reseller == tenant.reseller and token.user.reseller == tenant.reseller
    assert token.user.role == User.Role.BOT
    # A user of another tenant is not a choice.
    refused = client.post(
        "/admin/accounts/apitoken/add/", {"kind": "person", "name": "x", "user": str(outsider.agent.pk)}
    )
    assert refused.status_code == 200 and not ApiToken.objects.filter(name="x").exists()
    assert outsider.reseller_user.pk not in {t.user_id for t in ApiToken.objects.all()}


def test_an_installation_admin_sees_every_tenants_tokens_a_manager_only_theirs(
    client, admin_user, reseller_user, outsider, agent1
):
    from accounts import tokens

    ours, _ = tokens.token_create(user=agent1, name="nosso")
    theirs, _ = tokens.token_create(user=outsider.agent, name="deles")
    client.force_login(reseller_user)
    listing = _changelist(client).content.decode()
    assert ours.prefix in listing and theirs.prefix not in listing
    assert client.get(f"/admin/accounts/apitoken/{theirs.pk}/change/").status_code == 404
    client.force_login(admin_user)
    listing = _changelist(client).content.decode()
    assert ours.prefix in listing and theirs.prefix in listing


def test_a_user_makes_and_revokes_their_own_tokens_in_the_workspace(client, agent1, agent2, meta_conn):
    from accounts import tokens

    assert client.get("/accounts/tokens/").status_code == 302  # to the login
    client.force_login(agent1)
    made = client.post("/accounts/tokens/", {"action": "create", "name": "planilha"})
    assert made.status_code == 200 and "no-store" in made["Cache-Control"]
    page = made.content.decode()
    start = page.index('id="api-token-secret"')
    secret = page[page.index(">", start) + 1 : page.index("</code>", start)]
    assert Api(secret).get(url()).status_code == 200
    token = ApiToken.objects.get(user=agent1)
    again = client.get("/accounts/tokens/").content.decode()
    assert token.prefix in again and secret not in again
    assert client.post("/accounts/tokens/", {"action": "create", "name": " "}).status_code == 400
    theirs, _ = tokens.token_create(user=agent2, name="dele")
    assert client.post("/accounts/tokens/", {"action": "revoke", "token": str(theirs.pk)}).status_code == 404
    assert ApiToken.objects.get(pk=theirs.pk).revoked_at is None
    gone = client.post("/accounts/tokens/", {"action": "revoke", "token": str(token.pk)})
    assert gone.status_code == 303
    assert Api(secret).get(url()).status_code == 401
