"""The supervisor's panel (/painel/, tickets.reads.panel) and presence (accounts.presence).

Time is moved with the app's clock (iaze.lib.clock.now), never slept."""

import re
from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import presence
from accounts.models import ResellerConfig, User
from iaze.lib import clock
from tests import factories as f
from tests.tickets.conftest import url
from tickets import services
from tickets.models import Ticket

AGENT_KEYS = {"id", "name", "online", "open_tickets"}
DEPARTMENT_KEYS = {"id", "name", "waiting", "oldest_wait_s"}


def _json(client, **params):
    response = client.get("/painel/", {"format": "json", **params})
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    return response.json()


def _by_name(rows):
    return {row["name"]: row for row in rows}


def test_who_sees_the_panel_and_only_their_tenants_agents(client, world):
    response = client.get("/painel/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    client.force_login(world.agent1)
    assert client.get("/painel/").status_code == 403
    assert client.get("/painel/?format=json").status_code == 403
    assert 'href="/painel/"' not in client.get("/tickets/").content.decode()

    client.force_login(world.reseller_user)
    html = client.get("/painel/").content.decode()
    assert 'href="/painel/"' in html and 'id="panel-live"' in html
    # Live like the queue: refreshed by the stream's events ("iaze-refresh"), its 5 s poll the fallback, standing
    # down while the stream is open (static/js/live.js acts on data-live-refresh) but for a tick every 30 s.
    panel_block = re.search(r'<div id="panel-live"[^>]*>', html).group(0)
    queue_block = re.search(r'<div id="queue-live"[^>]*>', client.get("/tickets/").content.decode()).group(0)
    for block, poll in ((panel_block, "every 5s"), (queue_block, "every 4s")):
        assert f'hx-trigger="{poll}, iaze-refresh"' in block and " data-live-refresh " in block, block
    assert 'data-live-gap="2"' in panel_block and 'data-live-tick="30"' in panel_block
    assert all(name in html for name in ("Agente 1", "Agente 2", "Agente 3", "Suporte", "Financeiro"))
    assert "Agente Outra" not in html and "Vendas" not in html and 'name="revenda"' not in html
    data = _json(client, revenda=str(world.outsider.reseller.pk))  # a reseller user cannot pick another tenant
    assert set(_by_name(data["agents"])) == {"Agente 1", "Agente 2", "Agente 3"}
    assert set(_by_name(data["departments"])) == {"Suporte", "Financeiro"}
    outsiders = {str(world.outsider.agent.pk), str(world.outsider.department.pk)}
    assert not outsiders & {row["id"] for row in data["agents"] + data["departments"]}
    # The live part alone for htmx's refresh, the wall screen with large type and a full-screen button.
    live = client.get("/painel/", HTTP_HX_REQUEST="true").content.decode()
    assert live.lstrip().startswith('<div id="panel-live"') and "<html" not in live
    tv = client.get("/painel/?tv=1").content.decode()
    assert re.search(r'<body[^>]* class="tv">', tv) and "data-fullscreen" in tv
    assert "tv=1" in tv.split('id="panel-live"')[1]

    client.force_login(world.outsider.reseller_user)
    assert set(_by_name(_json(client)["agents"])) == {"Agente Outra"}

    client.force_login(world.admin_user)  # an installation admin picks the tenant
    assert 'name="revenda"' in client.get("/painel/").content.decode()
    assert set(_by_name(_json(client, revenda=str(world.outsider.reseller.pk))["agents"])) == {"Agente Outra"}
    assert "Agente 1" in _by_name(_json(client, revenda="nao-e-um-uuid")["agents"])  # the first tenant by name


def test_open_unanswered_and_waiting_figures_coloured_by_the_tenants_thresholds(
    client, world, tenant, meta_conn, monkeypatch
):
    ResellerConfig.objects.filter(reseller=tenant.reseller).update(wait_warn_minutes=10, wait_late_minutes=30)
    answered = f.make_ticket(meta_conn, agent=world.agent1)
    services.ticket_reply(ticket=answered, agent=world.agent1, text="Já vejo isso", nonce="n-panel")
    older = f.make_ticket(meta_conn)  # a second one waiting in Suporte
    now = clock.now() + timedelta(minutes=1)
    Ticket.objects.filter(pk=world.t["espera"].pk).update(created_at=now - timedelta(minutes=5))
    Ticket.objects.filter(pk=older.pk).update(created_at=now - timedelta(minutes=40, seconds=7))
    Ticket.objects.filter(pk=world.t["fin"].pk).update(created_at=now - timedelta(minutes=12))
    Ticket.objects.filter(pk=world.t["dois"].pk).update(last_inbound_at=now - timedelta(minutes=11))
    monkeypatch.setattr(clock, "now", lambda: now)

    client.force_login(world.reseller_user)
    data = _json(client)
    assert {"agents", "departments"} <= set(data)
    assert all(AGENT_KEYS <= set(row) for row in data["agents"])
    assert all(DEPARTMENT_KEYS <= set(row) for row in data["departments"])
    agents, departments = _by_name(data["agents"]), _by_name(data["departments"])
    # agent1: "um" (the client wrote last) and the answered one; agent2: "dois", unanswered for 11 minutes.
    assert (agents["Agente 1"]["open_tickets"], agents["Agente 1"]["unanswered"]) == (2, 1)
    assert (agents["Agente 2"]["open_tickets"], agents["Agente 2"]["unanswered"]) == (1, 1)
    assert agents["Agente 2"]["oldest_unanswered_s"] == 11 * 60
    assert (agents["Agente 3"]["open_tickets"], agents["Agente 3"]["unanswered"]) == (0, 0)
    assert all(row["online"] is False for row in data["agents"])
    suporte, financeiro = departments["Suporte"], departments["Financeiro"]
    assert (suporte["waiting"], suporte["oldest_wait_s"], suporte["level"]) == (2, 40 * 60 + 7, "late")
    assert (financeiro["waiting"], financeiro["oldest_wait_s"], financeiro["level"]) == (1, 12 * 60, "warn")
    assert (suporte["in_service"], suporte["unanswered"]) == (3, 2)

    html = client.get("/painel/").content.decode()
    row = html.split(f'data-department="{tenant.suporte.pk}"')[1].split("</tr>")[0]
    assert 'data-wait="late"' in row and "40 min" in row
    assert 'data-wait="warn"' in html.split(f'data-department="{tenant.financeiro.pk}"')[1].split("</tr>")[0]
    assert 'data-wait="warn"' in html.split(f'data-agent="{world.agent2.pk}"')[1].split("</tr>")[0]
    english = client.get("/painel/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Waiting" in english and "Longest wait" in english and "Agents online" in english


def test_an_agent_is_online_while_polling_and_offline_a_minute_after(client, world, tenant, monkeypatch):
    base = clock.now()
    moment = [base]
    monkeypatch.setattr(clock, "now", lambda: moment[0])
    boss = f.make_user("boss@demo.local", reseller=tenant.reseller, role=User.Role.RESELLER)

    def online():
        boss_client = type(client)()
        boss_client.force_login(boss)
        return {row["name"]: row["online"] for row in _json(boss_client)["agents"]}

    def seen_at(user):
        return User.objects.values_list("last_seen_at", flat=True).get(pk=user.pk)

    assert online() == {"Agente 1": False, "Agente 2": False, "Agente 3": False}
    client.force_login(world.agent1)
    assert client.get("/tickets/", {"v": "x"}, HTTP_HX_REQUEST="true").status_code in (200, 204)  # the queue's poll
    assert online() == {"Agente 1": True, "Agente 2": False, "Agente 3": False}
    moment[0] = base + timedelta(seconds=9)
    client.get("/tickets/", HTTP_HX_REQUEST="true")
    assert seen_at(world.agent1) == base  # at most one write per 10 s
    moment[0] = base + timedelta(seconds=59)
    assert online()["Agente 1"] is True
    moment[0] = base + timedelta(seconds=60)
    assert online()["Agente 1"] is False  # offline a minute after the last poll that wrote

    client.get(url(world.t["um"]), HTTP_HX_REQUEST="true")  # the conversation's poll
    assert seen_at(world.agent1) == moment[0] and online()["Agente 1"] is True
    # The transfer dialog says who is online: agent2 sees agent1 as online, agent3 not.
    client.force_login(world.agent2)
    html = client.get(url(world.t["dois"])).content.decode()
    assert f'value="{world.agent1.pk}" data-department="{tenant.suporte.pk}" data-online="1">Agente 1 · online<' in html
    assert f'value="{world.agent3.pk}" data-department="{tenant.financeiro.pk}">Agente 3<' in html

    # Two processes holding the same stale user: one conditional write, the other finds it fresh.
    moment[0] = base + timedelta(minutes=5)
    first, second = User.objects.get(pk=world.agent3.pk), User.objects.get(pk=world.agent3.pk)
    assert presence.seen(first) is True and presence.seen(second) is False
    assert presence.seen(first) is False  # and no query: the stamp it holds is fresh
    assert presence.online_ids(tenant.reseller) == {world.agent3.pk}
    assert presence.is_online(first) and not presence.is_online(User.objects.get(pk=world.agent1.pk))
    User.objects.filter(pk=world.agent3.pk).update(is_active=False)
    assert presence.online_ids(tenant.reseller) == set() and "Agente 3" not in online()


def test_the_panel_costs_the_same_queries_for_3_or_30_agents_and_tickets(
    client, tenant, meta_conn, reseller_user, monkeypatch
):
    fin_conn = f.make_connection(tenant.reseller, tenant.financeiro, key="fin", phone_number_id="100000000000044")
    seq = iter(range(1000))

    def add(n):
        for _ in range(n):
            i = next(seq)
            agent = f.make_user(f"a{i}@demo.local", reseller=tenant.reseller, departments=[tenant.suporte])
            f.make_ticket(meta_conn, agent=agent)
            f.make_ticket(fin_conn if i % 2 else meta_conn)  # and one waiting

    def count(path):
        # One frozen instant: the supervisor's own presence write happens once, at the first request.
        with monkeypatch.context() as frozen:
            frozen.setattr(clock, "now", lambda: moment)
            with CaptureQueriesContext(connection) as ctx:
                response = client.get(path)
        assert response.status_code == 200
        return len(ctx.captured_queries), response

    add(3)
    client.force_login(reseller_user)
    moment = clock.now()
    count("/painel/")
    few = {path: count(path)[0] for path in ("/painel/", "/painel/?format=json")}
    add(27)
    for path, queries in few.items():
        many, response = count(path)
        assert many == queries, path
    agents = response.json()["agents"]
    assert len(agents) == 30 and sum(a["open_tickets"] for a in agents) == 30
    assert sum(d["waiting"] for d in response.json()["departments"]) == 30
