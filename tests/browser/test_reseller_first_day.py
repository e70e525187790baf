"""The reseller's first day in a real browser, from an empty tenant to a first client message in the inbox:
the admin's first-run checklist, a department, an agent, "Conectar WhatsApp" against the fake Evolution
gateway (tests/fake_provider.py), the QR code, the number paired by Evolution's connection.update webhook,
then a client's messages.upsert arriving as a ticket in the agent's Espera.

The screenshots are the user guide's (docs/guia/img/): refreshed there with IAZE_REFRESH_SCREENSHOTS=1,
like the README's, else written under tests/artifacts/."""

import copy
import os
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect

from accounts.models import Department, ResellerConfig, User
from iaze.lib import clock
from tests import factories as f
from tests.browser.conftest import SCREENSHOTS
from tests.fake_provider import GATEWAY_KEY
from tickets.models import Ticket
from whatsapp.models import Connection

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GUIDE = (
    Path(__file__).resolve().parents[2] / "docs" / "guia" / "img"
    if os.environ.get("IAZE_REFRESH_SCREENSHOTS") == "1"
    else SCREENSHOTS / "guia"
)
GUIDE.mkdir(parents=True, exist_ok=True)
INSTANCE = "loja-centro"


def _shot(page, name):
    page.screenshot(path=str(GUIDE / f"{name}.png"))


def _checklist(page, live_server, done):
    page.goto(f"{live_server.url}/admin/")
    box = page.locator("#primeiros-passos")
    expect(box.locator("h2")).to_have_text(f"Primeiros passos ({done} de 5)")
    return box


def _evolution_webhook(live_server, conn, sample, **data):
    """Posts one of Evolution's sample envelopes (tests/payloads/) as this instance would, with its token."""
    envelope = copy.deepcopy(f.load_payload(sample))
    envelope.update(instance=INSTANCE, apikey=conn.api_key, server_url="http://evolution.local")
    envelope["data"].update(data)
    answer = requests.post(f"{live_server.url}/whatsapp/webhook/{conn.key}/", json=envelope, timeout=10)
    assert answer.status_code == 200, answer.text


