"""The 24-hour window (Meta) and templates: 409 outside the window, templates in or out of it."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from iaze.lib import clock
from tests import factories as f
from tests.support.webhooks import meta_text, post_meta
from tests.tickets.conftest import url
from tickets import services
from tickets.models import MediaFile, Message, MessageTemplate, Ticket
from tickets.reads import conversation
from tickets.reads.presenters import present_rows
from tickets.reads.selectors import Page
from tickets.rules import window
from whatsapp.models import Connection

BODY = "Olá {{1}}, podemos continuar seu atendimento?"


@pytest.fixture
def live_conn(tenant, fake):
    return f.make_connection(tenant.reseller, tenant.suporte, key="win-meta", api_base_url=fake.url + "/v21.0")


@pytest.fixture
def held(live_conn, agent1, tenant):
    client = f.make_client(tenant.reseller, name="Carla Mendes", wa_id="5511987654321")
    return f.make_ticket(live_conn, client=client, agent=agent1)


@pytest.fixture
def template(live_conn):
    return MessageTemplate.objects.create(
        connection=live_conn, name="retomar_atendimento", language="pt_BR", category="UTILITY", body=BODY
    )


def _age(ticket, delta):
    Ticket.objects.filter(pk=ticket.pk).update(last_inbound_at=timezone.now() - delta)


def test_a_reply_24h_1min_after_the_client_is_409_and_nothing_is_queued(client, held, agent1, fake, settings):
    settings.WHATSAPP_SEND_INLINE = True
    _age(held, timedelta(hours=24, minutes=1))
    before = Message.objects.count()
    client.force_login(agent1)
    response = client.post(url(held, "responder"), {"text": "Oi, ainda precisa?", "nonce": "w1"})
    assert response.status_code == 409
    assert "janela de 24 horas" in response.content.decode()
    assert Message.objects.count() == before and fake.calls == []


def test_a_file_24h_1min_after_the_client_is_409_and_nothing_is_stored_or_queued(client, held, agent1, fake):
    _age(held, timedelta(hours=24, minutes=1))
    before = (Message.objects.count(), MediaFile.objects.count())
    client.force_login(agent1)
    upload = SimpleUploadedFile("boleto.pdf", b"%PDF-1.4 segunda via", content_type="application/pdf")
    response = client.post(url(held, "responder"), {"text": "segue", "nonce": "wf", "file": upload})
    assert response.status_code == 409 and "janela de 24 horas" in response.content.decode()
    assert (Message.objects.count(), MediaFile.objects.count()) == before and fake.calls == []


def test_a_reply_inside_the_window_is_fine(client, held, agent1):
    _age(held, timedelta(hours=23, minutes=59))
    client.force_login(agent1)
    assert client.post(url(held, "responder"), {"text": "Oi!", "nonce": "w2"}).status_code == 303


def test_evolution_has_no_window(client, tenant, agent1):
    evo = f.make_connection(tenant.reseller, tenant.suporte, provider=Connection.Provider.EVOLUTION, key="win-evo")
    ticket = f.make_ticket(evo, agent=agent1)
    _age(ticket, timedelta(days=3))
    client.force_login(agent1)
    page = client.get(url(ticket)).content.decode()
    assert "data-window" not in page and "janela" not in page
    assert client.post(url(ticket, "responder"), {"text": "Oi!", "nonce": "w3"}).status_code == 303


def test_the_page_shows_the_window_and_offers_templates_when_closed(client, held, agent1, template):
    client.force_login(agent1)
    _age(held, timedelta(hours=1))
    end = timezone.localtime(Ticket.objects.get(pk=held.pk).last_inbound_at + timedelta(hours=24))
    page = client.get(url(held)).content.decode()
    until = conversation.until_text(end)  # "até hoje 11:54" or, past 1 a.m., "até amanhã 11:54"
    assert until.endswith(f"{end:%H:%M}") and f"janela aberta {until}" in page and 'class="reply-form"' in page
    _age(held, timedelta(hours=25))
    page = client.get(url(held)).content.decode()
    assert "janela fechada" in page and 'class="reply-form"' not in page
    assert "data-window-closed" in page and "retomar_atendimento" in page
    assert 'name="param" value="Carla Mendes"' in page  # {{1}} pre-filled with the client's name


def test_a_template_is_sent_outside_the_window_with_meta_s_shape(client, held, agent1, template, fake, settings):
    settings.WHATSAPP_SEND_INLINE = True
    _age(held, timedelta(days=2))
    client.force_login(agent1)
    response = client.post(url(held, "modelo"), {"template": str(template.pk), "param": "Carla", "nonce": "t1"})
    assert response.status_code == 303
    assert fake.templates() == [
        {
            "name": "retomar_atendimento",
            "language": {"code": "pt_BR"},
            "components": [{"type": "body", "parameters": [{"type": "text", "text": "Carla"}]}],
        }
    ]
    [call] = fake.calls
    assert call.path.endswith(f"/{held.connection.phone_number_id}/messages") and call.json["type"] == "template"
    message = Message.objects.get(kind="template")
    assert message.text == "Olá Carla, podemos continuar seu atendimento?" and message.delivery_status == "sent"
    assert "Olá Carla, podemos continuar seu atendimento?" in client.get(url(held)).content.decode()
    # A double submit of the same form is one message, sent once.
    client.post(url(held, "modelo"), {"template": str(template.pk), "param": "Carla", "nonce": "t1"})
    assert Message.objects.filter(kind="template").count() == 1 and len(fake.calls) == 1


def test_a_template_is_queued_first_and_sent_by_the_worker(held, agent1, template, fake):
    from tickets import outbox

    services.ticket_template_send(ticket=held, agent=agent1, template=str(template.pk), params=["Ana"])
    message = Message.objects.get(kind="template")
    assert message.delivery_status == "queued" and fake.calls == []
    assert outbox.send_pending() == {"sent": 1, "retry": 0, "failed": 0, "skipped": 0}
    assert outbox.send_pending()["sent"] == 0
    assert len(fake.templates()) == 1


@pytest.mark.parametrize(
    "params,reason",
    [([], "Falta o parâmetro 1"), ([" "], "Falta o parâmetro 1")],
)
def test_a_missing_parameter_is_400(client, held, agent1, template, params, reason):
    client.force_login(agent1)
    response = client.post(url(held, "modelo"), {"template": str(template.pk), "param": params})
    assert response.status_code == 400 and reason in response.content.decode()
    assert not Message.objects.filter(kind="template").exists()


def test_two_parameters_in_order_and_an_unknown_template(client, held, agent1, live_conn, outsider):
    two = MessageTemplate.objects.create(connection=live_conn, name="dois", language="pt_BR", body="{{1}} e {{2}}")
    other = MessageTemplate.objects.create(connection=outsider.connection, name="x", language="pt_BR", body="oi")
    client.force_login(agent1)
    assert client.post(url(held, "modelo"), {"template": str(two.pk), "param": ["a"]}).status_code == 400
    assert client.post(url(held, "modelo"), {"template": str(other.pk)}).status_code == 400
    assert client.post(url(held, "modelo"), {"template": "nope"}).status_code == 400
    assert client.post(url(held, "modelo"), {"template": str(two.pk), "param": ["a", "b"]}).status_code == 303
    assert Message.objects.get(kind="template").text == "a e b"


def test_only_the_holder_or_a_supervisor_sends_templates(client, held, agent2, reseller_user, template):
    client.force_login(agent2)
    assert client.post(url(held, "modelo"), {"template": str(template.pk), "param": "x"}).status_code == 409
    client.force_login(reseller_user)
    assert client.post(url(held, "modelo"), {"template": str(template.pk), "param": "x"}).status_code == 303


def test_out_of_order_webhooks_never_shorten_the_window(client, live_conn):
    now = int(timezone.now().timestamp())
    post_meta(client, live_conn, meta_text(live_conn, wa_id="5511955550001", text="nova", ts=now - 60))
    post_meta(client, live_conn, meta_text(live_conn, wa_id="5511955550001", text="velha", ts=now - 7200))
    ticket = Ticket.objects.get(connection=live_conn)
    assert ticket.last_inbound_at == datetime.fromtimestamp(now - 60, tz=UTC)
    assert window.closes_at(ticket) == ticket.last_inbound_at + timedelta(hours=24)


def test_a_client_stamp_in_the_future_is_capped_at_arrival(client, live_conn):
    future = int((timezone.now() + timedelta(hours=5)).timestamp())
    post_meta(client, live_conn, meta_text(live_conn, wa_id="5511955550002", text="do futuro", ts=future))
    ticket = Ticket.objects.get(connection=live_conn)
    assert ticket.last_inbound_at <= clock.now()  # the app's clock: whole, strictly increasing milliseconds


def test_a_client_reply_reopens_the_window(client, held):
    _age(held, timedelta(days=2))
    assert not window.is_open(Ticket.objects.get(pk=held.pk))
    now = int(timezone.now().timestamp())
    post_meta(client, held.connection, meta_text(held.connection, wa_id="5511987654321", text="voltei", ts=now))
    assert window.is_open(Ticket.objects.get(pk=held.pk))


def test_the_queue_marks_atendendo_rows_whose_window_closes_within_the_hour(client, held, agent1, live_conn):
    soon = f.make_ticket(live_conn, agent=agent1)
    _age(soon, timedelta(hours=23, minutes=30))
    _age(held, timedelta(hours=2))
    rows = list(Ticket.objects.filter(pk__in=[soon.pk, held.pk]))
    assert conversation.closing_soon_ids(rows) == {soon.pk}
    present_rows(Page(items=rows), now=timezone.now())
    assert {t.pk: bool(t.window_closing) for t in rows} == {soon.pk: True, held.pk: False}
    client.force_login(agent1)
    html = client.get("/tickets/?status=atendendo").content.decode()
    assert html.count("data-window-soon") == 1 and "janela fecha em breve" in html
