"""An admin who belongs to a tenant works inside that tenant in the workspace; an installation
admin (no tenant) sees every tenant."""

import pytest

from accounts.models import User
from tests import factories as f
from tickets.models import Ticket, UIState


@pytest.fixture
def tenant_admin(tenant):
    return f.make_user("chefe@demo.local", name="Chefe Demo", role=User.Role.ADMIN, reseller=tenant.reseller)


def test_tenant_admin_gets_404_for_another_tenants_ticket(client, tenant_admin, outsider):
    ticket = f.make_ticket(outsider.connection)
    client.force_login(tenant_admin)
    assert client.get(f"/tickets/{ticket.pk}/").status_code == 404
    for action in ("assumir", "finalizar", "responder"):
        assert client.post(f"/tickets/{ticket.pk}/{action}/", {"text": "oi"}).status_code == 404
    assert Ticket.objects.get(pk=ticket.pk).ui_state == UIState.ESPERA
    assert str(ticket.pk) not in client.get("/tickets/?status=espera").content.decode()


def test_tenant_admin_supervises_its_own_tenant(client, tenant_admin, meta_conn, agent1):
    ticket = f.make_ticket(meta_conn, agent=agent1)
    client.force_login(tenant_admin)
    assert client.get(f"/tickets/{ticket.pk}/").status_code == 200
    assert client.post(f"/tickets/{ticket.pk}/finalizar/").status_code == 303
    assert Ticket.objects.get(pk=ticket.pk).ui_state == UIState.FINALIZADO


def test_installation_admin_sees_every_tenant(client, admin_user, outsider):
    assert admin_user.reseller_id is None
    ticket = f.make_ticket(outsider.connection)
    client.force_login(admin_user)
    assert client.get(f"/tickets/{ticket.pk}/").status_code == 200
