"""Security review item 3: no changelist lookup may read a secret out, character by character."""

import pytest
from django.urls import reverse

from tests import factories as f
from whatsapp.admin import SECRET_FIELDS
from whatsapp.models import Connection

pytestmark = pytest.mark.django_db

LOOKUPS = ("regex", "startswith", "exact")


@pytest.fixture
def conn(tenant):
    return f.make_connection(
        tenant.reseller,
        tenant.suporte,
        key="sec-lookups",
        app_secret="S3cret-app",
        access_token="S3cret-token",
        verify_token="S3cret-verify",
        api_key="S3cret-key",
    )


def _cases():
    # Every ModelAdmin that can reach a secret: the connection itself, and models pointing at one.
    for field in SECRET_FIELDS:
        for lookup in LOOKUPS:
            yield "admin:whatsapp_connection_changelist", f"{field}__{lookup}"
            yield "admin:whatsapp_webhookevent_changelist", f"connection__{field}__{lookup}"
            yield "admin:tickets_ticket_changelist", f"connection__{field}__{lookup}"
            yield "admin:tickets_message_changelist", f"connection__{field}__{lookup}"
    for lookup in LOOKUPS:
        yield "admin:accounts_user_changelist", f"password__{lookup}"
        yield "admin:tickets_ticket_changelist", f"agent__password__{lookup}"


@pytest.mark.parametrize("who", ["reseller_user", "admin_user"])
@pytest.mark.parametrize("page, lookup", list(_cases()))
def test_secret_lookups_are_refused(client, conn, who, page, lookup, request):
    client.force_login(request.getfixturevalue(who))
    value = "^S3" if lookup.endswith("regex") else "S3"
    response = client.get(reverse(page), {lookup: value})
    assert response.status_code == 400, (page, lookup)


def test_ordinary_filters_still_work(client, conn, reseller_user):
    client.force_login(reseller_user)
    response = client.get(
        reverse("admin:whatsapp_connection_changelist"), {"provider__exact": Connection.Provider.META}
    )
    assert response.status_code == 200


def test_a_new_connections_webhook_key_is_generated_not_chosen(client, tenant, reseller_user):
    """From reading: a reseller could choose a guessable key when creating a connection."""
    client.force_login(reseller_user)
    data = {
        "name": "Nova",
        "provider": Connection.Provider.EVOLUTION,
        "default_department": str(tenant.suporte.pk),
        "active": "on",
        "key": "minha-chave",
        "instance_name": "nova",
        "api_key": "k",
        "api_base_url": "https://93.184.216.34",
    }
    response = client.post(reverse("admin:whatsapp_connection_add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    conn = Connection.objects.get(name="Nova")
    assert conn.key != "minha-chave" and len(conn.key) >= 16
