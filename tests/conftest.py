"""The named fixture set every view is tested as (ARCHITECTURE §3):
two agents of one department, an agent of another, a reseller, an admin, and an outsider tenant."""

import uuid

import pytest

from accounts.models import User
from whatsapp.models import Connection

from . import factories as f


@pytest.fixture(autouse=True)
def _fast_and_offline(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Tests that exercise delivery turn this on and point the connection at a fake provider.
    settings.WHATSAPP_SEND_INLINE = False
    # A private media storage per test (tickets.media): files of one test never satisfy another's.
    settings.STORAGES = {
        **settings.STORAGES,
        "media": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media"), "base_url": "/no-public-media-url/"},
        },
    }
    # A private login-throttle cache per test: failed logins of one test never lock out another.
    settings.CACHES = {
        **settings.CACHES,
        "throttle": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"throttle-{uuid.uuid4()}",
        },
    }


@pytest.fixture
def fake():
    """A local fake WhatsApp provider (tests/fake_provider.py) for the tests that deliver replies."""
    from .fake_provider import FakeProvider

    with FakeProvider() as provider:
        yield provider


@pytest.fixture
def tenant(db):
    reseller = f.make_reseller("demo")
    suporte = f.make_department(reseller, "Suporte")
    financeiro = f.make_department(reseller, "Financeiro")
    return type("Tenant", (), {"reseller": reseller, "suporte": suporte, "financeiro": financeiro})


@pytest.fixture
def agent1(tenant):
    return f.make_user("agente1@demo.local", name="Agente 1", reseller=tenant.reseller, departments=[tenant.suporte])


@pytest.fixture
def agent2(tenant):
    return f.make_user("agente2@demo.local", name="Agente 2", reseller=tenant.reseller, departments=[tenant.suporte])


@pytest.fixture
def agent3(tenant):
    return f.make_user("agente3@demo.local", name="Agente 3", reseller=tenant.reseller, departments=[tenant.financeiro])


@pytest.fixture
def reseller_user(tenant):
    return f.make_user("revenda@demo.local", name="Revenda Demo", reseller=tenant.reseller, role=User.Role.RESELLER)


@pytest.fixture
def admin_user(tenant):
    return f.make_user("admin@demo.local", name="Admin Demo", role=User.Role.ADMIN)


@pytest.fixture
def outsider(db):
    """Another tenant with its own department, connection, reseller user and agent."""
    reseller = f.make_reseller("outra")
    dept = f.make_department(reseller, "Vendas")
    conn = f.make_connection(
        reseller, dept, key="outra-meta", phone_number_id="200000000000002", app_secret="outra-secret"
    )
    agent = f.make_user("agente@outra.local", name="Agente Outra", reseller=reseller, departments=[dept])
    boss = f.make_user("revenda@outra.local", name="Revenda Outra", reseller=reseller, role=User.Role.RESELLER)
    return type(
        "Outsider",
        (),
        {"reseller": reseller, "department": dept, "connection": conn, "agent": agent, "reseller_user": boss},
    )


@pytest.fixture
def meta_conn(tenant):
    return f.make_connection(tenant.reseller, tenant.suporte, key="demo-meta")


@pytest.fixture
def evo_conn(tenant):
    return f.make_connection(
        tenant.reseller, tenant.suporte, provider=Connection.Provider.EVOLUTION, key="demo-evolution"
    )
