"""The strings the queue rows and thread messages show, now prepared once per page in Python:
the same texts as before, in pt-BR and in English."""

from datetime import timedelta

from django.utils import timezone

from iaze.lib import clock
from tests.tickets.conftest import url
from tickets import outbox, services
from tickets.models import Message, Ticket


def _row(html, ticket):
    start = html.index(f'data-ticket="{ticket.pk}"')
    return html[start : html.index("</li>", start)]


def test_queue_rows_show_waiting_times(client, world):
    client.force_login(world.agent1)
    espera, um = world.t["espera"], world.t["um"]
    html = client.get("/tickets/?status=espera").content.decode()
    row = _row(html, espera)
    assert f'href="{url(espera)}"' in row and "Cliente Espera" in row and "+55 11 90000-0001" in row
    assert "chegou agora" in row and 'title="Tempo de espera"' in row

    Ticket.objects.filter(pk=espera.pk).update(created_at=timezone.now() - timedelta(hours=2, minutes=5))
    row = _row(client.get("/tickets/?status=espera").content.decode(), espera)
    assert "esperando há 2\xa0horas, 5\xa0minutos" in row

    # Held, and the client wrote last: the row says for how long it has gone unanswered.
    at = clock.now() - timedelta(minutes=7)  # whole milliseconds, as the app stores times
    Ticket.objects.filter(pk=um.pk).update(last_inbound_at=at, last_message_at=at)
    row = _row(client.get("/tickets/?status=atendendo").content.decode(), um)
    assert "sem resposta há 7\xa0minutos" in row and "Agente 1" in row
    assert f'datetime="{at.isoformat()}"' in row


def test_queue_rows_in_english(client, world):
    client.force_login(world.agent1)
    row = _row(client.get("/tickets/?status=espera", HTTP_ACCEPT_LANGUAGE="en").content.decode(), world.t["espera"])
    assert "just arrived" in row and 'title="Waiting time"' in row


def test_thread_shows_sender_and_delivery_state(client, world):
    ticket = world.t["um"]
    reply = services.ticket_reply(ticket=ticket, agent=world.agent1, text="Já verifico", nonce="r1")
    auto, _created = outbox.message_enqueue_outbound(ticket=ticket, text="Mensagem automática de teste")
    Message.objects.filter(pk=auto.pk).update(
        delivery_status="failed", error_code="131047", error_text="Re-engagement message"
    )
    client.force_login(world.agent1)
    html = client.get(url(ticket)).content.decode()
    mine = html[html.index(f'data-message="{reply.pk}"') :]
    assert "Agente 1" in mine[: mine.index("</li>")] and "Na fila" in mine[: mine.index("</li>")]
    failed = html[html.index(f'data-message="{auto.pk}"') :]
    failed = failed[: failed.index("</li>")]
    # Meta's English title is told in pt-BR: what happened and what to do.
    assert "automática" in failed and "Falhou" in failed and "Envie um modelo" in failed
    assert "Re-engagement" not in failed

    english = client.get(url(ticket), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    failed = english[english.index(f'data-message="{auto.pk}"') :]
    assert "Failed" in failed[: failed.index("</li>")] and "Send a template" in failed


def test_delivery_errors_in_pt_br():
    from providers.error_texts import delivery_error_text

    assert "24 horas" in delivery_error_text("131047", "Re-engagement message")
    assert "token" in delivery_error_text("190", "Invalid OAuth access token")
    assert "Aguarde" in delivery_error_text("131056", "(#131056) pair rate limit hit")
    assert "políticas" in delivery_error_text("368", "Temporarily blocked for policies violations")
    assert "não tem WhatsApp" in delivery_error_text("not_on_whatsapp", "")
    # An unknown Meta code: a generic pt-BR sentence, the code and Meta's original title for support.
    unknown = delivery_error_text("999123", "Something new")
    assert unknown.startswith("A Meta recusou a mensagem (código 999123)") and unknown.endswith("(Something new)")
    # Our own codes already carry a pt-BR text; nothing at all still says something.
    assert delivery_error_text("timeout", "O provedor não respondeu a tempo.") == "O provedor não respondeu a tempo."
    assert delivery_error_text("", "") == "O envio falhou por um motivo não informado. Tente de novo."
