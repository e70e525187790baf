"""Races through the API and the page at once, on a real database server: the claim (one winner, and every
loser, whichever door it came through, is told who holds the ticket) and a conversation started with a new
number (one contact, one ticket)."""

import json

import pytest
from django.test import Client

from accounts import tokens
from accounts.models import Client as Contact
from tests import factories as f
from tests.support.races import race
from tickets.models import Message, Ticket, TicketEvent, UIState

pytestmark = [pytest.mark.realserver, pytest.mark.django_db(transaction=True)]

THREADS = 16


def test_claims_through_the_api_and_the_page_at_once_have_one_winner(meta_conn, tenant):
    agents = [
        f.make_user(
            f"corrida{i}@race.local", name=f"Corrida {i}", reseller=tenant.reseller, departments=[tenant.suporte]
        )
        for i in range(THREADS)
    ]
    secrets = {i: tokens.token_create(user=agents[i], name="race")[1] for i in range(0, THREADS, 2)}
    ticket = f.make_ticket(meta_conn)
    clients = []
    for i in range(THREADS):
        client = Client()
        if i not in secrets:
            client.force_login(agents[i])  # the page's own session
        clients.append(client)

    def claim(i):
        if i in secrets:  # even threads: the API
            response = clients[i].post(
                f"/api/v1/tickets/{ticket.pk}/claim/",
                data="{}",
                content_type="application/json",
                headers={"Authorization": f"Bearer {secrets[i]}"},
            )
        else:  # odd threads: the Assumir button
            response = clients[i].post(f"/tickets/{ticket.pk}/assumir/")
        return response.status_code, response.content.decode()

    results = race(THREADS, claim)

    unexpected = [r for r in results if isinstance(r, BaseException)]
    assert not unexpected, unexpected
    won = [i for i, (code, _body) in enumerate(results) if code in (200, 303)]
    assert len(won) == 1, [code for code, _ in results]
    winner = agents[won[0]]
    stored = Ticket.objects.get(pk=ticket.pk)
    assert stored.ui_state == UIState.ATENDENDO and stored.agent == winner
    assert TicketEvent.objects.filter(ticket=ticket, action=TicketEvent.Action.CLAIMED).count() == 1
    for i, (code, body) in enumerate(results):
        if i == won[0]:
            continue
        assert code == 409, (i, code)
        if i in secrets:
            answer = json.loads(body)
            assert answer["holder"]["id"] == str(winner.pk) and winner.name in answer["detail"]
        else:
            assert winner.name in body and winner.email in body


def test_a_new_number_typed_in_both_forms_at_once_makes_one_contact_and_one_ticket(evo_conn, tenant):
    """Eight agents start a conversation with the same new number at once, half through the API and half
    through Nova conversa, with and without the ninth digit: one contact, one ticket, one message; every
    other API caller gets 409 naming the ticket, every other page is taken to it."""
    n = 8
    agents = [
        f.make_user(f"novo{i}@race.local", name=f"Novo {i}", reseller=tenant.reseller, departments=[tenant.suporte])
        for i in range(n)
    ]
    secrets = {i: tokens.token_create(user=agents[i], name="race")[1] for i in range(0, n, 2)}
    clients = []
    for i in range(n):
        client = Client()
        if i not in secrets:
            client.force_login(agents[i])
        clients.append(client)
    forms = ["(31) 98765-4321", "+55 31 8765-4321"]

    def start(i):
        body = {"number": forms[i // 2 % 2], "connection": str(evo_conn.pk), "text": f"Olá de {i}"}
        if i in secrets:
            response = clients[i].post(
                "/api/v1/conversations/",
                data=json.dumps(body),
                content_type="application/json",
                headers={"Authorization": f"Bearer {secrets[i]}"},
            )
        else:
            response = clients[i].post("/contatos/conversar/", body)
        return response.status_code, response.get("Location", ""), response.content.decode()

    results = race(n, start)
    assert not [r for r in results if isinstance(r, BaseException)], results
    contact = Contact.objects.get()
    ticket = Ticket.objects.get()
    assert contact.phone == "5531987654321" and ticket.client_id == contact.pk
    assert Message.objects.filter(ticket=ticket).count() == 1
    created = [i for i, (code, _to, body) in enumerate(results) if code == 201]
    for i, (code, to, body) in enumerate(results):
        if i in secrets and i not in created:
            assert code == 409 and json.loads(body)["ticket"] == str(ticket.pk), (i, code, body)
        elif i not in secrets:
            assert code == 303 and to == f"/tickets/{ticket.pk}/", (i, code)
    assert len(created) <= 1 and ticket.agent in agents
    if created:
        assert ticket.agent == agents[created[0]]
