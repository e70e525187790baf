"""The client stays visible behind the bot: queue rows and alerts quote the client's latest message, and
"sem resposta" means "the client wrote after the last answer a person gave". Automatic texts (greeting,
out of hours, department menu, farewell, rating question) never replace the client nor count as an answer;
a text the business typed on its own phone (Evolution's fromMe) does count.

Real webhook payloads (tests/payloads) through the real webhook view, as the provider posts them."""

import itertools
import re
import time
from datetime import datetime, timedelta
from importlib import import_module

import pytest
from django.apps import apps

from accounts.hours import WEEKDAYS
from tests import factories as f
from tests.support.webhooks import evo_sample, meta_text, post_evolution, post_meta
from tickets import services
from tickets.models import Message, Ticket
from tickets.reads import inbox

pytestmark = pytest.mark.django_db

JID = "5511988887777@s.whatsapp.net"
INTRO = "Olá! Escolha o setor:"
GREETING = "Bem-vindo à Demo! Já vamos atender."
OUT_OF_HOURS = "Estamos fora do horário, respondemos amanhã."
FAREWELL = "Obrigado pelo contato, até logo!"
QUESTION = "De 1 a 5, como foi o atendimento?"
TRANSFER = "Você agora fala com {{agente}}."
WAITING = 'title="Cliente aguardando resposta"'
_ids = itertools.count(1)


@pytest.fixture
def bot(tenant, evo_conn, meta_conn):
    """Every automatic text on: greeting, out of hours (the business opens three days from now only: closed
    for every message of these tests), the department menu on both connections, the transfer notice, the
    farewell and the rating question."""
    config = tenant.reseller.config
    config.greeting_text, config.out_of_hours_text, config.farewell_text = GREETING, OUT_OF_HOURS, FAREWELL
    config.business_hours = {WEEKDAYS[(datetime.now() + timedelta(days=3)).weekday()]: [["00:00", "24:00"]]}
    config.transfer_text = TRANSFER
    config.satisfaction_enabled, config.satisfaction_question_text = True, QUESTION
    config.save()
    for conn in (evo_conn, meta_conn):
        conn.menu_enabled, conn.menu_intro = True, INTRO
        conn.menu_department_ids = [str(tenant.suporte.pk), str(tenant.financeiro.pk)]
        conn.save()
    return config


def say(client, conn, text, *, ts=None, from_me=False, jid=JID):
    """The client (or, with from_me, the business's own phone) writes on Evolution."""
    name = "evolution_messages_upsert_fromme_text.json" if from_me else "evolution_messages_upsert_text.json"
    body = evo_sample(name, message_id=f"3EB0VIS{next(_ids):012d}", jid=jid)
    body["data"]["message"]["conversation"] = text
    body["data"]["messageTimestamp"] = ts or int(time.time())
    body["instance"] = conn.instance_name
    assert post_evolution(client, conn, body).status_code == 200


def row(html, ticket):
    start = html.index(f'data-ticket="{ticket.pk}"')
    return html[start : html.index("</li>", start)]


def alert_bodies(html):
    return re.findall(r'data-alert-body="([^"]*)"', html)


def auto_texts(ticket):
    out = Message.objects.filter(ticket=ticket, direction=Message.Direction.OUT, sender_agent__isnull=True)
    return list(out.exclude(from_business_phone=True).order_by("created_at").values_list("text", flat=True))


def test_with_the_menu_on_the_row_and_the_alert_quote_the_client_not_the_menu(client, bot, evo_conn, agent1):
    say(client, evo_conn, "Preciso da segunda via do boleto", ts=int(time.time()) - 120)
    ticket = Ticket.objects.get()
    texts = auto_texts(ticket)
    assert texts[0] == GREETING and texts[1] == OUT_OF_HOURS and texts[2].startswith(INTRO)
    assert ticket.last_message_preview.startswith(INTRO)  # the bot spoke last
    client.force_login(agent1)
    html = client.get("/tickets/?status=espera").content.decode()
    shown = row(html, ticket)
    assert "Preciso da segunda via do boleto" in shown
    assert INTRO not in shown and GREETING not in shown and OUT_OF_HOURS not in shown
    # The time beside it is the client's message's, not the menu's.
    assert f'datetime="{ticket.last_inbound_at.isoformat()}"' in shown
    assert ticket.last_inbound_at < ticket.last_message_at
    assert alert_bodies(html) == ["Preciso da segunda via do boleto"]


