"""The split inbox's server side: unread counts per agent and ticket, Assumir from the list, the
conversation pane, the waiting thresholds and the user's alert preferences."""

import json
import re
from datetime import timedelta
from itertools import count

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.forms import ResellerConfigForm
from accounts.models import ResellerConfig, User
from iaze.lib import clock
from tests import factories as f
from tickets import services
from tickets.models import Ticket, TicketRead

HTMX = {"HTTP_HX_REQUEST": "true"}
_seq = count()


def _inbound(ticket, text="mais uma"):
    return services.message_store(
        ticket=ticket, msg=services.InboundMessage(provider_message_id=f"wamid.inbox{next(_seq)}", text=text)
    )


def _row(html, ticket):
    start = html.index(f'data-ticket="{ticket.pk}"')
    return html[start : html.index("</li>", start)]


def _unread_badge(html, ticket):
    found = re.search(r'data-unread="(\d+)"', _row(html, ticket))
    return int(found.group(1)) if found else 0


def _tab_unread(html):
    found = re.search(r'data-unread-total="(\d+)"', html)
    return int(found.group(1)) if found else 0


def test_unread_counts_client_messages_since_the_holder_last_looked(client, meta_conn, agent1):
    ticket = f.make_ticket(meta_conn, agent=agent1, text="primeira")
    client.force_login(agent1)
    html = client.get("/tickets/?status=atendendo").content.decode()
    assert _unread_badge(html, ticket) == 1 and _tab_unread(html) == 1  # never opened: all of it is new

    assert client.get(f"/tickets/{ticket.pk}/").status_code == 200  # opening it clears it
    html = client.get("/tickets/?status=atendendo").content.decode()
    assert _unread_badge(html, ticket) == 0 and _tab_unread(html) == 0

    _inbound(ticket)
    _inbound(ticket)
    services.ticket_reply(ticket=ticket, agent=agent1, text="já vejo", nonce="n1")  # the agent's own: not unread
    html = client.get("/tickets/?status=espera").content.decode()
    assert _tab_unread(html) == 2  # the tab count shows on every tab
    assert "(2) Atendimentos" in html
    html = client.get("/tickets/?status=atendendo").content.decode()
    assert _unread_badge(html, ticket) == 2

    # The live refresh of the conversation also reads it.
    assert client.get(f"/tickets/{ticket.pk}/?v=stale", **HTMX).status_code == 200
    assert _unread_badge(client.get("/tickets/?status=atendendo").content.decode(), ticket) == 0


def test_unread_counts_opened_and_never_opened_tickets_side_by_side(client, meta_conn, agent1):
    opened = f.make_ticket(meta_conn, agent=agent1, text="um")
    fresh = f.make_ticket(meta_conn, agent=agent1, text="a")
    client.force_login(agent1)
    assert client.get(f"/tickets/{opened.pk}/").status_code == 200  # its mark: everything so far
    _inbound(opened)
    _inbound(fresh)
    _inbound(fresh)
    html = client.get("/tickets/?status=atendendo").content.decode()
    assert (_unread_badge(html, opened), _unread_badge(html, fresh), _tab_unread(html)) == (1, 3, 4)


def test_only_the_holder_moves_the_mark(client, meta_conn, agent1, reseller_user):
    ticket = f.make_ticket(meta_conn, agent=agent1)
    client.force_login(reseller_user)
    assert client.get(f"/tickets/{ticket.pk}/").status_code == 200
    assert not TicketRead.objects.filter(ticket=ticket).exists()
    client.force_login(agent1)
    html = client.get("/tickets/?status=atendendo").content.decode()
    assert _unread_badge(html, ticket) == 1


def test_the_read_mark_never_moves_backwards(meta_conn, agent1, agent2):
    ticket = f.make_ticket(meta_conn, agent=agent1)
    later = clock.now()
    earlier = later - timedelta(minutes=5)
    assert services.ticket_read_mark(ticket=ticket, agent=agent1, upto=later) is True
    assert services.ticket_read_mark(ticket=ticket, agent=agent1, upto=earlier) is False
    assert services.ticket_read_mark(ticket=ticket, agent=agent1, upto=later) is False
    assert TicketRead.objects.get(ticket=ticket, agent=agent1).read_upto == later
    assert services.ticket_read_mark(ticket=ticket, agent=agent2, upto=later) is False  # not the holder
    assert TicketRead.objects.filter(ticket=ticket).count() == 1


