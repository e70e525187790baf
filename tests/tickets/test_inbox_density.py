"""The inbox's rows as WhatsApp Web shows them (today's time alone, older ones the date; numbers written as
people read them) and a search that says in which tab it found what it found."""

import re
from datetime import timedelta

import pytest
from django.template import Context, Template
from django.utils import timezone

from tests import factories as f
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def _row(html, ticket):
    start = html.index(f'data-ticket="{ticket.pk}"')
    return html[start : html.index("</li>", start)]


def test_rows_show_today_s_time_older_dates_and_formatted_numbers(client, world):
    now = timezone.localtime()
    today = now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(minutes=1)  # 00:01 today
    older = now - timedelta(days=3)
    espera, fin = world.t["espera"], world.t["fin"]
    Ticket.objects.filter(pk=espera.pk).update(last_inbound_at=today)
    Ticket.objects.filter(pk=fin.pk).update(last_inbound_at=older)
    client.force_login(world.admin_user)
    html = client.get("/tickets/", {"status": "espera"}).content.decode()
    row = _row(html, espera)
    assert re.search(r'<time datetime="[^"]+" title="[^"]+">00:01</time>', row)
    assert f">{older.strftime('%d/%m/%Y')}</time>" in _row(html, fin)
    assert '<span class="phone">+55 11 90000-0001</span>' in row  # stored as 5511900000001

    # The filter for every other page: a Brazilian number written out, an identity left as it is.
    template = Template("{% load phones %}{{ a|phone }}|{{ b|phone }}|{{ c|phone }}|{{ d|phone }}")
    context = {"a": "5531987654321", "b": "553132654321", "c": "lid:12345", "d": ""}
    assert template.render(Context(context)) == "+55 31 98765-4321|+55 31 3265-4321|lid:12345|"
    page = client.get(f"/tickets/{espera.pk}/").content.decode()
    assert "+55 11 90000-0001" in page


def test_a_search_counts_what_it_finds_in_every_tab_and_points_to_it(client, world, meta_conn, agent1):
    reseller = meta_conn.reseller
    held = f.make_ticket(meta_conn, client=f.make_client(reseller, name="Rita", wa_id="5531987654821"), agent=agent1)
    closed = f.make_ticket(
        meta_conn,
        client=f.make_client(reseller, name="Rui", wa_id="5531912344821"),
        agent=agent1,
        closed_by=agent1,
    )
    client.force_login(agent1)
    response = client.get("/tickets/", {"status": "espera", "q": "4821"})
    html = response.content.decode()
    assert response.context["page"].items == []
    found = {m.group(1): m.group(2) for m in re.finditer(r'data-found="(\w+)"[^>]*>(\d+) na busca', html)}
    assert found == {"espera": "0", "atendendo": "1", "finalizado": "1"}
    assert "não está nesta aba" in html
    assert 'data-found-link="atendendo"' in html and 'data-found-link="finalizado"' in html
    assert 'data-found-link="espera"' not in html
    # The link keeps the search: the Atendendo tab lists the ticket.
    listed = client.get("/tickets/", {"status": "atendendo", "q": "4821"}).context["page"].items
    assert [t.pk for t in listed] == [held.pk] and closed.pk != held.pk
    # Without a search text the tabs carry no search counts (and none of the hint).
    plain = client.get("/tickets/", {"status": "espera"}).content.decode()
    assert "data-found=" not in plain and "não está nesta aba" not in plain
