"""Bots that answer first: an integration token writes to a ticket in espera, like an automatic text, and
is refused once an agent claims it."""

import pytest
from django.core.management import call_command

from accounts.models import User
from tests import factories as f
from tests.api.conftest import api_for, url
from tickets.models import Message, Ticket, TicketEvent, UIState

pytestmark = pytest.mark.django_db


@pytest.fixture
def live(tenant, fake):
    return f.make_connection(tenant.reseller, tenant.suporte, key="bot-meta", api_base_url=fake.url + "/v21.0")


def test_an_integration_token_has_a_bot_user_without_a_password(bot, tenant):
    _api, user = bot
    assert user.role == User.Role.BOT and user.reseller == tenant.reseller and user.name == "Typebot"
    assert not user.has_usable_password() and not user.is_staff
    assert user.departments.count() == 0


def test_a_bot_sees_its_whole_tenant_and_nothing_else(bot, meta_conn, fin_conn, outsider):
    api, _user = bot
    ours = {f.make_ticket(meta_conn).pk, f.make_ticket(fin_conn).pk}
    theirs = f.make_ticket(outsider.connection)
    assert {t["id"] for t in api.get(url()).json()["results"]} == {str(pk) for pk in ours}
    assert api.get(url(theirs)).status_code == 404


def test_a_bots_message_in_espera_goes_through_the_outbox_and_the_ticket_stays_in_espera(bot, live, fake):
    api, user = bot
    ticket = f.make_ticket(live, text="Quero a segunda via")
    response = api.post(url(ticket, "messages"), {"text": "Olá! Sou o assistente. Qual o CPF?"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "queued" and body["agent"]["name"] == "Typebot"
    message = Message.objects.get(pk=body["id"])
    assert message.direction == Message.Direction.OUT and message.sender_agent == user
    event = TicketEvent.objects.get(ticket=ticket, data__message_id=str(message.pk))
    assert event.action == TicketEvent.Action.AUTO_MESSAGE and event.data["what"] == "bot"
    assert Ticket.objects.get(pk=ticket.pk).ui_state == UIState.ESPERA
    call_command("send_outbox", stdout=open("/dev/null", "w"))
    assert fake.texts() == ["Olá! Sou o assistente. Qual o CPF?"]
    assert Message.objects.get(pk=message.pk).delivery_status == Message.Delivery.SENT
    assert Ticket.objects.get(pk=ticket.pk).ui_state == UIState.ESPERA  # for an agent to claim


def test_once_claimed_a_bots_message_is_409_naming_the_holder(bot, meta_conn, agent1):
    api, _user = bot
    ticket = f.make_ticket(meta_conn)
    assert api.post(url(ticket, "messages"), {"text": "primeira resposta"}).status_code == 201
    assert api_for(agent1).post(url(ticket, "claim")).status_code == 200
    refused = api.post(url(ticket, "messages"), {"text": "ainda estou aqui"})
    assert refused.status_code == 409
    assert refused.json()["holder"]["id"] == str(agent1.pk) and refused.json()["status"] == "atendendo"
    closed = f.make_ticket(meta_conn, agent=agent1, closed_by=agent1)
    assert api.post(url(closed, "messages"), {"text": "oi"}).status_code == 409
    assert not Message.objects.filter(text__in=["ainda estou aqui", "oi"]).exists()


def test_a_bot_does_not_claim_close_or_reply_but_may_route_and_note(bot, meta_conn, agent1, tenant):
    api, _user = bot
    ticket = f.make_ticket(meta_conn)
    assert api.post(url(ticket, "claim")).status_code == 403
    assert Ticket.objects.get(pk=ticket.pk).ui_state == UIState.ESPERA
    note = api.post(url(ticket, "notes"), {"text": "CPF informado: 123"})
    assert note.status_code == 201 and note.json()["kind"] == "note"
    moved = api.post(url(ticket, "transfer"), {"department": str(tenant.financeiro.pk)})
    assert moved.status_code == 200 and moved.json()["department"]["name"] == "Financeiro"
    assert moved.json()["status"] == "espera"
    held = f.make_ticket(meta_conn, agent=agent1)
    assert api.post(url(held, "close")).status_code == 403
    assert api.post(url(held, "transfer"), {"agent": str(agent1.pk)}).status_code == 403


def test_the_bots_text_limit_and_empty_text(bot, meta_conn):
    api, _user = bot
    ticket = f.make_ticket(meta_conn)
    assert api.post(url(ticket, "messages"), {"text": "x" * 4097}).status_code == 400
    assert api.post(url(ticket, "messages"), {"text": " "}).status_code == 400
    assert not Message.objects.filter(direction=Message.Direction.OUT).exists()


def test_a_bot_user_cannot_log_in_to_the_pages(client, bot):
    _api, user = bot
    response = client.post("/accounts/login/", {"username": user.email, "password": ""})
    assert response.status_code == 200  # the form again, with an error
    assert "_auth_user_id" not in client.session