def test_queue_with_unread_counts_costs_the_same_for_3_or_30_held_tickets(client, meta_conn, agent1, presence_quiet):
    def add(n):
        for _ in range(n):
            ticket = f.make_ticket(meta_conn, agent=agent1)
            _inbound(ticket)
            f.make_ticket(meta_conn)  # and one in Espera

    def measure(path):
        with CaptureQueriesContext(connection) as ctx:
            html = client.get(path).content.decode()
        return len(ctx.captured_queries), html

    client.force_login(agent1)
    add(3)
    few = {path: measure(path)[0] for path in ("/tickets/?status=atendendo", "/tickets/?status=espera")}
    add(27)
    for path, queries in few.items():
        many, html = measure(path)
        assert many == queries, path
    assert _tab_unread(html) == 60  # 30 tickets, 2 client messages each


def test_the_unchanged_answer_follows_the_unread_marks(client, meta_conn, agent1):
    ticket = f.make_ticket(meta_conn, agent=agent1)
    client.force_login(agent1)
    html = client.get("/tickets/?status=espera").content.decode()
    version = re.search(r"v=([0-9a-f]{16})", html).group(1)
    assert client.get(f"/tickets/?status=espera&v={version}", **HTMX).status_code == 204
    client.get(f"/tickets/{ticket.pk}/")  # read: the tab's unread count changes
    assert client.get(f"/tickets/?status=espera&v={version}", **HTMX).status_code == 200


def test_assumir_from_the_list_and_the_lost_race(client, meta_conn, agent1, agent2):
    ticket = f.make_ticket(meta_conn)
    client.force_login(agent1)
    html = client.get("/tickets/?status=espera").content.decode()
    assert f'hx-post="/tickets/{ticket.pk}/assumir/"' in _row(html, ticket)

    won = client.post(f"/tickets/{ticket.pk}/assumir/", **HTMX)
    assert won.status_code == 200 and won["HX-Reswap"] == "none"
    assert json.loads(won["HX-Trigger"])["iaze-claimed"]["url"] == f"/tickets/{ticket.pk}/"
    assert Ticket.objects.get(pk=ticket.pk).agent_id == agent1.pk

    client.force_login(agent2)
    lost = client.post(f"/tickets/{ticket.pk}/assumir/", **HTMX)
    assert lost.status_code == 409
    assert lost["HX-Retarget"] == "#queue-notice"
    assert "Este atendimento está com Agente 1." in lost.content.decode()
    assert "<html" not in lost.content.decode()  # the agent stays on the list
    # Without htmx, today's answers: 409 page naming the holder.
    page = client.post(f"/tickets/{ticket.pk}/assumir/")
    assert page.status_code == 409 and "agente1@demo.local" in page.content.decode()


def test_assumir_from_the_list_on_a_ticket_gone_elsewhere_says_so_in_the_notice_area(client, tenant, meta_conn, agent1):
    ticket = f.make_ticket(meta_conn)
    client.force_login(agent1)
    Ticket.objects.filter(pk=ticket.pk).update(department=tenant.financeiro)  # transferred meanwhile
    gone = client.post(f"/tickets/{ticket.pk}/assumir/", **HTMX)
    assert gone.status_code == 404 and gone["HX-Retarget"] == "#queue-notice"
    assert "Este atendimento não está mais na sua fila." in gone.content.decode()
    assert Ticket.objects.get(pk=ticket.pk).agent_id is None
    # Without htmx, the plain 404 of a ticket the user cannot see.
    assert client.post(f"/tickets/{ticket.pk}/assumir/").status_code == 404


def test_the_conversation_pane_is_the_page_without_its_frame(client, meta_conn, agent1):
    ticket = f.make_ticket(meta_conn, agent=agent1, text="Olá do painel")
    client.force_login(agent1)
    pane = client.get(f"/tickets/{ticket.pk}/", HTTP_HX_TARGET="conversation-pane", **HTMX).content.decode()
    assert "<html" not in pane and f'data-conversation="{ticket.pk}"' in pane and "Olá do painel" in pane
    assert 'id="thread-live"' in pane and 'id="thread-announcer"' in pane
    assert TicketRead.objects.filter(ticket=ticket, agent=agent1).exists()
    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert "<html" in page and 'data-list-src="/tickets/?status=atendendo"' in page


def test_rows_waiting_past_the_thresholds_change_colour(client, tenant, meta_conn, agent1):
    ResellerConfig.objects.update_or_create(
        reseller=tenant.reseller, defaults={"wait_warn_minutes": 3, "wait_late_minutes": 10}
    )
    fresh, warn, late = (f.make_ticket(meta_conn) for _ in range(3))
    now = clock.now()
    Ticket.objects.filter(pk=warn.pk).update(created_at=now - timedelta(minutes=4))
    Ticket.objects.filter(pk=late.pk).update(created_at=now - timedelta(minutes=11))
    held = f.make_ticket(meta_conn, agent=agent1)
    at = now - timedelta(minutes=12)
    Ticket.objects.filter(pk=held.pk).update(last_inbound_at=at, last_message_at=at)
    client.force_login(agent1)
    html = client.get("/tickets/?status=espera").content.decode()
    assert "data-wait" not in _row(html, fresh)
    assert 'data-wait="warn"' in _row(html, warn)
    assert 'data-wait="late"' in _row(html, late)
    assert 'data-wait="late"' in _row(client.get("/tickets/?status=atendendo").content.decode(), held)