def test_on_meta_too_the_greeting_and_menu_never_replace_the_client(client, bot, meta_conn, agent1):
    body = meta_text(meta_conn, text="Meu pedido não chegou", ts=int(time.time()))
    assert post_meta(client, meta_conn, body).status_code == 200
    ticket = Ticket.objects.get()
    assert len(auto_texts(ticket)) == 3
    client.force_login(agent1)
    html = client.get("/tickets/?status=espera").content.decode()
    assert "Meu pedido não chegou" in row(html, ticket) and INTRO not in row(html, ticket)
    assert alert_bodies(html) == ["Meu pedido não chegou"]


def test_unanswered_stays_on_through_automatic_texts_and_goes_off_with_a_persons_answer(client, bot, evo_conn, agent1):
    say(client, evo_conn, "Oi, alguém aí?", ts=int(time.time()) - 600)
    ticket = services.ticket_claim(ticket=Ticket.objects.get(), agent=agent1)
    assert len(auto_texts(ticket)) == 3  # greeting, out of hours, menu: none of them an answer
    client.force_login(agent1)

    def atendendo():
        return row(client.get("/tickets/?status=atendendo").content.decode(), ticket)

    assert WAITING in atendendo() and "sem resposta há 10" in atendendo()
    services.ticket_reply(ticket=ticket, agent=agent1, text="Olá! Sou o Agente 1.", nonce="r1")
    assert WAITING not in atendendo()
    assert "Oi, alguém aí?" in atendendo()  # the row still quotes the client, not the agent

    say(client, evo_conn, "Preciso trocar o endereço", ts=int(time.time()) + 2)
    shown = atendendo()
    assert WAITING in shown and "Preciso trocar o endereço" in shown
    # An alert for the new client message, quoting it.
    assert "Preciso trocar o endereço" in alert_bodies(client.get("/tickets/?status=espera").content.decode())

    # Answered on the business's own phone (Evolution fromMe): a person's answer too.
    say(client, evo_conn, "Feito, endereço trocado.", ts=int(time.time()) + 3, from_me=True)
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert ticket.last_human_reply_at > ticket.last_inbound_at
    assert WAITING not in atendendo() and "Preciso trocar o endereço" in atendendo()


def test_an_automatic_text_to_a_held_ticket_is_no_answer(client, bot, evo_conn, agent1, agent2):
    say(client, evo_conn, "Oi", ts=int(time.time()) - 60)
    ticket = services.ticket_claim(ticket=Ticket.objects.get(), agent=agent1)
    services.ticket_transfer(ticket=ticket, by=agent1, agent=str(agent2.pk))
    after = Ticket.objects.get(pk=ticket.pk)
    assert auto_texts(after)[-1] == "Você agora fala com Agente 2."  # the bot spoke last
    assert after.last_human_reply_at is None and inbox.unanswered_since(after) == after.last_inbound_at
    client.force_login(agent2)
    shown = row(client.get("/tickets/?status=atendendo").content.decode(), after)
    assert WAITING in shown and "Oi" in shown and "Agente 2." not in shown


def test_a_farewell_and_the_rating_question_after_close_are_no_answer(client, bot, evo_conn, agent1):
    say(client, evo_conn, "Vocês abrem amanhã?", ts=int(time.time()) - 60)
    ticket = services.ticket_claim(ticket=Ticket.objects.get(), agent=agent1)
    services.ticket_close(ticket=ticket, by=agent1)  # closed without a word from the agent
    closed = Ticket.objects.get(pk=ticket.pk)
    assert auto_texts(closed)[-2:] == [FAREWELL, QUESTION]
    assert closed.last_human_reply_at is None
    assert inbox.unanswered_since(closed) == closed.last_inbound_at
    client.force_login(agent1)
    shown = row(client.get("/tickets/?status=finalizado").content.decode(), closed)
    assert "Vocês abrem amanhã?" in shown and FAREWELL not in shown and QUESTION not in shown


