"""Novo atendimento: an agent starts a conversation with a contact (POST /contatos/<uuid>/conversar/), the form on
a finalizado ticket's page, and Finalizar's confirm step."""

from datetime import timedelta

import pytest

from iaze.lib import clock
from tests import factories as f
from tickets.models import Message, Ticket, TicketEvent, UIState


@pytest.fixture
def inline(settings):
    settings.WHATSAPP_SEND_INLINE = True


def start(http, contact, **fields):
    return http.post(f"/contatos/{contact.pk}/conversar/", fields)


def stored():
    return Ticket.objects.count(), Message.objects.count(), TicketEvent.objects.count()


def wrote_at(contact, connection, *, ago, agent):
    """The contact wrote on this number `ago`, in a ticket since finalizado."""
    ticket = f.make_ticket(connection, client=contact, agent=agent, closed_by=agent)
    Ticket.objects.filter(pk=ticket.pk).update(last_inbound_at=clock.now() - ago)
    return ticket


def test_evolution_text_opens_an_atendendo_ticket_held_by_the_agent_sent_through_the_outbox(
    client, live_meta, live_evo, contact, agent1, tenant, fake, inline
):
    client.force_login(agent1)
    response = start(client, contact, connection=str(live_evo.pk), department=str(tenant.suporte.pk), text="Oi Carla!")
    ticket = Ticket.objects.get(client=contact)
    assert response.status_code == 303 and response["Location"] == f"/tickets/{ticket.pk}/"
    assert (ticket.ui_state, ticket.agent, ticket.department, ticket.connection) == (
        UIState.ATENDENDO,
        agent1,
        tenant.suporte,
        live_evo,
    )
    [message] = Message.objects.filter(ticket=ticket)
    assert (message.direction, message.text, message.sender_agent, message.delivery_status) == (
        "out",
        "Oi Carla!",
        agent1,
        "sent",
    )
    assert fake.texts() == ["Oi Carla!"]
    # History: started by the agent (version 1), then the reply it queued (version 2).
    events = list(TicketEvent.objects.filter(ticket=ticket).order_by("ticket_version"))
    assert [(e.ticket_version, e.action, e.actor) for e in events] == [
        (1, TicketEvent.Action.STARTED, agent1),
        (2, TicketEvent.Action.REPLIED, agent1),
    ]
    assert events[0].to_state == UIState.ATENDENDO
    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert "Iniciado pelo agente" in page and "Oi Carla!" in page
    # No client question waited: the reports' response times leave it out.
    assert ticket.first_response_at is not None and ticket.first_response_seconds is None


def test_meta_text_outside_the_window_is_409_with_nothing_stored_or_sent(client, live_meta, contact, agent1, fake):
    client.force_login(agent1)
    before = stored()
    response = start(client, contact, connection=str(live_meta.pk), text="Oi, tudo bem?")
    assert response.status_code == 409
    assert "só um modelo aprovado" in response.content.decode()
    assert stored() == before and fake.calls == []
    # Also after the window of an earlier conversation closed.
    wrote_at(contact, live_meta, ago=timedelta(hours=24, minutes=1), agent=agent1)
    before = stored()
    response = start(client, contact, connection=str(live_meta.pk), text="Oi, tudo bem?")
    assert response.status_code == 409 and "janela de 24 horas" in response.content.decode()
    assert stored() == before and fake.calls == []


def test_meta_text_inside_the_window_carries_the_window_into_the_new_ticket(
    client, live_meta, contact, agent1, fake, inline
):
    wrote_at(contact, live_meta, ago=timedelta(hours=23), agent=agent1)
    client.force_login(agent1)
    response = start(client, contact, connection=str(live_meta.pk), text="Voltando ao seu pedido")
    assert response.status_code == 303
    ticket = Ticket.objects.get(client=contact, status="open")
    assert fake.texts() == ["Voltando ao seu pedido"]
    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert 'data-window="open"' in page and 'class="reply-form"' in page
    assert client.post(f"/tickets/{ticket.pk}/responder/", {"text": "E mais", "nonce": "r1"}).status_code == 303


