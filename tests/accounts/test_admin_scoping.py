"""No admin list, filter, search, count or form choice leaks another tenant's rows."""

import pytest
from django.urls import reverse

from accounts.models import Department
from whatsapp.models import Connection

pytestmark = pytest.mark.django_db


def test_search_and_counts_stay_in_the_tenant(client, world):
    client.force_login(world.users["reseller_user"])
    url = reverse("admin:tickets_ticket_changelist")
    response = client.get(url, {"q": "Cliente Outra"})
    assert response.context["cl"].result_count == 0 and response.context["cl"].full_result_count == 1
    response = client.get(url, {"q": world.demo.client.wa_id})
    assert [t.pk for t in response.context["cl"].result_list] == [world.demo.ticket.pk]
    response = client.get(reverse("admin:tickets_message_changelist"), {"q": "mensagem"})
    assert [m.pk for m in response.context["cl"].result_list] == [world.demo.message.pk]


def test_list_filters_offer_only_own_tenant_choices(client, world):
    client.force_login(world.users["reseller_user"])
    page = client.get(reverse("admin:tickets_ticket_changelist")).content.decode()
    assert world.demo.department.name in page and world.outra.department.name not in page
    assert str(world.outra.connection) not in page
    # A forged filter on the other tenant's department never brings their rows in.
    response = client.get(
        reverse("admin:tickets_ticket_changelist"), {"department__id__exact": str(world.outra.department.pk)}
    )
    assert response.status_code == 200
    assert world.outra.ticket not in list(response.context["cl"].result_list)


def test_state_filter_uses_the_three_ui_states(client, world, agent1):
    from tickets import services

    services.ticket_claim(ticket=world.demo.ticket, agent=agent1)
    client.force_login(world.users["admin_user"])
    url = reverse("admin:tickets_ticket_changelist")
    counts = {
        state: client.get(url, {"estado": state}).context["cl"].result_count
        for state in ("espera", "atendendo", "finalizado")
    }
    assert counts == {"espera": 1, "atendendo": 1, "finalizado": 0}


def test_manager_department_form_forces_the_tenant_and_validates_uniqueness(client, world, tenant):
    client.force_login(world.users["reseller_user"])
    add = reverse("admin:accounts_department_add")
    response = client.post(add, {"name": "Vendas", "active": "on", "reseller": str(world.outra.reseller.pk)})
    assert response.status_code == 302
    created = Department.objects.get(name="Vendas", reseller=tenant.reseller)
    assert created.reseller_id == tenant.reseller.pk
    # A duplicate name in the same tenant is a form error, not a crash.
    response = client.post(add, {"name": "Vendas", "active": "on"})
    assert response.status_code == 200 and response.context["adminform"].form.errors
    assert Department.objects.filter(name="Vendas", reseller=tenant.reseller).count() == 1


def test_manager_connection_form_scopes_departments(client, world, tenant):
    client.force_login(world.users["reseller_user"])
    add = reverse("admin:whatsapp_connection_add")
    form = client.get(add).context["adminform"].form
    assert set(form.fields["default_department"].queryset) == set(Department.objects.filter(reseller=tenant.reseller))
    data = {
        "name": "Nova",
        "provider": "meta",
        "default_department": str(world.outra.department.pk),
        "active": "on",
        "key": "nova-conexao",
        "phone_number_id": "300000000000003",
        "app_secret": "s3",
        "reseller": str(world.outra.reseller.pk),
    }
    response = client.post(add, data)
    assert response.status_code == 200 and "default_department" in response.context["adminform"].form.errors
    response = client.post(add, {**data, "default_department": str(tenant.suporte.pk)})
    assert response.status_code == 302
    conn = Connection.objects.get(name="Nova")
    assert conn.key != "nova-conexao"  # the webhook key is generated, never chosen
    assert conn.reseller_id == tenant.reseller.pk and conn.app_secret == "s3"


def test_manager_edits_its_configuration_but_not_its_identity(client, world, tenant):
    client.force_login(world.users["reseller_user"])
    url = reverse("admin:accounts_reseller_change", args=[tenant.reseller.pk])
    response = client.get(url)
    form = response.context["adminform"].form
    assert "name" not in form.fields and "active" not in form.fields  # read-only for a manager
    config = tenant.reseller.config
    prefix = "config"
    data = {
        f"{prefix}-TOTAL_FORMS": "1",
        f"{prefix}-INITIAL_FORMS": "1",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1",
        f"{prefix}-0-id": str(config.pk),
        f"{prefix}-0-reseller": str(tenant.reseller.pk),
        f"{prefix}-0-display_name": "Demo Telecom",
        f"{prefix}-0-primary_color": "#AA3300",
        f"{prefix}-0-greeting_text": "Olá!",
        f"{prefix}-0-farewell_text": "",
        f"{prefix}-0-out_of_hours_text": "",
        f"{prefix}-0-business_hours": '{"mon": [["08:00", "18:00"]]}',
        f"{prefix}-0-timezone": "America/Sao_Paulo",
        f"{prefix}-0-wait_warn_minutes": "4",
        f"{prefix}-0-wait_late_minutes": "12",
        "name": "Hacked",
        "active": "",
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.context["inline_admin_formsets"][0].formset.errors
    tenant.reseller.refresh_from_db()
    config.refresh_from_db()
    assert (tenant.reseller.name, tenant.reseller.active) == ("Demo", True)
    assert (config.display_name, config.primary_color, config.greeting_text) == ("Demo Telecom", "#aa3300", "Olá!")
    assert (config.wait_warn_minutes, config.wait_late_minutes) == (4, 12)
    assert config.business_hours == {"mon": [["08:00", "18:00"]]}

    bad = {
        **data,
        f"{prefix}-0-primary_color": "red;background:url(x)",
        f"{prefix}-0-business_hours": '{"seg": []}',
        f"{prefix}-0-timezone": "Mars/Olympus",
    }
    response = client.post(url, bad)
    assert response.status_code == 200
    errors = response.context["inline_admin_formsets"][0].formset.errors[0]
    assert set(errors) == {"primary_color", "business_hours", "timezone"}


@pytest.mark.parametrize(
    "who,own,foreign",
    [("reseller_user", "Cliente Demo", "Cliente Outra"), ("outsider_reseller", "Cliente Outra", "Cliente Demo")],
)
def test_admin_autocomplete_endpoint_stays_in_the_tenant(client, world, who, own, foreign):
    client.force_login(world.users[who])
    response = client.get(
        "/admin/autocomplete/",
        {"app_label": "tickets", "model_name": "ticket", "field_name": "client", "term": "Cliente"},
    )
    assert response.status_code == 200
    assert [r["text"] for r in response.json()["results"]] == [own]
    assert foreign.encode() not in response.content
