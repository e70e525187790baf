"""GET, POST /api/v1/webhooks/ and PATCH /api/v1/webhooks/<uuid>/ (contract §7)."""

import json

import pytest

from tests.api.conftest import Api, api_for
from webhooks.models import Webhook

pytestmark = pytest.mark.django_db

URL = "/api/v1/webhooks/"


def patch(api: Api, path, body):
    return api.client.patch(path, data=json.dumps(body), content_type="application/json", headers=api._headers(None))


def test_resellers_manage_their_webhooks_and_the_secret_is_shown_once(reseller_user, outsider, tenant):
    api = api_for(reseller_user)
    made = api.post(URL, {"url": "https://hooks.example.com/in?token=abc", "events": ["ticket.created"]})
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["secret"].startswith("whsec_") and len(body["secret"]) > 30
    assert body["url"] == "https://hooks.example.com/in?token=abc" and body["active"] is True
    hook = Webhook.objects.get(pk=body["id"])
    assert hook.secret == body["secret"] and hook.reseller_id == tenant.reseller.pk
    own = api.post(URL, {"url": "https://hooks.example.com/b", "events": ["message.sent"], "secret": "x" * 20})
    assert own.status_code == 201 and own.json()["secret"] == "x" * 20
    listing = api.get(URL)
    assert listing.status_code == 200
    assert {h["id"] for h in listing.json()["results"]} == {body["id"], own.json()["id"]}
    assert "secret" not in listing.content.decode() and body["secret"] not in listing.content.decode()
    # Turned off, then changed; never the secret again.
    off = patch(api, f"{URL}{body['id']}/", {"active": False, "events": ["ticket.closed", "ticket.created"]})
    assert off.status_code == 200 and off.json()["active"] is False
    assert off.json()["events"] == ["ticket.created", "ticket.closed"] and "secret" not in off.json()
    # Another tenant's manager sees none of them and cannot change one.
    theirs = api_for(outsider.reseller_user)
    assert theirs.get(URL).json()["results"] == []
    assert patch(theirs, f"{URL}{body['id']}/", {"active": True}).status_code == 404


def test_agents_and_bots_are_refused_and_bad_bodies_are_400(agent1, reseller_user, bot, settings):
    for api in (api_for(agent1), bot[0]):
        assert api.get(URL).status_code == 403
        refused = api.post(URL, {"url": "https://hooks.example.com/x", "events": ["ticket.created"]})
        assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    assert Api().get(URL).status_code == 401
    api = api_for(reseller_user)
    settings.ALLOW_PRIVATE_PROVIDER_HOSTS = False
    for url in ("http://127.0.0.1:8000/hook", "http://10.0.0.5/hook", "http://[::1]/x", "ftp://example.com/x"):
        answer = api.post(URL, {"url": url, "events": ["ticket.created"]})
        assert answer.status_code == 400 and answer.json()["detail"].startswith("url:"), (url, answer.content)
    bad = [
        ({"url": "https://hooks.example.com/x", "events": ["ticket.nope"]}, "events"),
        ({"url": "https://hooks.example.com/x", "events": []}, "events"),
        ({"url": "https://hooks.example.com/x", "events": ["ticket.created"], "colour": 1}, "colour"),
        ({"url": "https://hooks.example.com/x", "events": ["ticket.created"], "secret": "curto"}, "secret"),
    ]
    for body, field in bad:
        answer = api.post(URL, body)
        assert answer.status_code == 400 and field in answer.json()["fields"], (body, answer.content)
    assert not Webhook.objects.exists()
