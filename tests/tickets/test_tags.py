"""Tags on tickets and clients, the client panel (name kept in the history) and the tag filter."""

from importlib import import_module

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Client, ClientTag, ClientTerm, Tag
from accounts.services import client_upsert
from tests import factories as f
from tests.tickets.conftest import url
from tickets import services
from tickets.models import Message, TicketEvent, TicketTag, TicketTerm

pytestmark = pytest.mark.django_db


@pytest.fixture
def vip(world):
    return Tag.objects.create(reseller=world.t["um"].reseller, name="VIP", color=Tag.Color.PURPLE)


def _queue(client, **params):
    response = client.get("/tickets/", params)
    assert response.status_code == 200
    return response.content.decode()


def test_agent_tags_the_ticket_and_the_client_and_the_queue_filters_by_tag(client, world, vip):
    ticket = world.t["um"]
    client.force_login(world.agent1)
    response = client.post(url(ticket, "etiquetas"), {"tag": vip.pk, "target": "ticket", "on": "1"})
    assert response.status_code == 303
    assert TicketTag.objects.get(ticket=ticket, tag=vip).active
    event = TicketEvent.objects.get(ticket=ticket, action="tagged")
    assert (event.actor, event.data["name"], event.data["target"]) == (world.agent1, "VIP", "ticket")

    html = _queue(client, status="atendendo", tag=vip.pk)
    assert url(ticket) in html and 'class="tag-chip"' in html and "VIP" in html
    assert url(world.t["dois"]) not in html and url(world.t["dois"]) in _queue(client, status="atendendo")

    # Removing keeps the row (nothing is deleted), marked inactive; the filter no longer finds it.
    assert client.post(url(ticket, "etiquetas"), {"tag": vip.pk, "target": "ticket", "on": "0"}).status_code == 303
    assert not TicketTag.objects.get(ticket=ticket, tag=vip).active
    assert url(ticket) not in _queue(client, status="atendendo", tag=vip.pk)

    # A tag on the client shows on (and filters) every ticket of that client.
    assert client.post(url(ticket, "etiquetas"), {"tag": vip.pk, "target": "client", "on": "1"}).status_code == 303
    assert ClientTag.objects.get(client=ticket.client, tag=vip).active
    assert url(ticket) in _queue(client, status="atendendo", tag=vip.pk)
    actions = list(
        TicketEvent.objects.filter(ticket=ticket).order_by("at", "created_at").values_list("action", flat=True)
    )
    assert actions[-3:] == ["tagged", "untagged", "tagged"]


def test_a_repeated_toggle_changes_nothing_and_records_nothing(world, vip):
    ticket = world.t["um"]
    assert services.ticket_tag_set(ticket=ticket, by=world.agent1, tag=vip.pk, on=True) is True
    assert services.ticket_tag_set(ticket=ticket, by=world.agent1, tag=vip.pk, on=True) is False
    assert services.ticket_tag_set(ticket=ticket, by=world.agent1, tag=vip.pk, on=False) is True
    assert services.ticket_tag_set(ticket=ticket, by=world.agent1, tag=vip.pk, on=False) is False
    assert TicketTag.objects.filter(ticket=ticket).count() == 1
    assert TicketEvent.objects.filter(ticket=ticket, action__in=["tagged", "untagged"]).count() == 2


@pytest.mark.parametrize("which", ["other_tenant", "inactive", "garbage", "bad_target"])
def test_a_wrong_tag_is_400_and_changes_nothing(client, world, vip, which):
    ticket = world.t["um"]
    tag = {
        "other_tenant": lambda: Tag.objects.create(reseller=world.outsider.reseller, name="VIP").pk,
        "inactive": lambda: Tag.objects.create(reseller=ticket.reseller, name="Antiga", active=False).pk,
        "garbage": lambda: "not-a-uuid",
        "bad_target": lambda: vip.pk,
    }[which]()
    target = "somewhere" if which == "bad_target" else "ticket"
    client.force_login(world.agent1)
    response = client.post(url(ticket, "etiquetas"), {"tag": tag, "target": target, "on": "1"})
    assert response.status_code == 400
    assert "Etiqueta inválida" in response.content.decode()
    assert not TicketTag.objects.exists() and not ClientTag.objects.exists()
    assert not TicketEvent.objects.filter(action="tagged").exists()


def test_only_who_may_see_the_ticket_tags_it(client, world, vip):
    client.force_login(world.agent3)  # Financeiro: Suporte's tickets do not exist for it
    assert client.post(url(world.t["um"], "etiquetas"), {"tag": vip.pk}).status_code == 404
    client.force_login(world.outsider.agent)
    assert client.post(url(world.t["um"], "cliente"), {"name": "x", "seen_name": "Cliente Um"}).status_code == 404
    assert client.get(url(world.t["um"], "etiquetas")).status_code == 405
    assert not TicketTag.objects.exists()
    # The department's other agent (read-only on a held ticket) and the supervisor may tag.
    client.force_login(world.agent2)
    assert client.post(url(world.t["um"], "etiquetas"), {"tag": vip.pk}).status_code == 303
    client.force_login(world.reseller_user)
    assert client.post(url(world.t["um"], "etiquetas"), {"tag": vip.pk, "target": "client"}).status_code == 303


