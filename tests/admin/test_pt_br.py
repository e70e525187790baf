"""A tenant manager's pages in pt-BR: no English word of the project's own on any page it opens.

Every admin index, changelist, add and change page, and the workspace pages, are opened as the reseller
user; their visible text (tags, attributes, scripts and styles stripped) must not hold any of the English
words below. Django's own admin strings come translated by Django; these words catch the project's
fields and models left without a pt-BR verbose_name ("Reseller", "Last message at", "Rolled version")."""

import re
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from tests.admin.test_matrix import ADDABLE_BY_MANAGER, MODELS
from tickets.models import Message

pytestmark = pytest.mark.django_db

ENGLISH = (
    "Reseller",
    "Department",
    "Connection",
    "Ticket",
    "Last message",
    "Created at",
    "Updated at",
    "Rolled",
    "Version",
    "Attempts",
    "Lease",
    "Not before",
    "Dedup",
    "Received at",
    "Event type",
    "Provider",
    "Delivery",
    "Status",
    "Agent",
    "Client",
    "Add ",
    "Change ",
    "Save",
    "Delete",
    "Search",
    "Filter",
    "Name key",
    "Secret hash",
)
PATTERN = re.compile(r"\b(" + "|".join(re.escape(w.strip()) for w in ENGLISH) + r")\b")


class VisibleText(HTMLParser):
    """The text a person reads: data outside <script>, <style> and <template>."""

    def __init__(self):
        super().__init__()
        self.hidden = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "template"):
            self.hidden += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style", "template"):
            self.hidden = max(0, self.hidden - 1)

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = VisibleText()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def _admin_url(label, view, obj=None):
    app, model = label.split(".")
    return reverse(f"admin:{app}_{model}_{view}", args=[obj.pk] if obj is not None else [])


def test_a_managers_pages_say_nothing_in_english(client, world):
    client.force_login(world.users["reseller_user"])
    demo = world.demo
    urls = ["/admin/", "/admin/accounts/", "/admin/tickets/", "/admin/whatsapp/", "/admin/webhooks/"]
    for label in MODELS:
        urls.append(_admin_url(label, "changelist"))
        urls.append(_admin_url(label, "change", demo.rows()[label]))
        if label in ADDABLE_BY_MANAGER:
            urls.append(_admin_url(label, "add"))
    urls += [
        reverse("tickets:queue"),
        reverse("tickets:detail", args=[demo.ticket.pk]),
        reverse("contacts:list"),
        reverse("contacts:detail", args=[demo.client.pk]),
        reverse("scheduled_list"),
        reverse("reports:report"),
        reverse("panel"),
    ]
    found = []
    for url in urls:
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="pt-br")
        assert response.status_code == 200, url
        words = sorted(set(PATTERN.findall(visible_text(response.content.decode()))))
        if words:
            found.append(f"{url}: {words}")
    assert found == []


def test_internal_fields_are_for_installation_admins_and_technical_lists_sit_apart(client, world):
    ticket_url = _admin_url("tickets.ticket", "change", world.demo.ticket)
    client.force_login(world.users["reseller_user"])
    page = client.get(ticket_url).content.decode()
    assert "última mensagem em" in page.lower() and "somad" not in page and "Versão" not in page
    index = visible_text(client.get("/admin/").content.decode())
    # The journals come after the everyday lists, under "Técnico".
    assert index.index("Técnico") < index.index("Eventos de webhook")
    assert index.index("Departamentos") < index.index("Técnico")

    # A failed delivery's reason, as the agent reads it in the conversation.
    message = world.demo.message
    Message.objects.filter(pk=message.pk).update(
        delivery_status="failed", error_code="131026", error_text="Message undeliverable"
    )
    page = visible_text(client.get(_admin_url("tickets.message", "change", message)).content.decode())
    assert "Motivo da falha" in page and "Confirme o número com o cliente" in page

    client.force_login(world.users["admin_user"])
    page = client.get(ticket_url).content.decode()
    assert "Versão somada aos relatórios" in page


def test_django_admin_messages_read_right_for_a_feminine_model_name(client, world):
    """Django's pt-BR says "O {name} … foi alterado": "O etiqueta". The project's catalog words it apart
    from the name's gender."""
    client.force_login(world.users["reseller_user"])
    tag = world.demo.tag
    response = client.post(
        _admin_url("accounts.tag", "change", tag),
        {"name": "Clientes VIP", "color": "#b91c1c", "active": "on", "_save": "1"},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="pt-br",
    )
    text = visible_text(response.content.decode())
    # (the name is a link: visible_text puts spaces around it)
    assert "Cadastro de etiqueta “ Clientes VIP ” alterado com sucesso." in text and "O etiqueta" not in text
