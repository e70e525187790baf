"""Greeting, farewell and out-of-hours texts, end to end: signed webhook → outbox → provider."""

import pytest
from django.core.management import call_command
from django.utils import timezone

from tests import factories as f
from tests.support.races import race
from tests.support.webhooks import post_evolution_text, post_meta_text
from tickets.models import Message, Ticket, TicketEvent
from whatsapp.models import Connection

pytestmark = pytest.mark.django_db

GREETING = "Olá! Recebemos sua mensagem e já vamos atender."
FAREWELL = "Obrigado pelo contato. Até logo!"
OUT_OF_HOURS = "Estamos fora do horário (seg a sex, 8h às 18h). Responderemos assim que possível."
# 1749416383 is Sunday 2025-06-08 17:59:43 in São Paulo; 1749470400 is Monday 09:00 there.
SUNDAY_EVENING, MONDAY_MORNING = 1749416383, 1749470400
WEEKDAYS_8_TO_18 = {day: [["08:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


@pytest.fixture
def live(tenant, fake):
    return f.make_connection(tenant.reseller, tenant.suporte, key="auto-meta", api_base_url=fake.url + "/v21.0")


def configure(tenant, **texts):
    config = tenant.reseller.config
    for name, value in texts.items():
        setattr(config, name, value)
    config.save()


def deliver(fake):
    call_command("send_outbox", stdout=open("/dev/null", "w"))
    return fake.texts()


def test_greeting_once_per_ticket_and_again_on_the_next_ticket(client, tenant, live, fake, agent1):
    configure(tenant, greeting_text=GREETING)
    post_meta_text(client, live, wa_id="5511961610001", text="oi", ts=MONDAY_MORNING)
    post_meta_text(client, live, wa_id="5511961610001", text="tem alguém?", ts=MONDAY_MORNING + 60)
    assert deliver(fake) == [GREETING]
    assert [c.json["to"] for c in fake.calls] == ["5511961610001"]
    ticket = Ticket.objects.get()
    greeting = Message.objects.get(ticket=ticket, direction="out")
    assert greeting.delivery_status == "sent" and greeting.sender_agent is None and ticket.greeting_sent_at
    assert TicketEvent.objects.filter(ticket=ticket, action="auto_message", data__what="greeting").count() == 1

    client.force_login(agent1)
    assert client.post(f"/tickets/{ticket.pk}/assumir/").status_code == 303
    assert client.post(f"/tickets/{ticket.pk}/finalizar/").status_code == 303
    post_meta_text(client, live, wa_id="5511961610001", text="voltei", ts=MONDAY_MORNING + 3600)
    assert deliver(fake) == [GREETING, GREETING]
    assert Ticket.objects.count() == 2


def test_farewell_on_finalizar(client, tenant, live, fake, agent1):
    configure(tenant, farewell_text=FAREWELL)
    # A recent message: a reply is only allowed inside the client's 24-hour window (tickets.rules.window).
    post_meta_text(client, live, wa_id="5511962620002", text="oi", ts=int(timezone.now().timestamp()))
    ticket = Ticket.objects.get()
    client.force_login(agent1)
    client.post(f"/tickets/{ticket.pk}/assumir/")
    assert client.post(f"/tickets/{ticket.pk}/responder/", {"text": "Resolvido!", "nonce": "n1"}).status_code == 303
    assert client.post(f"/tickets/{ticket.pk}/finalizar/").status_code == 303
    assert deliver(fake) == ["Resolvido!", FAREWELL]
    # Finalizar twice (a double click) does not say goodbye twice.
    assert client.post(f"/tickets/{ticket.pk}/finalizar/").status_code == 409
    assert deliver(fake) == ["Resolvido!", FAREWELL]


def test_out_of_hours_at_most_once_per_ticket_and_never_inside_hours(client, tenant, live, fake):
    configure(tenant, out_of_hours_text=OUT_OF_HOURS, business_hours=WEEKDAYS_8_TO_18)
    post_meta_text(client, live, wa_id="5511963630003", text="domingo?", ts=SUNDAY_EVENING)
    post_meta_text(client, live, wa_id="5511963630003", text="alô?", ts=SUNDAY_EVENING + 120)
    post_meta_text(client, live, wa_id="5511963630004", text="segunda cedo", ts=MONDAY_MORNING)
    assert deliver(fake) == [OUT_OF_HOURS]
    assert [c.json["to"] for c in fake.calls] == ["5511963630003"]


def test_out_of_hours_not_sent_once_an_agent_holds_the_ticket(client, tenant, live, fake, agent1):
    configure(tenant, out_of_hours_text=OUT_OF_HOURS, business_hours=WEEKDAYS_8_TO_18)
    post_meta_text(client, live, wa_id="5511964640005", text="oi", ts=MONDAY_MORNING)
    ticket = Ticket.objects.get()
    client.force_login(agent1)
    client.post(f"/tickets/{ticket.pk}/assumir/")
    post_meta_text(client, live, wa_id="5511964640005", text="ainda aí?", ts=SUNDAY_EVENING + 7 * 86400)
    assert deliver(fake) == []


def test_greeting_and_out_of_hours_together_in_that_order(client, tenant, live, fake):
    configure(tenant, greeting_text=GREETING, out_of_hours_text=OUT_OF_HOURS, business_hours=WEEKDAYS_8_TO_18)
    post_meta_text(client, live, wa_id="5511965650006", text="oi", ts=SUNDAY_EVENING)
    assert deliver(fake) == [GREETING, OUT_OF_HOURS]


def test_empty_texts_send_nothing(client, tenant, live, fake, agent1):
    post_meta_text(client, live, wa_id="5511966660007", text="oi", ts=SUNDAY_EVENING)
    ticket = Ticket.objects.get()
    client.force_login(agent1)
    client.post(f"/tickets/{ticket.pk}/assumir/")
    client.post(f"/tickets/{ticket.pk}/finalizar/")
    assert deliver(fake) == [] and not Message.objects.filter(direction="out").exists()


def test_greeting_sent_inline_over_evolution(client, tenant, fake, settings, django_capture_on_commit_callbacks):
    settings.WHATSAPP_SEND_INLINE = True
    configure(tenant, greeting_text=GREETING)
    evo = f.make_connection(
        tenant.reseller, tenant.suporte, provider=Connection.Provider.EVOLUTION, key="auto-evo", api_base_url=fake.url
    )
    # The body is applied in one transaction; the send runs once it commits (here: the test's savepoint).
    with django_capture_on_commit_callbacks(execute=True):
        post_evolution_text(client, evo, text="olá")
    assert fake.texts() == [GREETING]  # sent during the webhook request, not left for the worker
    assert fake.calls[0].path.endswith(f"/message/sendText/{evo.instance_name}")
    assert Message.objects.get(direction="out").delivery_status == "sent"


@pytest.mark.realserver
@pytest.mark.django_db(transaction=True)
def test_concurrent_first_messages_greet_once(tenant, live, fake):
    from django.test import Client

    configure(tenant, greeting_text=GREETING, out_of_hours_text=OUT_OF_HOURS, business_hours=WEEKDAYS_8_TO_18)

    def first_message(n):
        post_meta_text(Client(), live, wa_id="5511967670008", text=f"oi {n}", ts=SUNDAY_EVENING + n)

    results = race(6, first_message, join_timeout=60)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == []
    assert Ticket.objects.count() == 1 and Message.objects.filter(direction="in").count() == 6
    assert sorted(deliver(fake)) == sorted([GREETING, OUT_OF_HOURS])
