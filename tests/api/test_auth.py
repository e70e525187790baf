"""Who gets in: a token of an active user of an active tenant, and then only to what that user may see."""

import pytest

from accounts import tokens
from accounts.models import ApiToken, User
from tests import factories as f
from tests.api.conftest import Api, api_for, url

pytestmark = pytest.mark.django_db


def _error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code and body["detail"], body
    return body


def test_no_token_is_401_with_the_scheme(meta_conn):
    response = Api().get(url())
    _error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("secret", ["iaze_wrong", "not-even-ours", "iaze_" + "x" * 300, ""])
def test_a_wrong_token_is_401(meta_conn, secret):
    _error(Api(secret).get(url()), 401, "authentication_failed")


def test_a_revoked_token_is_401_and_revoking_twice_changes_nothing(agent1, meta_conn):
    token, secret = tokens.token_create(user=agent1, name="n8n")
    assert Api(secret).get(url()).status_code == 200
    assert tokens.token_revoke(token=token) is True
    stamp = ApiToken.objects.get(pk=token.pk).revoked_at
    assert tokens.token_revoke(token=token) is False
    assert ApiToken.objects.get(pk=token.pk).revoked_at == stamp
    _error(Api(secret).get(url()), 401, "authentication_failed")


def test_a_deactivated_user_or_tenant_shuts_the_token(agent1, tenant, meta_conn):
    api = api_for(agent1)
    assert api.get(url()).status_code == 200
    User.objects.filter(pk=agent1.pk).update(is_active=False)
    _error(api.get(url()), 401, "authentication_failed")
    User.objects.filter(pk=agent1.pk).update(is_active=True)
    assert api.get(url()).status_code == 200
    type(tenant.reseller).objects.filter(pk=tenant.reseller.pk).update(active=False)
    _error(api.get(url()), 401, "authentication_failed")


def test_only_the_hash_is_stored(agent1):
    token, secret = tokens.token_create(user=agent1, name="erp")
    row = ApiToken.objects.filter(pk=token.pk).values().get()
    assert secret.startswith("iaze_") and len(secret) >= 40
    assert secret not in {str(v) for v in row.values()}
    assert row["prefix"] == secret[: tokens.SHOWN]


def test_another_tenants_token_sees_nothing_of_ours(meta_conn, outsider):
    ticket = f.make_ticket(meta_conn)
    theirs = api_for(outsider.reseller_user)
    _error(theirs.get(url(ticket)), 404, "not_found")
    _error(theirs.get(url(ticket, "messages")), 404, "not_found")
    _error(theirs.post(url(ticket, "claim")), 404, "not_found")
    _error(theirs.post(url(ticket, "notes"), {"text": "invasão"}), 404, "not_found")
    assert theirs.get(url()).json()["results"] == []
    assert ticket.messages.count() == 1  # nothing written


def test_an_agents_token_on_another_departments_ticket_is_404(meta_conn, agent3):
    ticket = f.make_ticket(meta_conn)  # Suporte; agent3 works Financeiro
    api = api_for(agent3)
    _error(api.get(url(ticket)), 404, "not_found")
    _error(api.post(url(ticket, "claim")), 404, "not_found")
    assert str(ticket.pk) not in {t["id"] for t in api.get(url()).json()["results"]}


def test_last_use_is_stamped_at_most_once_a_minute(agent1, meta_conn):
    token, secret = tokens.token_create(user=agent1, name="x")
    api = Api(secret)
    api.get(url())
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    assert first is not None
    api.get(url())
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - tokens.TOUCH_EVERY)
    api.get(url())
    assert ApiToken.objects.get(pk=token.pk).last_used_at > first


def test_the_session_does_not_open_the_api(client, agent1, meta_conn):
    client.force_login(agent1)
    assert client.get(url()).status_code == 401


def test_personal_tokens_are_refused_for_inactive_and_bot_users(agent1, bot):
    _api, bot_user = bot
    with pytest.raises(tokens.TokenRejected):
        tokens.token_create(user=bot_user, name="x")
    User.objects.filter(pk=agent1.pk).update(is_active=False)
    agent1.refresh_from_db()
    with pytest.raises(tokens.TokenRejected):
        tokens.token_create(user=agent1, name="x")
