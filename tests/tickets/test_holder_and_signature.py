"""Security review item 10 (a holder moved out of the department) and the reseller's reply signature."""

import pytest

from accounts.models import ResellerConfig
from tests.tickets.conftest import url
from tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db


def test_a_holder_moved_out_of_the_department_may_both_reply_and_close(client, world, tenant):
    agent1, ticket = world.agent1, world.t["um"]
    agent1.departments.set([tenant.financeiro])  # no longer in Suporte, still holds the ticket
    client.force_login(agent1)
    page = client.get(url(ticket))
    assert page.status_code == 200
    assert page.context["can_reply"] and page.context["can_close"]
    assert client.post(url(ticket, "responder"), {"text": "Ainda estou com você", "nonce": "m1"}).status_code == 303
    assert Message.objects.filter(ticket=ticket, direction="out", text="Ainda estou com você").exists()
    assert client.post(url(ticket, "finalizar")).status_code == 303
    assert Ticket.objects.get(pk=ticket.pk).status == Ticket.Status.CLOSED


def test_another_agent_of_the_old_department_may_do_neither(client, world):
    client.force_login(world.agent2)
    page = client.get(url(world.t["um"]))
    assert not page.context["can_reply"] and not page.context["can_close"]
    assert client.post(url(world.t["um"], "responder"), {"text": "x", "nonce": "m2"}).status_code == 409
    assert client.post(url(world.t["um"], "finalizar")).status_code == 403
    assert Ticket.objects.get(pk=world.t["um"].pk).status == Ticket.Status.OPEN


@pytest.fixture
def live(settings, fake, world):
    settings.WHATSAPP_SEND_INLINE = True
    settings.WHATSAPP_HTTP_TIMEOUT = 10.0
    conn = world.t["um"].connection
    conn.api_base_url = fake.url + "/v21.0"
    conn.save()
    return fake


def test_reply_goes_out_exactly_as_typed_when_signature_is_off(client, world, live):
    client.force_login(world.agent1)
    text = "  *negrito* e\nduas linhas  "
    assert client.post(url(world.t["um"], "responder"), {"text": text, "nonce": "s1"}).status_code == 303
    assert live.texts() == [text]


def test_reply_is_signed_with_the_agents_name_when_the_reseller_turns_it_on(client, world, live):
    ResellerConfig.objects.filter(reseller=world.t["um"].reseller).update(reply_signature=True)
    client.force_login(world.agent1)
    assert client.post(url(world.t["um"], "responder"), {"text": "Bom dia!", "nonce": "s2"}).status_code == 303
    assert live.texts() == ["*Agente 1*:\nBom dia!"]
    assert Message.objects.get(ticket=world.t["um"], direction="out").text == "*Agente 1*:\nBom dia!"
