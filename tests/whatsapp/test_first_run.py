"""The admin home's first-run checklist: each step ticked from the tenant's own data, linked to its page."""

import pytest
from django.urls import reverse

from accounts.models import User
from tests import factories as f

pytestmark = pytest.mark.django_db


def _steps(client):
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    return response.context.get("first_run"), response.content.decode()


def test_the_checklist_ticks_each_step_from_the_tenants_own_data_and_leaves_when_done(client, outsider, admin_user):
    reseller = f.make_reseller("nova")
    boss = f.make_user("revenda@nova.local", reseller=reseller, role=User.Role.RESELLER)
    client.force_login(boss)
    steps, page = _steps(client)
    # The outsider tenant has a department, an agent and a connection: none of them ticks this tenant's list.
    assert [s["done"] for s in steps] == [False] * 5 and "Primeiros passos (0 de 5)" in page
    for url in (
        reverse("admin:accounts_department_changelist"),
        reverse("admin:accounts_user_changelist"),
        reverse("admin:whatsapp_connection_changelist"),
        reverse("admin:accounts_reseller_change", args=[reseller.pk]),
        reverse("admin:tickets_ticket_changelist"),
    ):
        assert f'href="{url}"' in page and client.get(url).status_code == 200

    department = f.make_department(reseller, "Atendimento")
    f.make_user("agente@nova.local", reseller=reseller, departments=[department])
    connection = f.make_connection(reseller, department, key="nova-meta", phone_number_id="300000000000003")
    assert [s["done"] for s in _steps(client)[0]] == [True, True, True, False, False]
    reseller.config.business_hours = {"mon": [["08:00", "18:00"]]}
    reseller.config.save()
    f.make_ticket(connection)  # the test message
    assert _steps(client)[0] is None  # every step done: the list leaves the home

    client.force_login(admin_user)  # an installation admin manages every tenant: no list
    assert _steps(client)[0] is None
