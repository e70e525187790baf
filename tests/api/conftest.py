"""The API's tests: a token per named person, and a client that sends it."""

import json

import pytest
from django.test import Client

from accounts import tokens
from tests import factories as f


class Api:
    """A test client that speaks JSON to /api/v1/ with one token (or none)."""

    def __init__(self, secret: str | None = None):
        self.client = Client(enforce_csrf_checks=True)  # as a real integration: no CSRF cookie, ever
        self.secret = secret

    def _headers(self, headers):
        out = dict(headers or {})
        if self.secret is not None:
            out["Authorization"] = f"Bearer {self.secret}"
        return out

    def get(self, path, params=None, headers=None):
        return self.client.get(path, params or {}, headers=self._headers(headers))

    def post(self, path, body=None, headers=None, raw=None):
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        return self.client.post(path, data=data, content_type="application/json", headers=self._headers(headers))

    def patch(self, path, body=None, headers=None, raw=None):
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        return self.client.patch(path, data=data, content_type="application/json", headers=self._headers(headers))


def api_for(user, name="teste") -> Api:
    _token, secret = tokens.token_create(user=user, name=name)
    return Api(secret)


@pytest.fixture
def api_as():
    return api_for


@pytest.fixture
def bot(tenant):
    """An integration token of the demo tenant: (its Api, its bot user)."""
    token, secret = tokens.integration_token_create(reseller=tenant.reseller, name="Typebot")
    return Api(secret), token.user


@pytest.fixture
def fin_conn(tenant):
    return f.make_connection(tenant.reseller, tenant.financeiro, key="demo-fin", phone_number_id="100000000000009")


def url(ticket=None, action=""):
    if ticket is None:
        return "/api/v1/tickets/"
    return f"/api/v1/tickets/{ticket.pk}/" + (f"{action}/" if action else "")