def test_thresholds_default_to_5_and_15_minutes_and_late_is_not_before_warn(tenant):
    config = ResellerConfig(reseller=tenant.reseller)
    assert (config.wait_warn_minutes, config.wait_late_minutes) == (5, 15)
    form = ResellerConfigForm(
        data={
            "primary_color": "#0f766e",
            "timezone": "America/Sao_Paulo",
            "business_hours": "{}",
            "wait_warn_minutes": 20,
            "wait_late_minutes": 10,
        },
    )
    assert not form.is_valid() and "wait_late_minutes" in form.errors


def test_alert_preferences_are_the_users_own(client, meta_conn, agent1):
    client.force_login(agent1)
    response = client.post("/tickets/preferencias/", {"alert_sound": "0"}, **HTMX)
    assert response.status_code == 200 and 'data-alert-sound="off"' in response.content.decode()
    assert client.post("/tickets/preferencias/", {"enter_sends": "0", "is_staff": "1"}).status_code == 303
    agent1 = User.objects.get(pk=agent1.pk)
    assert (agent1.alert_sound, agent1.enter_sends, agent1.is_staff) == (False, False, False)
    ticket = f.make_ticket(meta_conn, agent=agent1)
    assert 'data-enter-sends="0"' in client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert client.get("/tickets/preferencias/").status_code == 405


def test_the_alert_feed_names_new_espera_tickets_and_unread_held_ones(client, meta_conn, agent1):
    waiting = f.make_ticket(meta_conn, client=f.make_client(meta_conn.reseller, name="Maria"), text="Bom dia")
    held = f.make_ticket(meta_conn, agent=agent1, client=f.make_client(meta_conn.reseller, name="João"), text="Oi")
    client.force_login(agent1)
    html = client.get("/tickets/?status=finalizado").content.decode()
    assert f'data-alert-key="e:{waiting.pk}"' in html and 'data-alert-title="Maria"' in html
    held = Ticket.objects.get(pk=held.pk)
    assert f'data-alert-key="m:{held.pk}:{held.last_inbound_at.isoformat()}"' in html
    client.get(f"/tickets/{held.pk}/")
    assert f'data-alert-key="m:{held.pk}' not in client.get("/tickets/?status=finalizado").content.decode()


@pytest.mark.parametrize("path", ["/tickets/", "/tickets/?status=atendendo"])
def test_pages_load_the_inbox_script_from_static_only(client, agent1, path):
    client.force_login(agent1)
    html = client.get(path).content.decode()
    assert "js/inbox.js" in html and "<script>" not in html


def test_the_unchanged_answer_counts_nothing(client, meta_conn, agent1):
    """The 204 path reads the held tickets and their marks for its stamp, never the messages."""
    for _ in range(3):
        _inbound(f.make_ticket(meta_conn, agent=agent1))
    client.force_login(agent1)
    html = client.get("/tickets/?status=atendendo").content.decode()
    version = re.search(r"v=([0-9a-f]{16})", html).group(1)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(f"/tickets/?status=atendendo&v={version}", **HTMX).status_code == 204
    sql = " ".join(q["sql"] for q in ctx.captured_queries)
    assert '"messages"' not in sql and "ticket_reads" in sql


def test_the_inbox_in_english(client, meta_conn, agent1, agent2):
    ticket = f.make_ticket(meta_conn)
    client.force_login(agent2)
    html = client.get("/tickets/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Alert sound: on" in html and "Turn on notifications" in html and "Shortcuts" in html
    assert ">Claim<" in _row(html, ticket)
    services.ticket_claim(ticket=ticket, agent=agent1)
    lost = client.post(f"/tickets/{ticket.pk}/assumir/", HTTP_ACCEPT_LANGUAGE="en", **HTMX)
    assert lost.status_code == 409 and "This ticket is with Agente 1." in lost.content.decode()


def test_the_alert_feed_names_the_held_tickets_whose_client_wrote_last(client, meta_conn, agent1, monkeypatch):
    from tickets.reads import inbox

    monkeypatch.setattr(inbox, "HELD_ALERTS", 2)
    held = [f.make_ticket(meta_conn, agent=agent1, text=f"msg {n}") for n in range(3)]
    _inbound(held[0])  # the oldest ticket's client writes again: it is the newest now
    client.force_login(agent1)
    html = client.get("/tickets/?status=finalizado").content.decode()
    named = {t.pk for t in held if f'data-alert-key="m:{t.pk}:' in html}
    assert named == {held[0].pk, held[2].pk}
