"""POST /api/v1/conversations/: Novo atendimento through the API, for a contact or a typed number (contract §7
"Starting a conversation"), with the outreach service's answers."""

import json

import pytest

from accounts.models import Client
from tests import factories as f
from tests.api.conftest import api_for
from tickets.models import Message, MessageTemplate, Ticket, TicketEvent

pytestmark = pytest.mark.django_db

START = "/api/v1/conversations/"


def stored():
    return Client.objects.count(), Ticket.objects.count(), Message.objects.count(), TicketEvent.objects.count()


def test_a_contact_gets_an_atendendo_ticket_and_a_second_start_is_409_naming_the_holder(
    evo_conn, meta_conn, agent1, agent3, tenant
):
    contact = f.make_client(tenant.reseller, name="Carla Mendes", wa_id="5511987654321")
    api = api_for(agent1)
    body = {"contact": str(contact.pk), "connection": str(evo_conn.pk), "text": "Oi Carla!"}
    response = api.post(START, body)  # agent1 has one department: it may be left out
    assert response.status_code == 201, response.content
    ticket = response.json()
    assert (ticket["status"], ticket["agent"]["id"], ticket["department"]["name"], ticket["connection"]) == (
        "atendendo",
        str(agent1.pk),
        "Suporte",
        "demo-evolution",
    )
    assert ticket["client"] == {"id": str(contact.pk), "name": "Carla Mendes", "number": "5511987654321"}
    [message] = Message.objects.filter(ticket_id=ticket["id"])
    assert (message.direction, message.text, message.sender_agent) == ("out", "Oi Carla!", agent1)
    before = stored()
    again = api.post(START, body).json()
    assert again["code"] == "open_ticket" and again["ticket"] == ticket["id"]
    assert again["holder"]["id"] == str(agent1.pk) and again["status"] == "atendendo"
    # agent3 (Financeiro) may not see it: told its department and agent, not its id.
    hidden = api_for(agent3).post(START, body)
    assert hidden.status_code == 409
    answer = hidden.json()
    assert answer["ticket"] is None and "Suporte" in answer["detail"] and "Agente 1" in answer["detail"]
    # Meta: free text to a contact who never wrote there is refused; nothing stored or sent.
    closed = api.post(START, {**body, "connection": str(meta_conn.pk)})
    assert closed.status_code == 409 and closed.json()["code"] == "window_closed"
    assert "modelo aprovado" in closed.json()["detail"]
    assert stored() == before


def test_a_typed_number_finds_its_contact_in_any_form_or_adds_one(evo_conn, meta_conn, agent1, tenant):
    api = api_for(agent1)
    common = {"connection": str(evo_conn.pk), "text": "Olá!"}
    response = api.post(START, {"number": "+55 (11) 98765-4321", **common})
    assert response.status_code == 201, response.content
    contact = Client.objects.get()
    assert (contact.phone, contact.identity, contact.name, contact.name_set_by_agent) == (
        "5511987654321",
        "5511987654321",
        "",
        False,  # the client's WhatsApp profile name names it when they answer
    )
    assert response.json()["client"]["id"] == str(contact.pk)
    # The same phone without its ninth digit is the same contact: its open ticket, nothing new.
    for typed in ("551187654321", "5511987654321"):
        again = api.post(START, {"number": typed, **common})
        assert again.status_code == 409 and again.json()["ticket"] == response.json()["id"]
    assert Client.objects.count() == 1 and Ticket.objects.count() == 1
    # Meta: free text to a new number is refused before a contact is added; a template opens it.
    before = stored()
    closed = api.post(START, {"number": "11 91234-5678", "connection": str(meta_conn.pk), "text": "Oi"})
    assert closed.status_code == 409 and closed.json()["code"] == "window_closed"
    assert stored() == before
    template = MessageTemplate.objects.create(
        connection=meta_conn, name="boas_vindas", language="pt_BR", category="UTILITY", body="Olá {{1}}!"
    )
    opened = api.post(
        START,
        {
            "number": "11 91234-5678",
            "name": "Bia",
            "connection": str(meta_conn.pk),
            "template": str(template.pk),
            "params": ["Bia"],
        },
    )
    assert opened.status_code == 201, opened.content
    assert opened.json()["client"]["name"] == "Bia" and opened.json()["client"]["number"] == "5511912345678"
    assert Message.objects.get(ticket_id=opened.json()["id"]).text == "Olá Bia!"


def test_bad_requests_are_400_with_the_reason_and_change_nothing(
    evo_conn, meta_conn, agent1, reseller_user, tenant, outsider
):
    contact = f.make_client(tenant.reseller, name="Carla")
    foreign = f.make_client(outsider.reseller, name="De Fora")
    ok = {"contact": str(contact.pk), "connection": str(evo_conn.pk)}
    cases = [
        ("{", "parse_error", "JSON"),
        (json.dumps({**ok, "text": "oi", "texto": "x"}), "unknown_field", "texto"),
        (json.dumps({"connection": str(evo_conn.pk), "text": "oi"}), "required", "contact"),
        (json.dumps({**ok, "number": "11987654321", "text": "oi"}), "required", "contact"),
        (json.dumps({**ok, "contact": str(foreign.pk), "text": "oi"}), "not_found", "Contato não encontrado"),
        (json.dumps({"number": "98765-4321", "text": "oi"}), "invalid", "Informe o DDD"),
        (json.dumps({**ok, "text": "   "}), "invalid", "A mensagem está vazia."),
        (json.dumps({**ok, "connection": str(meta_conn.pk), "text": "a" * 4097}), "invalid", "4096"),
        (json.dumps({**ok, "text": "a" * 70_000}), "max_length", "text"),
        (json.dumps({**ok, "text": "oi", "connection": str(outsider.connection.pk)}), "invalid", "Conexão inválida."),
        (json.dumps({**ok, "text": "oi", "department": str(tenant.financeiro.pk)}), "invalid", "Departamento"),
        (json.dumps({**ok, "template": "00000000-0000-4000-8000-000000000000"}), "invalid", "Modelo desconhecido."),
    ]
    api = api_for(agent1)
    before = stored()
    for raw, code, says in cases:
        response = api.post(START, raw=raw)
        assert response.status_code == 400, raw[:100]
        body = response.json()
        assert body["code"] == code and says in body["detail"], (raw[:100], body)
    # A supervisor has both departments: one must be chosen.
    choose = api_for(reseller_user).post(START, {**ok, "text": "oi"})
    assert choose.status_code == 400 and choose.json()["detail"] == "Escolha o departamento."
    assert stored() == before
