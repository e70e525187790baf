"""The queue as each named user sees it: which tickets appear in which tab, and which never do."""

from urllib.parse import urljoin

import pytest

from tests.tickets.conftest import url, user_of
from tickets import services

ALL = {"espera", "um", "dois", "fim", "fin", "outra"}

# user -> state -> the tickets that must be listed (every other ticket must not appear)
VISIBLE = {
    "agent1": {"espera": {"espera"}, "atendendo": {"um", "dois"}, "finalizado": {"fim"}},
    "agent2": {"espera": {"espera"}, "atendendo": {"um", "dois"}, "finalizado": {"fim"}},
    "agent3": {"espera": {"fin"}, "atendendo": set(), "finalizado": set()},
    "reseller_user": {"espera": {"espera", "fin"}, "atendendo": {"um", "dois"}, "finalizado": {"fim"}},
    "admin_user": {"espera": {"espera", "fin", "outra"}, "atendendo": {"um", "dois"}, "finalizado": {"fim"}},
    "outsider.agent": {"espera": {"outra"}, "atendendo": set(), "finalizado": set()},
    "outsider.reseller_user": {"espera": {"outra"}, "atendendo": set(), "finalizado": set()},
}


@pytest.mark.parametrize("who", VISIBLE)
@pytest.mark.parametrize("state", ["espera", "atendendo", "finalizado"])
def test_queue_lists_exactly_the_visible_tickets(client, world, who, state):
    client.force_login(user_of(world, who))
    response = client.get(f"/tickets/?status={state}")
    assert response.status_code == 200
    html = response.content.decode()
    for name in ALL:
        assert (url(world.t[name]) in html) == (name in VISIBLE[who][state]), (who, state, name)


def test_default_tab_is_espera_with_client_details(client, world):
    client.force_login(world.agent1)
    html = client.get("/tickets/").content.decode()
    assert 'aria-current="page" data-state="espera"' in html
    assert "Cliente Espera" in html and "+55 11 90000-0001" in html and "Quero saber do meu pedido" in html
    assert "Suporte" in html and "chegou agora" in html


def test_agent_sees_own_atendendo_apart_from_the_read_only_list(client, world):
    client.force_login(world.agent1)
    html = client.get("/tickets/?status=atendendo").content.decode()
    mine, others = html.split('id="others-title"')
    assert url(world.t["um"]) in mine and url(world.t["dois"]) not in mine
    assert url(world.t["dois"]) in others and "Agente 2" in others
    html = client.get("/tickets/?status=atendendo&holder=others").content.decode()
    assert url(world.t["dois"]) in html and url(world.t["um"]) not in html


def test_tab_counts(client, world):
    client.force_login(world.agent1)
    html = client.get("/tickets/").content.decode()
    assert 'data-count="espera">1<' in html
    assert 'data-count="atendendo">1<' in html  # only the agent's own
    assert 'data-count="finalizado">1<' in html
    client.force_login(world.reseller_user)
    html = client.get("/tickets/").content.decode()
    assert 'data-count="espera">2<' in html and 'data-count="atendendo">2<' in html


def test_newest_activity_first(client, world, meta_conn):
    services.message_store(
        ticket=world.t["espera"], msg=services.InboundMessage(provider_message_id="wamid.newer", text="ainda esperando")
    )
    from tests import factories as f

    newer = f.make_ticket(meta_conn, client=f.make_client(meta_conn.reseller, name="Cliente Novo"))
    client.force_login(world.agent1)
    html = client.get("/tickets/?status=espera").content.decode()
    assert html.index(url(newer)) < html.index(url(world.t["espera"]))


def test_filters_by_department_and_agent(client, world, tenant):
    client.force_login(world.reseller_user)
    html = client.get(f"/tickets/?status=espera&department={tenant.financeiro.pk}").content.decode()
    assert url(world.t["fin"]) in html and url(world.t["espera"]) not in html
    html = client.get(f"/tickets/?status=atendendo&agent={world.agent2.pk}").content.decode()
    assert url(world.t["dois"]) in html and url(world.t["um"]) not in html