def test_meta_template_opens_the_conversation_outside_the_window(
    client, live_meta, template, contact, agent1, fake, inline
):
    client.force_login(agent1)
    response = start(client, contact, connection=str(live_meta.pk), template=str(template.pk), param="Carla")
    assert response.status_code == 303
    ticket = Ticket.objects.get(client=contact)
    assert ticket.ui_state == UIState.ATENDENDO and ticket.agent == agent1
    assert fake.templates() == [
        {
            "name": "retomar_atendimento",
            "language": {"code": "pt_BR"},
            "components": [{"type": "body", "parameters": [{"type": "text", "text": "Carla"}]}],
        }
    ]
    assert Message.objects.get(ticket=ticket).text == "Olá Carla, podemos continuar seu atendimento?"


@pytest.mark.parametrize(
    "fields, reason",
    [
        ({"template": "T", "param": ""}, "Falta o parâmetro 1 do modelo."),
        ({"template": "T"}, "Falta o parâmetro 1 do modelo."),
        ({"text": "   "}, "A mensagem está vazia."),
        ({"template": "00000000-0000-0000-0000-000000000000", "param": "x"}, "Modelo desconhecido."),
        ({"template": "T", "param": "Carla", "text": "e um texto"}, "Envie um texto ou um modelo, não os dois."),
        ({"connection": "OUTSIDER"}, "Conexão inválida."),
        ({"connection": ""}, "Escolha a conexão."),
        ({"department": "FINANCEIRO"}, "Departamento inválido."),
    ],
)
def test_bad_input_is_400_with_the_reason_and_nothing_changes(
    client, live_meta, live_evo, template, contact, agent1, tenant, outsider, fake, fields, reason
):
    body = {"connection": str(live_meta.pk), "department": str(tenant.suporte.pk), **fields}
    substitutes = {
        "T": str(template.pk),
        "OUTSIDER": str(outsider.connection.pk),
        "FINANCEIRO": str(tenant.financeiro.pk),
    }
    body = {k: substitutes.get(v, v) for k, v in body.items()}
    client.force_login(agent1)
    before = stored()
    for path in ("conversar", "agendar"):
        response = client.post(
            f"/contatos/{contact.pk}/{path}/", {**body, "send_at": (clock.now() + timedelta(hours=1)).isoformat()}
        )
        assert response.status_code == 400, path
        assert reason in response.content.decode()
    assert stored() == before and fake.calls == []
    from tickets.models import ScheduledMessage

    assert not ScheduledMessage.objects.exists()


def test_a_lone_connection_and_a_lone_department_may_be_left_out(client, live_evo, contact, agent1):
    client.force_login(agent1)
    response = start(client, contact, text="Olá!")
    assert response.status_code == 303
    assert Ticket.objects.get(client=contact).department.name == "Suporte"


def test_a_supervisor_may_use_any_department_of_the_tenant(client, live_evo, contact, reseller_user, tenant):
    client.force_login(reseller_user)
    assert start(client, contact, text="Olá!").status_code == 400  # two departments: choose one
    response = start(client, contact, department=str(tenant.financeiro.pk), text="Olá!")
    assert response.status_code == 303
    ticket = Ticket.objects.get(client=contact)
    assert ticket.department == tenant.financeiro and ticket.agent == reseller_user


def test_another_tenants_contact_is_404(client, live_evo, agent1, outsider):
    foreign = f.make_client(outsider.reseller, name="De Fora")
    client.force_login(agent1)
    before = stored()
    assert start(client, foreign, text="Olá").status_code == 404
    assert (
        client.post(f"/contatos/{foreign.pk}/agendar/", {"text": "Olá", "send_at": "2099-01-01T10:00"}).status_code
        == 404
    )
    assert stored() == before