def test_agent_renames_the_client_kept_in_the_history_and_never_overwritten_by_the_profile(client, world):
    ticket = world.t["um"]
    client.force_login(world.agent1)
    response = client.post(url(ticket, "cliente"), {"name": "  João  da Silva ", "seen_name": "Cliente Um"})
    assert response.status_code == 303
    c = Client.objects.get(pk=ticket.client_id)
    assert (c.name, c.previous_names, c.name_set_by_agent) == ("João da Silva", ["Cliente Um"], True)
    event = TicketEvent.objects.get(ticket=ticket, action="client_renamed")
    assert (event.actor, event.data) == (world.agent1, {"old": "Cliente Um", "new": "João da Silva"})
    page = client.get(url(ticket)).content.decode()
    assert "João da Silva" in page and "Cliente Um" in page  # the earlier name, in the panel

    # The provider's profile name keeps arriving (the webhook's path): it never replaces the agent's name.
    sender = type(
        "S", (), {"identity": c.identity, "wa_id": c.wa_id, "bsuid": "", "phone": c.phone, "name": "Cliente Um"}
    )
    client_upsert(reseller_id=c.reseller_id, sender=sender)
    c.refresh_from_db()
    assert c.name == "João da Silva"

    # Found by the new name, accents aside, and still by the old one.
    assert url(ticket) in _queue(client, status="atendendo", q="joao silva")
    assert url(ticket) in _queue(client, status="atendendo", q="cliente um")


def test_a_rename_from_a_stale_page_is_409_and_an_empty_name_400(client, world):
    ticket = world.t["um"]
    client.force_login(world.agent1)
    assert client.post(url(ticket, "cliente"), {"name": "Ana", "seen_name": "Cliente Um"}).status_code == 303
    stale = client.post(url(ticket, "cliente"), {"name": "Bia", "seen_name": "Cliente Um"})
    assert stale.status_code == 409
    assert client.post(url(ticket, "cliente"), {"name": "   ", "seen_name": "Ana"}).status_code == 400
    assert Client.objects.get(pk=ticket.client_id).name == "Ana"
    assert TicketEvent.objects.filter(ticket=ticket, action="client_renamed").count() == 1


def test_the_client_panel_shows_number_tags_and_earlier_tickets(client, world, vip, meta_conn, agent1):
    ticket = world.t["um"]
    earlier = f.make_ticket(
        f.make_connection(ticket.reseller, ticket.department, key="k2", phone_number_id="1099"),
        client=ticket.client,
        agent=agent1,
        closed_by=agent1,
    )
    services.ticket_tag_set(ticket=ticket, by=agent1, tag=vip.pk, on=True, target="client")
    client.force_login(agent1)
    html = client.get(url(ticket)).content.decode()
    assert "5511900000002" in html and "data-client-name>Cliente Um<" in html
    assert f"#{earlier.protocol}" in html and url(earlier) in html
    assert 'data-toggle="client">' in html and 'aria-pressed="true" data-toggle="client"' in html
    assert 'aria-pressed="false" data-toggle="ticket"' in html


def test_queue_with_tags_costs_the_same_queries_for_3_or_30_rows(
    client, world, meta_conn, django_assert_num_queries, presence_quiet
):
    tags = [Tag.objects.create(reseller=meta_conn.reseller, name=f"T{i}") for i in range(12)]

    def add(n):
        for i in range(n):
            t = f.make_ticket(meta_conn)
            for tag in tags[: 1 + i % 4]:
                services.ticket_tag_set(ticket=t, by=world.reseller_user, tag=tag.pk, on=True)
                services.ticket_tag_set(ticket=t, by=world.reseller_user, tag=tag.pk, on=True, target="client")

    add(3)
    client.force_login(world.agent1)
    with CaptureQueriesContext(connection) as ctx:
        client.get("/tickets/", {"status": "espera"})
    few = len(ctx.captured_queries)
    add(27)
    tags.extend(Tag.objects.create(reseller=meta_conn.reseller, name=f"U{i}") for i in range(20))
    with django_assert_num_queries(few):
        html = client.get("/tickets/", {"status": "espera"}).content.decode()
    assert html.count('class="ticket-row"') == 25 and html.count('class="tag-chip"') >= 25
    with django_assert_num_queries(few):
        client.get("/tickets/", {"status": "espera", "tag": tags[0].pk})


