"""Tenant managers create and run their own agents in the admin: forced tenant, scoped choices, no escalation."""

import pytest
from django.urls import reverse

from accounts.models import Department, User
from tests import factories as f

pytestmark = pytest.mark.django_db

ADD = reverse("admin:accounts_user_add")


def _add_data(**changes):
    data = {
        "email": "nova.agente@demo.local",
        "usable_password": "true",
        "password1": "uma-senha-boa-987",
        "password2": "uma-senha-boa-987",
        "name": "Nova Agente",
        "role": "agent",
    }
    data.update(changes)
    return data


def test_reseller_creates_an_agent_of_its_own_tenant(client, reseller_user, tenant, outsider):
    client.force_login(reseller_user)
    response = client.post(
        ADD, _add_data(departments=[str(tenant.suporte.pk)], reseller=str(outsider.reseller.pk))
    )  # a forged tenant is ignored
    assert response.status_code == 302, response.context["adminform"].form.errors
    user = User.objects.get(email="nova.agente@demo.local")
    assert user.reseller_id == tenant.reseller.pk
    assert list(user.departments.all()) == [tenant.suporte]
    assert (user.role, user.is_staff, user.is_superuser) == ("agent", False, False)
    assert client.logout() is None and client.login(username="nova.agente@demo.local", password="uma-senha-boa-987")


def test_reseller_cannot_use_another_tenants_department_or_the_admin_role(client, reseller_user, outsider):
    client.force_login(reseller_user)
    response = client.post(ADD, _add_data(departments=[str(outsider.department.pk)]))
    assert response.status_code == 200 and "departments" in response.context["adminform"].form.errors
    response = client.post(ADD, _add_data(role="admin"))
    assert response.status_code == 200 and "role" in response.context["adminform"].form.errors
    assert not User.objects.filter(email="nova.agente@demo.local").exists()


def test_add_form_offers_only_own_tenant_choices(client, reseller_user, tenant, outsider):
    client.force_login(reseller_user)
    form = client.get(ADD).context["adminform"].form
    assert set(form.fields["departments"].queryset) == set(Department.objects.filter(reseller=tenant.reseller))
    assert list(form.fields["reseller"].queryset) == [tenant.reseller] and form.fields["reseller"].disabled
    assert [value for value, _ in form.fields["role"].choices if value] == ["agent", "reseller"]


def test_admin_role_grants_admin_access_and_agent_role_takes_it_away(client, admin_user, tenant):
    client.force_login(admin_user)
    response = client.post(ADD, _add_data(email="chefe@demo.local", role="reseller", reseller=str(tenant.reseller.pk)))
    assert response.status_code == 302
    boss = User.objects.get(email="chefe@demo.local")
    assert (boss.is_staff, boss.is_superuser) == (True, False)
    change = reverse("admin:accounts_user_change", args=[boss.pk])
    form = client.get(change).context["adminform"].form
    data = {
        "email": boss.email,
        "name": boss.name,
        "role": "agent",
        "reseller": str(tenant.reseller.pk),
        "is_active": "on",
    }
    assert set(data) <= set(form.fields) | {"is_active"}
    assert client.post(change, data).status_code == 302
    boss.refresh_from_db()
    assert (boss.role, boss.is_staff, boss.is_superuser) == ("agent", False, False)


def test_agent_needs_a_tenant(client, admin_user):
    client.force_login(admin_user)
    response = client.post(ADD, _add_data(reseller=""))
    assert response.status_code == 200 and "reseller" in response.context["adminform"].form.errors


def test_reseller_sets_an_agents_password(client, reseller_user, agent1):
    client.force_login(reseller_user)
    url = reverse("admin:auth_user_password_change", args=[agent1.pk])
    response = client.post(
        url, {"usable_password": "true", "password1": "trocada-1234-xyz", "password2": "trocada-1234-xyz"}
    )
    assert response.status_code == 302
    client.logout()
    assert client.login(username=agent1.email, password="trocada-1234-xyz")
    assert not client.login(username=agent1.email, password=f.PASSWORD)


def test_deactivate_action_instead_of_delete(client, reseller_user, agent1, agent2, outsider):
    client.force_login(reseller_user)
    response = client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "deactivate_users", "_selected_action": [str(agent1.pk), str(outsider.agent.pk)]},
    )
    assert response.status_code == 302
    agent1.refresh_from_db()
    outsider.agent.refresh_from_db()
    agent2.refresh_from_db()
    # Only the manager's own tenant is touched: the forged id of another tenant is outside the queryset.
    assert (agent1.is_active, outsider.agent.is_active, agent2.is_active) == (False, True, True)
    client.logout()
    assert not client.login(username=agent1.email, password=f.PASSWORD)
    assert User.objects.filter(pk=agent1.pk).exists()


def test_manager_never_sees_installation_admins_in_lists(client, reseller_user, admin_user, agent1):
    client.force_login(reseller_user)
    page = client.get(reverse("admin:accounts_user_changelist")).content.decode()
    assert agent1.email in page and admin_user.email not in page