def test_agent_filter_is_for_supervisors_only(client, world):
    client.force_login(world.agent1)
    html = client.get(f"/tickets/?status=atendendo&agent={world.agent2.pk}").content.decode()
    assert 'name="agent"' not in html
    assert url(world.t["um"]) in html  # ignored, not applied


def test_agent_cannot_filter_into_another_department(client, world, tenant):
    client.force_login(world.agent1)
    html = client.get(f"/tickets/?status=espera&department={tenant.financeiro.pk}").content.decode()
    assert url(world.t["fin"]) not in html


@pytest.mark.parametrize(
    "term,expected",
    [
        ("cliente dois", "dois"),
        ("5511900000004", "fim"),
        ("segunda via", "fin"),
        ("PEDIDO", "espera"),
    ],
)
def test_search_by_name_number_and_message_text(client, world, term, expected):
    client.force_login(world.reseller_user)
    hits = set()
    for state in ("espera", "atendendo", "finalizado"):
        html = client.get("/tickets/", {"status": state, "q": term}).content.decode()
        hits |= {name for name in ALL if url(world.t[name]) in html}
    assert hits == {expected}


def test_search_finds_older_message_text_not_only_the_preview(client, world):
    services.message_store(
        ticket=world.t["um"], msg=services.InboundMessage(provider_message_id="wamid.later", text="outra coisa")
    )
    client.force_login(world.agent1)
    html = client.get("/tickets/", {"status": "atendendo", "q": "cliente um"}).content.decode()
    assert url(world.t["um"]) in html


def test_keyset_pagination_walks_every_ticket_once(client, tenant, meta_conn, agent1):
    from tests import factories as f

    tickets = [f.make_ticket(meta_conn) for _ in range(30)]
    client.force_login(agent1)
    seen, link, pages = [], "/tickets/?status=espera", 0
    while link:
        html = client.get(link).content.decode()
        pages += 1
        seen += [t.pk for t in tickets if url(t) in html]
        marker = 'rel="next"'
        if marker in html:
            start = html.rindex('href="', 0, html.index(marker)) + 6
            link = urljoin("/tickets/", html[start : html.index('"', start)].replace("&amp;", "&"))
            assert "cursor=" in link
        else:
            link = None
    assert pages == 2 and len(seen) == 30 and len(set(seen)) == 30


def test_a_broken_cursor_is_ignored(client, world):
    client.force_login(world.agent1)
    response = client.get("/tickets/?status=espera&cursor=nonsense|zzz")
    assert response.status_code == 200 and url(world.t["espera"]) in response.content.decode()


def test_unknown_status_falls_back_to_espera(client, world):
    client.force_login(world.agent1)
    response = client.get("/tickets/?status=deleted")
    assert response.status_code == 200 and url(world.t["espera"]) in response.content.decode()


def test_pagination_keeps_tickets_without_activity(client, tenant, meta_conn, agent1):
    from tests import factories as f
    from tickets.models import Ticket

    tickets = [f.make_ticket(meta_conn) for _ in range(28)]
    # Defensive case: services always set last_message_at, but a NULL must not hide a ticket.
    Ticket.objects.filter(pk__in=[t.pk for t in tickets[:3]]).update(last_message_at=None)
    client.force_login(agent1)
    seen, link = [], "/tickets/?status=espera"
    while link:
        html = client.get(link).content.decode()
        seen += [t.pk for t in tickets if url(t) in html]
        if 'rel="next"' in html:
            start = html.rindex('href="', 0, html.index('rel="next"')) + 6
            link = urljoin("/tickets/", html[start : html.index('"', start)].replace("&amp;", "&"))
        else:
            link = None
    assert sorted(seen) == sorted(t.pk for t in tickets)


def test_waiting_time_is_shown(client, world):
    from datetime import timedelta

    from django.utils import timezone

    from tickets.models import Ticket

    Ticket.objects.filter(pk=world.t["espera"].pk).update(created_at=timezone.now() - timedelta(hours=2, minutes=5))
    client.force_login(world.agent1)
    html = client.get("/tickets/?status=espera").content.decode()
    assert "esperando há 2\xa0horas" in html  # timesince joins with a no-break space
