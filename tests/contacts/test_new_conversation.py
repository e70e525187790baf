"""Nova conversa (/contatos/conversar/): a conversation started from a typed number, through the same service as
the API's (tickets.services.conversation_start_number) and Novo atendimento's answers."""

import pytest

from accounts.models import Client
from tests import factories as f
from tickets.models import Message, Ticket, UIState

pytestmark = pytest.mark.django_db

NEW = "/contatos/conversar/"


def stored():
    return Client.objects.count(), Ticket.objects.count(), Message.objects.count()


def test_a_typed_number_starts_a_conversation_with_its_contact_or_a_new_one(
    client, evo_conn, meta_conn, agent1, tenant
):
    client.force_login(agent1)
    assert f'href="{NEW}"' in client.get("/contatos/").content.decode()  # linked from the contact list
    page = client.get(NEW).content.decode()
    assert 'name="number"' in page and "demo-evolution" in page and "Suporte" in page and 'name="text"' in page
    fields = {"connection": str(evo_conn.pk), "department": str(tenant.suporte.pk), "text": "Olá!"}
    response = client.post(NEW, {**fields, "number": "(11) 98765-4321", "name": "Carla"})
    contact = Client.objects.get()
    ticket = Ticket.objects.get(client=contact)
    assert response.status_code == 303 and response["Location"] == f"/tickets/{ticket.pk}/"
    assert (contact.phone, contact.name, ticket.ui_state, ticket.agent) == (
        "5511987654321",
        "Carla",
        UIState.ATENDENDO,
        agent1,
    )
    assert Message.objects.get(ticket=ticket).text == "Olá!"
    # The same phone without its ninth digit: the contact's open ticket, nothing new, the text not sent.
    before = stored()
    again = client.post(NEW, {**fields, "number": "+55 11 8765-4321", "text": "Outra"})
    assert again.status_code == 303 and again["Location"] == f"/tickets/{ticket.pk}/"
    assert stored() == before
    # Refusals: the page again with the reason and what was typed; nothing added.
    bad = client.post(NEW, {**fields, "number": "98765-4321"})
    assert bad.status_code == 400 and "Informe o DDD" in bad.content.decode()
    assert 'value="98765-4321"' in bad.content.decode()
    closed = client.post(NEW, {**fields, "connection": str(meta_conn.pk), "number": "11 91234-5678"})
    assert closed.status_code == 409 and "modelo aprovado" in closed.content.decode()
    assert stored() == before
    english = client.post(NEW, {**fields, "number": "98765-4321"}, HTTP_ACCEPT_LANGUAGE="en")
    assert "Enter the area code" in english.content.decode() and "New conversation" in english.content.decode()


def test_another_agents_ticket_is_409_naming_it_and_anonymous_goes_to_login(client, evo_conn, agent1, agent3):
    contact = f.make_client(evo_conn.reseller, wa_id="5511987654321", name="Carla")
    f.make_ticket(evo_conn, client=contact, agent=agent1)
    assert client.get(NEW).status_code == 302
    client.force_login(agent3)  # Financeiro: cannot see the Suporte ticket
    before = stored()
    response = client.post(NEW, {"number": "11987654321", "text": "Oi"})
    assert response.status_code == 409
    assert "Suporte" in response.content.decode() and "Agente 1" in response.content.decode()
    assert stored() == before