def test_an_answer_before_close_stays_the_last_answer_after_the_farewell(client, bot, evo_conn, agent1):
    say(client, evo_conn, "Vocês abrem amanhã?", ts=int(time.time()) - 60)
    ticket = services.ticket_claim(ticket=Ticket.objects.get(), agent=agent1)
    services.ticket_reply(ticket=ticket, agent=agent1, text="Abrimos às 8h.", nonce="r1")
    answered = Ticket.objects.get(pk=ticket.pk).last_human_reply_at
    services.ticket_close(ticket=ticket, by=agent1)
    closed = Ticket.objects.get(pk=ticket.pk)
    assert closed.last_message_preview == QUESTION  # the bot spoke last...
    assert closed.last_human_reply_at == answered and inbox.unanswered_since(closed) is None  # ...not an answer


def test_a_template_sent_by_an_agent_is_an_answer(tenant, meta_conn, agent1):
    ticket = f.make_ticket(meta_conn, agent=agent1, text="Oi")
    template = meta_conn.templates.create(name="retomar", body="Olá {{1}}, podemos continuar?")
    services.ticket_template_send(ticket=ticket, agent=agent1, template=str(template.pk), params=["Maria"])
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert ticket.last_human_reply_at is not None and inbox.unanswered_since(ticket) is None


def test_a_conversation_the_business_started_quotes_its_first_message(meta_conn, agent1):
    ticket = f.make_ticket(meta_conn, agent=agent1, text="Oi")
    # As a ticket opened by the business would be, before the client says anything.
    Ticket.objects.filter(pk=ticket.pk).update(last_inbound_at=None, last_client_preview="")
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert inbox.client_preview(ticket) == ticket.last_message_preview
    assert inbox.client_last_at(ticket) == ticket.last_message_at and inbox.unanswered_since(ticket) is None


def test_the_migration_fills_both_fields_from_the_messages_of_older_tickets(client, bot, evo_conn, agent1, monkeypatch):
    migration = import_module("tickets.migrations.0021_client_last_message")
    monkeypatch.setattr(migration, "PAGE", 2)  # several pages of tickets
    say(client, evo_conn, "Primeira pergunta", ts=int(time.time()) - 600)
    answered = services.ticket_claim(ticket=Ticket.objects.get(), agent=agent1)
    services.ticket_reply(ticket=answered, agent=agent1, text="Resposta do agente", nonce="r1")
    say(client, evo_conn, "Segunda pergunta", ts=int(time.time()) + 2)
    for n in range(3):  # greeting, out of hours and menu, and no answer at all
        say(client, evo_conn, f"Cliente {n} escreveu", jid=f"55119000000{n:02d}@s.whatsapp.net")
    waiting = list(Ticket.objects.filter(agent__isnull=True))
    assert len(waiting) == 3 and all(len(auto_texts(t)) == 3 for t in waiting)
    echoed = f.make_ticket(evo_conn, agent=agent1, text="Pode confirmar?")
    echo = services.message_store(
        ticket=echoed,
        msg=services.InboundMessage(provider_message_id="3EB0ECHO0001", text="Confirmado."),
        direction=Message.Direction.OUT,
        from_business_phone=True,
    )
    # As the rows were before the migration's columns existed.
    Ticket.objects.update(last_client_preview="", last_human_reply_at=None)
    migration.backfill(apps, None)
    rows = {t.pk: t for t in Ticket.objects.all()}
    reply = Message.objects.get(ticket=answered, sender_agent=agent1)
    assert rows[answered.pk].last_client_preview == "Segunda pergunta"
    assert rows[answered.pk].last_human_reply_at == reply.created_at
    assert inbox.unanswered_since(rows[answered.pk]) == rows[answered.pk].last_inbound_at  # the client wrote after
    for ticket in waiting:
        assert rows[ticket.pk].last_client_preview.endswith("escreveu") and rows[ticket.pk].last_human_reply_at is None
    assert rows[echoed.pk].last_client_preview == "Pode confirmar?"
    assert rows[echoed.pk].last_human_reply_at == echo.created_at
    # A rerun, or a ticket the services stamped meanwhile, is left as it is.
    Ticket.objects.filter(pk=echoed.pk).update(last_client_preview="escrita depois")
    migration.backfill(apps, None)
    assert Ticket.objects.get(pk=echoed.pk).last_client_preview == "escrita depois"
    assert {t.pk: (t.last_client_preview, t.last_human_reply_at) for t in Ticket.objects.exclude(pk=echoed.pk)} == {
        pk: (t.last_client_preview, t.last_human_reply_at) for pk, t in rows.items() if pk != echoed.pk
    }