def test_a_new_reseller_goes_from_an_empty_tenant_to_a_first_message(live_server, login, fake):
    reseller = f.make_reseller("loja")
    boss = f.make_user("dono@loja.local", name="Dono da Loja", reseller=reseller, role=User.Role.RESELLER)

    # 1. The admin home lists the five first steps, none done.
    page = login(boss)
    page.get_by_role("link", name="Administração").click()
    box = _checklist(page, live_server, 0)
    expect(box.locator('tr[data-done="1"]')).to_have_count(0)
    expect(box.get_by_role("link", name="Criar os departamentos")).to_be_visible()
    _shot(page, "01-primeiros-passos")

    # 2. A department, from the checklist's own link.
    box.get_by_role("link", name="Criar os departamentos").click()
    page.locator(".object-tools").get_by_role("link").first.click()
    page.locator("#id_name").fill("Suporte")
    _shot(page, "02-departamento")
    page.locator('input[name="_save"]').click()
    expect(page.locator(".messagelist")).to_contain_text("Suporte")
    department = Department.objects.get(reseller=reseller, name="Suporte")

    # 3. An agent of that department.
    box = _checklist(page, live_server, 1)
    box.get_by_role("link", name="Cadastrar os agentes").click()
    page.locator(".object-tools").get_by_role("link").first.click()
    page.locator("#id_email").fill("ana@loja.local")
    page.locator("#id_password1").fill(f.PASSWORD)
    page.locator("#id_password2").fill(f.PASSWORD)
    page.locator("#id_name").fill("Ana Atendente")
    page.locator("#id_role").select_option(User.Role.AGENT)
    page.locator("#id_departments_from").select_option(label="Suporte")
    page.locator("#id_departments_add").click()
    expect(page.locator("#id_departments_to option")).to_have_text(["Suporte"])
    _shot(page, "03-agente")
    page.locator('input[name="_save"]').click()
    expect(page.locator(".messagelist")).to_contain_text("Ana Atendente")
    agent = User.objects.get(email="ana@loja.local")
    assert agent.reseller_id == reseller.pk and agent.role == User.Role.AGENT
    assert list(agent.departments.all()) == [department]

    # 4. "Conectar WhatsApp" (Evolution): IAZE creates the instance on the gateway and shows its QR code.
    box = _checklist(page, live_server, 2)
    box.get_by_role("link", name="Conectar um número de WhatsApp").click()
    page.locator(".object-tools").get_by_role("link", name="Conectar WhatsApp", exact=True).click()
    page.locator("#id_default_department").select_option(label="Suporte")
    page.locator("#id_name").fill("Loja Centro")
    page.locator("#id_api_base_url").fill(fake.url)
    page.locator("#id_global_key").fill(GATEWAY_KEY)
    page.locator("#id_instance_name").fill(INSTANCE)
    _shot(page, "04-conectar-whatsapp")
    page.locator("#connect").get_by_role("button", name="Conectar WhatsApp").click()
    expect(page.locator(".iaze-created")).to_be_visible()
    expect(page.locator("#pairing-qr")).to_be_visible()
    conn = Connection.objects.get(reseller=reseller, instance_name=INSTANCE)
    assert [c.path for c in fake.calls] == ["/instance/create"]
    assert fake.calls[0].json["webhook"]["url"] == f"{live_server.url}/whatsapp/webhook/{conn.key}/"
    _shot(page, "05-qr-code")

    # 5. The phone reads the QR code: Evolution reports the session open on the connection's webhook.
    page.get_by_role("link", name="Parear número (QR code)").click()
    expect(page.locator("#pairing")).to_have_attribute("data-connected", "false")
    _evolution_webhook(
        live_server,
        conn,
        "evolution_connection_update_open.json",
        instance=INSTANCE,
        wuid="5511933332222@s.whatsapp.net",
    )
    conn.refresh_from_db()
    assert conn.state == "open"
    page.reload()
    expect(page.locator("#pairing")).to_have_attribute("data-connected", "true")
    expect(page.locator(".iaze-paired")).to_contain_text("Número conectado.")
    _shot(page, "06-numero-conectado")

    # 6. A client's first message arrives and waits in the agent's Espera.
    _evolution_webhook(
        live_server,
        conn,
        "evolution_messages_upsert_text.json",
        key={"remoteJid": "5511977776666@s.whatsapp.net", "fromMe": False, "id": "3EB0FIRSTDAY0001"},
        pushName="Marina Costa",
        message={"conversation": "Olá! Vocês entregam no sábado?"},
        messageTimestamp=int(clock.now().timestamp()),
        owner=INSTANCE,
    )
    ticket = Ticket.objects.get(connection=conn)
    assert ticket.department_id == department.pk and ticket.agent_id is None

    inbox = login(agent)
    row = inbox.locator(f'.ticket-row[data-ticket="{ticket.pk}"]')
    expect(row).to_contain_text("Marina Costa")
    expect(row).to_contain_text("Vocês entregam no sábado?")
    expect(inbox.locator('[data-count="espera"]')).to_have_text("1")
    _shot(inbox, "07-espera")

    # 7. Back on the admin home: only the business hours are left.
    box = _checklist(page, live_server, 4)
    expect(box.locator('tr[data-done="0"]')).to_have_count(1)
    expect(box.locator('tr[data-done="0"]')).to_contain_text("Definir o horário e as mensagens")
    _shot(page, "08-primeiros-passos-quase")

    # 8. The business hours, Monday to Friday and Saturday morning; with them the first steps are done.
    box.get_by_role("link", name="Definir o horário e as mensagens").click()
    for day in ("Segunda", "Terça", "Quarta", "Quinta", "Sexta"):
        page.get_by_role("textbox", name=day, exact=True).fill("08:00-12:00, 13:00-18:00")
    page.get_by_role("textbox", name="Sábado", exact=True).fill("08:00-12:00")
    page.get_by_role("textbox", name="Segunda", exact=True).scroll_into_view_if_needed()
    _shot(page, "09-horario")
    page.locator('input[name="_save"]').click()
    expect(page.locator(".messagelist")).to_be_visible()
    config = ResellerConfig.objects.get(reseller=reseller)
    assert config.business_hours["mon"] == [["08:00", "12:00"], ["13:00", "18:00"]]
    assert config.business_hours["sat"] == [["08:00", "12:00"]] and not config.business_hours.get("sun")
    page.goto(f"{live_server.url}/admin/")
    expect(page.locator("#content h1")).to_be_visible()
    expect(page.locator("#primeiros-passos")).to_have_count(0)
    inbox.context.close()
    page.context.close()
