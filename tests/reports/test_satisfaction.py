"""The satisfaction survey: asked once after Finalizar (inside Meta's 24-hour window), answered 1–5 within
24 hours onto the closed ticket, anything else routed as usual. Message times are given, never waited for."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.support.webhooks import post_evolution_text, post_meta_text
from tickets import services
from tickets.models import Message, Ticket, TicketEvent
from tickets.rules import satisfaction
from tickets.services.inbound import rating_answer_ingest  # the door's step, not exported

pytestmark = pytest.mark.django_db
WA = "5511977770001"


@pytest.fixture
def survey(tenant):
    config = tenant.reseller.config
    config.satisfaction_enabled = True
    config.save()
    return config


def _now_ts(delta=timedelta()):
    return int((timezone.now() + delta).timestamp())


def closed_ticket(client, conn, agent, *, first_ts=None):
    post_meta_text(client, conn, wa_id=WA, text="preciso de ajuda", ts=first_ts or _now_ts())
    ticket = Ticket.objects.get(connection=conn, client__wa_id=WA, status=Ticket.Status.OPEN)
    ticket = services.ticket_claim(ticket=ticket, agent=agent)
    return services.ticket_close(ticket=ticket, by=agent)


def questions(ticket):
    return Message.objects.filter(ticket=ticket, client_nonce="auto:rating")


@pytest.mark.parametrize(
    "text, rating",
    [
        ("5", 5),
        (" 1 ", 1),
        ("5 estrelas", 5),
        ("1 estrela", 1),
        ("nota 4", 4),
        ("4/5", 4),
        ("3!", 3),
        ("⭐⭐⭐⭐", 4),
        ("⭐️⭐️⭐️", 3),
        ("0", None),
        ("6", None),
        ("10", None),
        ("⭐⭐⭐⭐⭐⭐", None),
        ("obrigado", None),
        ("5 minutos", None),
        ("", None),
    ],
)
def test_what_counts_as_an_answer(text, rating):
    assert satisfaction.parse_rating(text) == rating


def test_off_by_default(client, meta_conn, agent1):
    ticket = closed_ticket(client, meta_conn, agent1)
    assert not questions(ticket).exists() and ticket.rating_asked_at is None


def test_asked_once_after_finalizar(client, meta_conn, agent1, survey):
    ticket = closed_ticket(client, meta_conn, agent1)
    [question] = questions(ticket)
    assert question.text == survey.satisfaction_question_text and question.delivery_status == "queued"
    ticket.refresh_from_db()
    assert ticket.rating_asked_at is not None
    for auto in satisfaction.after_close(survey, ticket, now=timezone.now()):
        services.ticket_auto_message_send(ticket=ticket, auto=auto)  # a second attempt changes nothing
    assert questions(ticket).count() == 1


def test_not_asked_outside_metas_window(client, meta_conn, agent1, survey):
    ticket = closed_ticket(client, meta_conn, agent1, first_ts=_now_ts(-timedelta(hours=25)))
    assert not questions(ticket).exists()


def test_evolution_has_no_window(client, evo_conn, agent1, survey):
    post_evolution_text(client, evo_conn, text="oi")  # the sample's timestamp is long past
    ticket = Ticket.objects.get(connection=evo_conn)
    ticket = services.ticket_close(ticket=services.ticket_claim(ticket=ticket, agent=agent1), by=agent1)
    assert questions(ticket).count() == 1


def test_an_answer_is_stored_thanked_and_opens_no_ticket(client, meta_conn, agent1, survey):
    ticket = closed_ticket(client, meta_conn, agent1)
    post_meta_text(client, meta_conn, wa_id=WA, text="5 estrelas", ts=_now_ts())
    ticket.refresh_from_db()
    assert ticket.rating == 5 and ticket.rated_at is not None
    assert Ticket.objects.count() == 1
    assert Message.objects.filter(ticket=ticket, direction="in", text="5 estrelas").exists()
    assert Message.objects.filter(ticket=ticket, client_nonce="auto:rating_thanks").count() == 1
    assert TicketEvent.objects.filter(ticket=ticket, action="rated", data__rating=5).count() == 1
    # The ticket page shows it.
    client.force_login(agent1)
    assert "5 / 5" in client.get(f"/tickets/{ticket.pk}/").content.decode()


def test_a_second_answer_does_not_overwrite_and_is_an_ordinary_message(client, meta_conn, agent1, survey):
    ticket = closed_ticket(client, meta_conn, agent1)
    post_meta_text(client, meta_conn, wa_id=WA, text="⭐⭐⭐⭐", ts=_now_ts())
    post_meta_text(client, meta_conn, wa_id=WA, text="2", ts=_now_ts())
    ticket.refresh_from_db()
    assert ticket.rating == 4
    new = Ticket.objects.get(status=Ticket.Status.OPEN)
    assert new.pk != ticket.pk and new.messages.get().text == "2"
    assert TicketEvent.objects.filter(action="rated").count() == 1


def test_out_of_range_opens_a_ticket_and_then_a_number_belongs_to_it(client, meta_conn, agent1, survey):
    ticket = closed_ticket(client, meta_conn, agent1)
    post_meta_text(client, meta_conn, wa_id=WA, text="6", ts=_now_ts())
    post_meta_text(client, meta_conn, wa_id=WA, text="4", ts=_now_ts())
    ticket.refresh_from_db()
    assert ticket.rating is None
    new = Ticket.objects.get(status=Ticket.Status.OPEN)
    assert sorted(new.messages.values_list("text", flat=True)) == ["4", "6"]


def test_an_answer_after_24_hours_opens_a_ticket(client, meta_conn, agent1, survey):
    ticket = closed_ticket(client, meta_conn, agent1)
    post_meta_text(client, meta_conn, wa_id=WA, text="5", ts=_now_ts(timedelta(hours=25)))
    ticket.refresh_from_db()
    assert ticket.rating is None and Ticket.objects.filter(status=Ticket.Status.OPEN).count() == 1


def test_no_question_no_rating(client, meta_conn, agent1):
    ticket = closed_ticket(client, meta_conn, agent1)  # survey off: a "5" is a new conversation
    post_meta_text(client, meta_conn, wa_id=WA, text="5", ts=_now_ts())
    ticket.refresh_from_db()
    assert ticket.rating is None and Ticket.objects.filter(status=Ticket.Status.OPEN).count() == 1


def test_a_replayed_answer_finishes_the_same_rating(client, meta_conn, agent1, survey):
    ticket = closed_ticket(client, meta_conn, agent1)
    msg = services.InboundMessage(provider_message_id="wamid.answer1", text="3", timestamp=timezone.now())
    first = rating_answer_ingest(connection=meta_conn, client=ticket.client, msg=msg)
    again = rating_answer_ingest(connection=meta_conn, client=ticket.client, msg=msg)
    assert first.pk == again.pk == ticket.pk and again.rating == 3
    assert Message.objects.filter(provider_message_id="wamid.answer1").count() == 1
    assert TicketEvent.objects.filter(action="rated").count() == 1
    other = services.InboundMessage(provider_message_id="wamid.answer2", text="1", timestamp=timezone.now())
    assert rating_answer_ingest(connection=meta_conn, client=ticket.client, msg=other) is None


def test_another_clients_answer_is_not_a_rating(client, meta_conn, agent1, survey):
    ticket = closed_ticket(client, meta_conn, agent1)
    post_meta_text(client, meta_conn, wa_id="5511977770002", text="5", ts=_now_ts())
    ticket.refresh_from_db()
    assert ticket.rating is None and Ticket.objects.filter(status=Ticket.Status.OPEN).count() == 1
