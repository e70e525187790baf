from accounts.models import Reseller
from tests.factories import PASSWORD


def test_deactivated_reseller_users_cannot_log_in_and_sessions_end(client, agent1, tenant):
    assert client.post("/accounts/login/", {"username": agent1.email, "password": PASSWORD}).status_code == 302
    assert client.get("/tickets/").status_code == 200
    Reseller.objects.filter(pk=tenant.reseller.pk).update(active=False)
    response = client.get("/tickets/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    refused = client.post("/accounts/login/", {"username": agent1.email, "password": PASSWORD})
    assert refused.status_code == 200  # the form again, not the 302 of a successful login
    assert client.get("/tickets/").status_code == 302


def test_active_reseller_users_and_admins_without_tenant_still_log_in(client, admin_user, agent1):
    assert client.post("/accounts/login/", {"username": admin_user.email, "password": PASSWORD}).status_code == 302
    assert client.get("/tickets/").status_code == 200
