"""Assumir, Finalizar, Responder through the views, as each named user."""

import pytest

from tests.tickets.conftest import url, user_of
from tickets.models import Message, Ticket, UIState

ACTIONS = ["assumir", "finalizar", "responder"]


@pytest.mark.parametrize("action", ACTIONS)
def test_get_is_405(client, world, action):
    client.force_login(world.agent1)
    assert client.get(url(world.t["espera"], action)).status_code == 405


@pytest.mark.parametrize("action", ACTIONS)
def test_anonymous_post_goes_to_login(client, world, action):
    response = client.post(url(world.t["espera"], action), {"text": "oi", "nonce": "a"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert Ticket.objects.get(pk=world.t["espera"].pk).ui_state == UIState.ESPERA


def test_csrf_is_enforced(world):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(world.agent1)
    assert strict.post(url(world.t["espera"], "assumir")).status_code == 403
    assert Ticket.objects.get(pk=world.t["espera"].pk).agent is None


@pytest.mark.parametrize(
    "who,name,expected",
    [
        ("agent1", "espera", 303),
        ("agent2", "espera", 303),
        ("reseller_user", "espera", 303),
        ("admin_user", "espera", 303),
        ("agent3", "espera", 404),
        ("outsider.agent", "espera", 404),
        ("outsider.reseller_user", "espera", 404),
        ("agent3", "fin", 303),
        ("agent1", "fin", 404),
        ("agent2", "um", 409),
        ("agent1", "fim", 409),
    ],
)
def test_claim(client, world, who, name, expected):
    user = user_of(world, who)
    ticket = world.t[name]
    before = Ticket.objects.get(pk=ticket.pk)
    client.force_login(user)
    response = client.post(url(ticket, "assumir"))
    assert response.status_code == expected
    after = Ticket.objects.get(pk=ticket.pk)
    if expected == 303:
        assert response["Location"] == url(ticket)
        assert after.ui_state == UIState.ATENDENDO and after.agent == user
    else:
        assert (after.status, after.agent_id) == (before.status, before.agent_id)


def test_lost_claim_names_the_holder(client, world):
    client.force_login(world.agent1)
    assert client.post(url(world.t["espera"], "assumir")).status_code == 303
    client.force_login(world.agent2)
    response = client.post(url(world.t["espera"], "assumir"))
    assert response.status_code == 409
    html = response.content.decode()
    assert "Agente 1" in html and "agente1@demo.local" in html


def test_double_click_on_claim_is_one_claim(client, world):
    client.force_login(world.agent1)
    assert client.post(url(world.t["espera"], "assumir")).status_code == 303
    second = client.post(url(world.t["espera"], "assumir"))
    assert second.status_code == 409 and "agente1@demo.local" in second.content.decode()
    assert world.t["espera"].events.filter(action="claimed").count() == 1


@pytest.mark.parametrize(
    "who,name,expected",
    [
        ("agent1", "um", 303),
        ("agent2", "um", 403),
        ("reseller_user", "um", 303),
        ("admin_user", "dois", 303),
        ("agent3", "um", 404),
        ("outsider.agent", "um", 404),
        ("outsider.reseller_user", "dois", 404),
        ("agent1", "espera", 409),
        ("agent2", "fim", 409),
    ],
)
def test_close(client, world, who, name, expected):
    user = user_of(world, who)
    ticket = world.t[name]
    before = Ticket.objects.get(pk=ticket.pk)
    client.force_login(user)
    response = client.post(url(ticket, "finalizar"))
    assert response.status_code == expected
    after = Ticket.objects.get(pk=ticket.pk)
    if expected == 303:
        assert after.ui_state == UIState.FINALIZADO and after.closed_by == user
    else:
        assert (after.status, after.agent_id, after.closed_at) == (before.status, before.agent_id, before.closed_at)
    if expected == 403:
        assert "Agente 1" in response.content.decode()


def test_close_sends_the_farewell_once(client, world, tenant):
    from accounts.models import ResellerConfig

    ResellerConfig.objects.filter(reseller=tenant.reseller).update(farewell_text="Obrigado pelo contato!")
    client.force_login(world.agent1)
    assert client.post(url(world.t["um"], "finalizar")).status_code == 303
    assert client.post(url(world.t["um"], "finalizar")).status_code == 409  # double click: no second close
    farewell = Message.objects.filter(ticket=world.t["um"], text="Obrigado pelo contato!")
    assert farewell.count() == 1 and farewell.get().delivery_status == "queued"


@pytest.mark.parametrize(
    "who,name,expected",
    [
        ("agent1", "um", 303),
        ("reseller_user", "um", 303),
        ("admin_user", "um", 303),
        ("agent2", "um", 409),
        ("agent1", "espera", 409),
        ("agent1", "fim", 409),
        ("agent3", "um", 404),
        ("outsider.agent", "um", 404),
        ("outsider.reseller_user", "um", 404),
    ],
)
def test_reply(client, world, who, name, expected):
    ticket = world.t[name]
    client.force_login(user_of(world, who))
    response = client.post(url(ticket, "responder"), {"text": "Olá! Já estou vendo.", "nonce": "abc"})
    assert response.status_code == expected
    stored = Message.objects.filter(ticket=ticket, direction="out", text="Olá! Já estou vendo.")
    assert stored.count() == (1 if expected == 303 else 0)
    if expected == 303:
        assert response["Location"] == url(ticket)
        assert stored.get().delivery_status == "queued" and stored.get().sender_agent == user_of(world, who)
    if expected == 409:
        assert "Atendendo" in response.content.decode() or "está com" in response.content.decode()


def test_reply_double_submit_stores_one_message(client, world):
    client.force_login(world.agent1)
    data = {"text": "Uma vez só", "nonce": "same-nonce"}
    assert client.post(url(world.t["um"], "responder"), data).status_code == 303
    assert client.post(url(world.t["um"], "responder"), data).status_code == 303
    assert Message.objects.filter(ticket=world.t["um"], text="Uma vez só").count() == 1


def test_reply_is_sent_exactly_as_typed(client, world):
    client.force_login(world.agent1)
    text = "  Linha 1\n\n  *negrito* <b>não é html</b>  "
    client.post(url(world.t["um"], "responder"), {"text": text, "nonce": "n"})
    assert Message.objects.get(ticket=world.t["um"], direction="out").text == text


@pytest.mark.parametrize("text", ["", "   \n  ", "x" * 4097])
def test_rejected_reply_shows_the_form_again(client, world, text):
    client.force_login(world.agent1)
    response = client.post(url(world.t["um"], "responder"), {"text": text, "nonce": "n"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'name="text"' in html and 'role="alert"' in html
    assert not Message.objects.filter(ticket=world.t["um"], direction="out").exists()


def test_reply_through_htmx_returns_the_thread_and_a_fresh_form(client, world):
    client.force_login(world.agent1)
    response = client.post(
        url(world.t["um"], "responder"), {"text": "Resposta ao vivo", "nonce": "n-htmx"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="reply-box"' in html and 'hx-swap-oob="true"' in html and "Resposta ao vivo" in html
    assert 'value="n-htmx"' not in html  # the next reply gets its own nonce


def test_conflict_through_htmx_is_swapped_with_409(client, world):
    client.force_login(world.agent2)
    response = client.post(url(world.t["um"], "responder"), {"text": "oi", "nonce": "x"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 409 and "Agente 1" in response.content.decode()


def test_reply_with_text_only_as_the_contract_says(client, world):
    client.force_login(world.agent1)
    assert client.post(url(world.t["um"], "responder"), {"text": "Só o texto"}).status_code == 303
    assert client.post(url(world.t["um"], "responder"), {"text": "Só o texto"}).status_code == 303
    # Without a nonce there is nothing to deduplicate on: two posts are two replies.
    assert Message.objects.filter(ticket=world.t["um"], text="Só o texto").count() == 2


def test_the_rendered_form_carries_a_fresh_nonce(client, world):
    client.force_login(world.agent1)
    first = client.get(url(world.t["um"])).content.decode()
    second = client.get(url(world.t["um"])).content.decode()

    def nonce(html):
        start = html.index('name="nonce"')
        tag = html[html.rindex("<", 0, start) : html.index(">", start)]
        return tag.split('value="')[1].split('"')[0]

    assert nonce(first) and nonce(first) != nonce(second)