def test_admin_manages_tags_per_tenant_case_insensitively_and_filters_by_tag(client, world, vip):
    client.force_login(world.reseller_user)
    add = reverse("admin:accounts_tag_add")
    response = client.post(add, {"name": "vip", "color": Tag.Color.RED, "active": "on"})
    assert response.status_code == 200 and "Já existe uma etiqueta com este nome" in response.content.decode()
    assert client.post(add, {"name": "Atacado", "color": Tag.Color.RED, "active": "on"}).status_code == 302
    assert Tag.objects.get(name="Atacado").reseller_id == world.t["um"].reseller_id
    services.ticket_tag_set(ticket=world.t["um"], by=world.reseller_user, tag=vip.pk, on=True)
    services.ticket_tag_set(ticket=world.t["dois"], by=world.reseller_user, tag=vip.pk, on=True, target="client")
    tickets = client.get(reverse("admin:tickets_ticket_changelist"), {"etiqueta": vip.pk}).content.decode()
    assert str(world.t["um"].pk) in tickets and str(world.t["dois"].pk) in tickets
    assert str(world.t["espera"].pk) not in tickets
    clients = client.get(reverse("admin:accounts_client_changelist"), {"etiqueta": vip.pk}).content.decode()
    assert str(world.t["dois"].client_id) in clients and str(world.t["um"].client_id) not in clients
    # Another tenant's manager does not see (nor filter by) this tenant's tags.
    client.force_login(world.outsider.reseller_user)
    assert "VIP" not in client.get(reverse("admin:accounts_tag_changelist")).content.decode()


def test_search_is_accent_and_case_insensitive_finds_number_fragments_and_stays_in_the_tenant(client, world):
    client.force_login(world.reseller_user)
    services.ticket_client_rename(
        ticket=world.t["espera"], by=world.reseller_user, name="JOÃO Conceição", seen="Cliente Espera"
    )
    assert url(world.t["espera"]) in _queue(client, status="espera", q="joao conceic")
    assert url(world.t["espera"]) in _queue(client, status="espera", q="900000001")  # the middle of the number
    assert url(world.t["espera"]) in _queue(client, status="espera", q="11 90000-0001")
    # The outsider tenant's client and messages never match, even with the same words.
    assert "Cliente Outra" not in _queue(client, status="espera", q="cliente outra")
    assert ClientTerm.objects.filter(reseller=world.outsider.reseller, term="outra").exists()


def test_the_migration_backfills_the_search_index_of_existing_rows(client, world):
    ticket = world.t["espera"]
    # A message and a client written without the index, as rows from before the migration.
    Message.objects.create(ticket=ticket, connection_id=ticket.connection_id, direction="in", text="Xilofone azul")
    legacy = Client.objects.create(reseller=ticket.reseller, identity="5511977770000", phone="5511977770000", name="Zé")
    assert not ClientTerm.objects.filter(client=legacy).exists()
    import_module("accounts.migrations.0006_tags").backfill(apps, None)
    import_module("tickets.migrations.0011_tags_search").backfill(apps, None)
    before = TicketTerm.objects.count(), ClientTerm.objects.count()
    import_module("tickets.migrations.0011_tags_search").backfill(apps, None)  # a rerun adds nothing
    import_module("accounts.migrations.0006_tags").backfill(apps, None)
    assert (TicketTerm.objects.count(), ClientTerm.objects.count()) == before
    assert ClientTerm.objects.filter(client=legacy, term="ze").exists()
    client.force_login(world.agent1)
    assert url(ticket) in _queue(client, status="espera", q="xilo")


def test_the_live_queue_redraws_a_row_whose_tags_or_client_name_changed(client, world, vip):
    client.force_login(world.agent1)
    first = client.get("/tickets/", {"status": "atendendo"})
    version = first.context["version"]
    live = {"status": "atendendo", "v": version}
    assert client.get("/tickets/", live, HTTP_HX_REQUEST="true").status_code == 204
    services.ticket_tag_set(ticket=world.t["um"], by=world.agent1, tag=vip.pk, on=True, target="client")
    redrawn = client.get("/tickets/", live, HTTP_HX_REQUEST="true")
    assert redrawn.status_code == 200 and "VIP" in redrawn.content.decode()


def test_a_word_indexed_again_is_stored_once_and_new_words_are_added(world):
    # SQL skips the duplicate rows in the insert itself; MongoDB reads the stored words first: same rows.
    from tickets.reads.search import ticket_terms_add

    ticket = world.t["espera"]
    ticket_terms_add(ticket, "Pedido atrasado")
    ticket_terms_add(ticket, "pedido ATRASADO de novo", "legenda")
    terms = list(TicketTerm.objects.filter(ticket=ticket, term__in=["pedido", "atrasado", "novo", "legenda"]))
    assert sorted(t.term for t in terms) == ["atrasado", "legenda", "novo", "pedido"]
    assert all(t.reseller_id == ticket.reseller_id for t in terms)
