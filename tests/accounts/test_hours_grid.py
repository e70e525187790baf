"""Business hours as a weekly grid in the admin, holidays, and a department's own hours and texts."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from accounts.hours import is_open_at
from accounts.models import Department
from tests import factories as f
from tickets.rules import auto_messages

pytestmark = pytest.mark.django_db

SP = ZoneInfo("America/Sao_Paulo")
DAYS = ("segunda", "terça", "quarta", "quinta", "sexta", "sábado", "domingo")


def _config_post(config, prefix="config", **overrides):
    data = {
        f"{prefix}-TOTAL_FORMS": "1",
        f"{prefix}-INITIAL_FORMS": "1",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1",
        f"{prefix}-0-id": str(config.pk),
        f"{prefix}-0-reseller": str(config.reseller_id),
        f"{prefix}-0-primary_color": "#0f766e",
        f"{prefix}-0-timezone": "America/Sao_Paulo",
        f"{prefix}-0-wait_warn_minutes": "5",
        f"{prefix}-0-wait_late_minutes": "15",
        f"{prefix}-0-transfer_text": "Você foi transferido para o {{departamento}}.",
    }
    for index in range(7):
        data[f"{prefix}-0-business_hours_{index}"] = ""
    data.update({f"{prefix}-0-{k}": v for k, v in overrides.items()})
    return data


def test_the_grid_reads_and_writes_the_stored_hours_and_refuses_bad_intervals(client, tenant, reseller_user):
    config = tenant.reseller.config
    config.business_hours = {"mon": [["08:00", "12:00"], ["13:00", "18:00"]]}  # typed as JSON before the grid
    config.save()
    client.force_login(reseller_user)
    url = reverse("admin:accounts_reseller_change", args=[tenant.reseller.pk])
    page = client.get(url).content.decode()
    assert all(f">{day.capitalize()}</label>" in page for day in DAYS)
    assert 'value="08:00-12:00, 13:00-18:00"' in page and "transfer_text" in page

    good = _config_post(
        config,
        business_hours_0="08:00-12:00, 13:00-18:00",
        business_hours_5="8:00 às 12:00",
        holidays="25/12\n03/04/2026\n\n25/12",
    )
    response = client.post(url, good)
    assert response.status_code == 302, response.context["inline_admin_formsets"][0].formset.errors
    config.refresh_from_db()
    assert config.business_hours == {"mon": [["08:00", "12:00"], ["13:00", "18:00"]], "sat": [["08:00", "12:00"]]}
    assert config.holidays == ["12-25", "2026-04-03"]
    assert config.transfer_text == "Você foi transferido para o {{departamento}}."
    assert "25/12\n03/04/2026" in client.get(url).content.decode()

    bad = {
        "business_hours_0": (
            "08:00-12:00, 11:00-13:00",
            "segunda: os intervalos 08:00-12:00 e 11:00-13:00 se sobrepõem",
        ),
        "business_hours_1": ("09:00-09:00", "terça: o intervalo 09:00-09:00 está vazio"),
        "business_hours_2": ("08:00-12:00,", "quarta: há um intervalo vazio"),
        "business_hours_3": ("18:00-08:00", "quinta: o fim (08:00) vem antes do início (18:00)"),
        "business_hours_4": ("25:00-26:00", 'sexta: "25:00-26:00" não é um intervalo'),
    }
    response = client.post(url, _config_post(config, **{k: v for k, (v, _r) in bad.items()}, holidays="31/02"))
    assert response.status_code == 200
    errors = response.context["inline_admin_formsets"][0].formset.errors[0]
    assert set(errors) == {"business_hours", "holidays"}
    assert all(any(reason in e for e in errors["business_hours"]) for _v, reason in bad.values())
    assert '"31/02" não é uma data' in errors["holidays"][0]
    config.refresh_from_db()
    assert config.holidays == ["12-25", "2026-04-03"]  # nothing half-saved

    # A holiday on a day without hours (a Sunday here) is accepted: it changes nothing, the day is closed anyway.
    response = client.post(url, _config_post(config, business_hours_0="08:00-18:00", holidays="07/12/2025"))
    assert response.status_code == 302
    config.refresh_from_db()
    assert not is_open_at(config, datetime(2025, 12, 7, 10, 0, tzinfo=SP))  # Sunday: closed either way

    # All days empty: always open, the stored {} of before.
    assert client.post(url, _config_post(config, holidays="")).status_code == 302
    config.refresh_from_db()
    assert config.business_hours == {} and config.holidays == []


def test_holidays_and_a_departments_own_hours_and_texts_decide_the_automatic_texts(tenant):
    config = tenant.reseller.config
    config.business_hours = {d: [["08:00", "12:00"], ["13:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    config.holidays = ["12-25", "2026-04-03"]
    config.greeting_text, config.out_of_hours_text, config.farewell_text = "Olá", "Fechados", "Tchau"
    config.save()
    monday_10, monday_1230 = datetime(2026, 12, 7, 10, 0, tzinfo=SP), datetime(2026, 12, 7, 12, 30, tzinfo=SP)
    assert is_open_at(config, monday_10) and not is_open_at(config, monday_1230)  # the lunch gap is closed
    assert not is_open_at(config, datetime(2026, 12, 25, 10, 0, tzinfo=SP))  # yearly holiday (a Friday)
    assert is_open_at(config, datetime(2027, 4, 2, 10, 0, tzinfo=SP))  # a once-only holiday is not yearly
    assert not is_open_at(config, datetime(2026, 4, 3, 10, 0, tzinfo=SP))

    # Suporte keeps other hours (Saturday mornings only) and its own out-of-hours text; Financeiro follows the tenant.
    Department.objects.filter(pk=tenant.suporte.pk).update(
        own_hours=True, business_hours={"sat": [["08:00", "12:00"]]}, out_of_hours_text="Suporte só aos sábados"
    )
    suporte = Department.objects.get(pk=tenant.suporte.pk)
    saturday_9 = datetime(2026, 12, 12, 9, 0, tzinfo=SP)
    assert is_open_at(config, saturday_9, suporte) and not is_open_at(config, monday_10, suporte)
    assert not is_open_at(
        config, datetime(2027, 12, 25, 9, 0, tzinfo=SP), suporte
    )  # a Saturday; holidays: the tenant's

    on_suporte = f.make_ticket(f.make_connection(tenant.reseller, tenant.suporte, key="hours-suporte"))
    on_financeiro = f.make_ticket(f.make_connection(tenant.reseller, tenant.financeiro, key="hours-financeiro"))

    def said(ticket, at):
        return [(a.what, a.text) for a in auto_messages.after_inbound(config, ticket, created=True, at=at)]

    assert said(on_suporte, monday_10) == [("greeting", "Olá"), ("out_of_hours", "Suporte só aos sábados")]
    assert said(on_suporte, saturday_9) == [("greeting", "Olá")]
    assert said(on_financeiro, monday_10) == [("greeting", "Olá")]
    assert said(on_financeiro, saturday_9) == [("greeting", "Olá"), ("out_of_hours", "Fechados")]
    Department.objects.filter(pk=tenant.suporte.pk).update(farewell_text="Até logo, do Suporte")
    assert [a.text for a in auto_messages.after_close(config, on_suporte)] == ["Até logo, do Suporte"]
    assert [a.text for a in auto_messages.after_close(config, on_financeiro)] == ["Tchau"]


def test_department_admin_own_hours_and_tenant_isolation(client, tenant, reseller_user, outsider):
    client.force_login(reseller_user)
    listing = client.get(reverse("admin:accounts_department_changelist"))
    assert {d.pk for d in listing.context["cl"].result_list} == {tenant.suporte.pk, tenant.financeiro.pk}
    assert outsider.department.name not in listing.content.decode()
    foreign = reverse("admin:accounts_department_change", args=[outsider.department.pk])
    assert client.get(foreign).status_code == 404
    hijack = {"reseller": str(outsider.reseller.pk), "name": "Roubado", "active": "on", "own_hours": "on"}
    hijack.update({f"business_hours_{i}": "08:00-18:00" for i in range(7)})
    assert client.post(foreign, hijack).status_code == 404
    outsider.department.refresh_from_db()
    assert (outsider.department.name, outsider.department.own_hours) == ("Vendas", False)

    url = reverse("admin:accounts_department_change", args=[tenant.suporte.pk])
    data = {"reseller": str(tenant.reseller.pk), "name": "Suporte", "active": "on", "own_hours": "on"}
    data.update({f"business_hours_{i}": "" for i in range(7)})
    response = client.post(url, data)
    assert response.status_code == 200
    assert "desmarque" in response.context["adminform"].form.errors["business_hours"][0]
    data.update(business_hours_5="08:00-12:00", greeting_text="Olá, Suporte!")
    assert client.post(url, data).status_code == 302
    suporte = Department.objects.get(pk=tenant.suporte.pk)
    assert (suporte.own_hours, suporte.business_hours) == (True, {"sat": [["08:00", "12:00"]]})
    assert (suporte.greeting_text, suporte.farewell_text, suporte.reseller_id) == (
        "Olá, Suporte!",
        "",
        tenant.reseller.pk,
    )