def test_get_is_405_and_anonymous_goes_to_login(client, contact):
    assert client.get(f"/contatos/{contact.pk}/conversar/").status_code == 405
    assert client.get(f"/contatos/{contact.pk}/agendar/").status_code == 405
    response = client.post(f"/contatos/{contact.pk}/conversar/", {"text": "x"})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_an_espera_ticket_takes_the_agent_there_unclaimed_and_the_text_is_not_sent(
    client, live_evo, contact, agent1, fake, inline
):
    waiting = f.make_ticket(live_evo, client=contact)
    client.force_login(agent1)
    before = stored()
    response = start(client, contact, connection=str(live_evo.pk), text="Oi")
    assert response.status_code == 303 and response["Location"] == f"/tickets/{waiting.pk}/"
    assert Ticket.objects.get(pk=waiting.pk).ui_state == UIState.ESPERA
    assert stored() == before and fake.calls == []


def test_another_agents_open_ticket_the_user_cannot_see_is_409_naming_department_and_agent(
    client, live_evo, contact, agent1, agent3, fake
):
    held = f.make_ticket(live_evo, client=contact, agent=agent1)  # in Suporte; agent3 works in Financeiro
    client.force_login(agent3)
    before = stored()
    response = start(client, contact, connection=str(live_evo.pk), text="Oi")
    assert response.status_code == 409
    page = response.content.decode()
    assert "Suporte" in page and "Agente 1" in page and "agente1@demo.local" in page
    assert stored() == before and Ticket.objects.get(pk=held.pk).agent == agent1
    # A colleague who can see it is taken there, and it stays with its holder.
    client.force_login(f.make_user("agente9@demo.local", reseller=contact.reseller, departments=[held.department]))
    response = start(client, contact, connection=str(live_evo.pk), text="Oi")
    assert response.status_code == 303 and response["Location"] == f"/tickets/{held.pk}/"
    assert Ticket.objects.get(pk=held.pk).agent == agent1 and stored() == before


def test_a_finalizado_tickets_page_offers_novo_atendimento_and_the_ticket_stays_closed(
    client, live_meta, live_evo, template, contact, agent1, tenant, inline, fake
):
    closed = f.make_ticket(live_evo, client=contact, agent=agent1, closed_by=agent1)
    client.force_login(agent1)
    page = client.get(f"/tickets/{closed.pk}/").content.decode()
    assert "Novo atendimento" in page
    assert f'action="/contatos/{contact.pk}/conversar/"' in page
    assert f'action="/contatos/{contact.pk}/agendar/"' in page
    assert "demo-meta" in page and "demo-evolution" in page and "retomar_atendimento" in page
    # Before typing, the form says what Meta's window allows.
    assert "só um modelo aprovado pode abrir a conversa" in page
    response = start(client, contact, connection=str(live_evo.pk), department=str(tenant.suporte.pk), text="De novo")
    assert response.status_code == 303
    assert Ticket.objects.get(pk=closed.pk).ui_state == UIState.FINALIZADO
    assert Ticket.objects.filter(client=contact, status="open").count() == 1
    # An open ticket's page has no such form.
    fresh = Ticket.objects.get(client=contact, status="open")
    assert "data-reach-out" not in client.get(f"/tickets/{fresh.pk}/").content.decode()


def test_finalizar_asks_for_confirmation_and_the_post_is_unchanged(client, live_evo, agent1):
    ticket = f.make_ticket(live_evo, agent=agent1)
    client.force_login(agent1)
    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    form = page[page.index(f'action="/tickets/{ticket.pk}/finalizar/"') :].split(">", 1)[0]
    assert "data-confirm=" in form and "não pode ser reaberto" in form
    assert client.post(f"/tickets/{ticket.pk}/finalizar/").status_code == 303
    assert Ticket.objects.get(pk=ticket.pk).ui_state == UIState.FINALIZADO


def test_the_nav_links_agendamentos(client, agent1):
    client.force_login(agent1)
    assert 'href="/agendamentos/"' in client.get("/tickets/").content.decode()
