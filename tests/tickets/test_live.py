"""Live refresh: an unchanged queue or thread answers 204 without rendering; a change re-renders."""

import re

from tests.tickets.conftest import url
from tickets import services

LOGIN_READ = re.compile(r'(FROM |db\.)"?(django_session|users|resellers)\b')


def _version(html, attr_owner):
    block = html[html.index(f'id="{attr_owner}"') :]
    return re.search(r"v=([0-9a-f]{16})", block).group(1)


def test_queue_poll_is_204_when_unchanged_and_200_after_a_change(client, world, meta_conn):
    client.force_login(world.agent1)
    html = client.get("/tickets/?status=espera").content.decode()
    v = _version(html, "queue-live")
    poll = client.get("/tickets/", {"status": "espera", "v": v}, HTTP_HX_REQUEST="true")
    assert poll.status_code == 204 and poll.content == b""

    from tests import factories as f

    fresh = f.make_ticket(meta_conn, client=f.make_client(meta_conn.reseller, name="Cliente Chegou Agora"))
    poll = client.get("/tickets/", {"status": "espera", "v": v}, HTTP_HX_REQUEST="true")
    assert poll.status_code == 200
    body = poll.content.decode()
    assert url(fresh) in body and "<html" not in body and 'data-count="espera">2<' in body
    assert _version(body, "queue-live") != v


def test_queue_poll_sees_a_claim_by_someone_else(client, world):
    client.force_login(world.agent1)
    v = _version(client.get("/tickets/?status=espera").content.decode(), "queue-live")
    services.ticket_claim(ticket=world.t["espera"], agent=world.agent2)
    poll = client.get("/tickets/", {"status": "espera", "v": v}, HTTP_HX_REQUEST="true")
    assert poll.status_code == 200 and url(world.t["espera"]) not in poll.content.decode()


def test_thread_poll_is_204_when_unchanged_and_shows_new_messages(client, world):
    ticket = world.t["um"]
    client.force_login(world.agent1)
    v = _version(client.get(url(ticket)).content.decode(), "thread-live")
    assert client.get(url(ticket), {"v": v}, HTTP_HX_REQUEST="true").status_code == 204
    services.message_store(
        ticket=ticket, msg=services.InboundMessage(provider_message_id="wamid.live", text="chegou agora")
    )
    poll = client.get(url(ticket), {"v": v}, HTTP_HX_REQUEST="true")
    assert poll.status_code == 200 and "chegou agora" in poll.content.decode()


def test_thread_poll_sees_a_delivery_update(client, world):
    from tickets.models import Message

    ticket = world.t["um"]
    reply = services.ticket_reply(ticket=ticket, agent=world.agent1, text="Enviando", nonce="d1")
    client.force_login(world.agent1)
    v = _version(client.get(url(ticket)).content.decode(), "thread-live")
    # As a provider status callback would: without touching updated_at.
    Message.objects.filter(pk=reply.pk).update(delivery_status="delivered", delivered_at=reply.created_at)
    poll = client.get(url(ticket), {"v": v}, HTTP_HX_REQUEST="true")
    assert poll.status_code == 200 and "Entregue" in poll.content.decode()


def test_poll_of_a_foreign_ticket_is_404(client, world):
    client.force_login(world.agent3)
    assert client.get(url(world.t["um"]), {"v": "x"}, HTTP_HX_REQUEST="true").status_code == 404


def _thread_poll(client, ticket, v):
    return client.get(url(ticket), {"v": v}, HTTP_HX_REQUEST="true")


def test_thread_poll_sees_a_claim_a_transfer_and_a_close(client, world):
    ticket = world.t["espera"]
    client.force_login(world.reseller_user)  # a supervisor sees the ticket through all three
    v = _version(client.get(url(ticket)).content.decode(), "thread-live")
    ticket = services.ticket_claim(ticket=ticket, agent=world.agent1)
    assert _thread_poll(client, ticket, v).status_code == 200
    v = _version(client.get(url(ticket)).content.decode(), "thread-live")
    assert _thread_poll(client, ticket, v).status_code == 204
    ticket = services.ticket_transfer(ticket=ticket, by=world.reseller_user, agent=str(world.agent2.pk))
    assert _thread_poll(client, ticket, v).status_code == 200
    v = _version(client.get(url(ticket)).content.decode(), "thread-live")
    services.ticket_close(ticket=ticket, by=world.agent2)
    assert _thread_poll(client, ticket, v).status_code == 200


def test_thread_poll_stamp_of_a_long_thread_is_the_rendered_one_and_loads_no_message(client, world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tickets.reads import selectors

    ticket = world.t["um"]
    for n in range(selectors.THREAD_PAGE_SIZE + 5):  # more than one page: the stamp names the earlier page
        services.message_store(ticket=ticket, msg=services.InboundMessage(provider_message_id=f"wamid.l{n}", text="x"))
    client.force_login(world.agent1)
    v = _version(client.get(url(ticket)).content.decode(), "thread-live")
    with CaptureQueriesContext(connection) as ctx:
        assert _thread_poll(client, ticket, v).status_code == 204
    assert not [q for q in ctx.captured_queries if '"messages"."text"' in q["sql"] or '"clients"' in q["sql"]]
    page = selectors.ticket_messages_for(ticket)
    assert page.next_cursor and selectors.ticket_thread_version(ticket, page) == selectors.ticket_thread_version(ticket)


def test_an_unauthenticated_or_foreign_poll_with_a_valid_stamp_gets_nothing(client, world):
    ticket = world.t["um"]
    client.force_login(world.agent1)
    v = _version(client.get(url(ticket)).content.decode(), "thread-live")
    queue_v = _version(client.get("/tickets/?status=espera").content.decode(), "queue-live")
    client.logout()
    assert _thread_poll(client, ticket, v).status_code == 302
    assert client.get("/tickets/", {"status": "espera", "v": queue_v}, HTTP_HX_REQUEST="true").status_code == 302
    client.force_login(world.agent3)  # another department: the ticket does not exist for them
    assert _thread_poll(client, ticket, v).status_code == 404


def test_an_unfiltered_poll_reads_neither_the_filter_choices_nor_joined_rows(client, world):
    """The 204 of a plain poll comes before the departments, agents and tags the filter form lists,
    and reads the rows as stamps (no join); the stamp is the one the rendered page carries."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(world.reseller_user)
    for status in ("espera", "atendendo", "finalizado"):
        v = _version(client.get(f"/tickets/?status={status}").content.decode(), "queue-live")
        with CaptureQueriesContext(connection) as ctx:
            poll = client.get("/tickets/", {"status": status, "v": v}, HTTP_HX_REQUEST="true")
        assert poll.status_code == 204, status
        # The login's own reads (the session, the user with its reseller) are not the queue's.
        read = " ".join(q["sql"] for q in ctx.captured_queries if not LOGIN_READ.search(q["sql"]))
        assert "tickets" in read
        assert "tags" not in read and "departments" not in read and "JOIN" not in read and "$lookup" not in read


def test_a_filtered_poll_takes_the_full_path_and_still_answers_204(client, world):
    client.force_login(world.reseller_user)
    params = {"status": "espera", "department": str(world.t["espera"].department_id)}
    html = client.get("/tickets/", params).content.decode()
    v = _version(html, "queue-live")
    assert client.get("/tickets/", {**params, "v": v}, HTTP_HX_REQUEST="true").status_code == 204
    services.ticket_claim(ticket=world.t["espera"], agent=world.agent1)
    assert client.get("/tickets/", {**params, "v": v}, HTTP_HX_REQUEST="true").status_code == 200


def test_a_changed_poll_reads_counts_and_read_marks_once(client, world, meta_conn, presence_quiet):
    """A poll whose stamp moved renders from what its fast path already read: beyond the full render it
    reads only the stamp rows again (the tab's counts and the agent's read marks are reused)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests import factories as f

    client.force_login(world.agent1)
    for status, stamp_reads in (("espera", 1), ("atendendo", 2)):  # Atendendo adds the others' list
        v = _version(client.get(f"/tickets/?status={status}").content.decode(), "queue-live")
        f.make_ticket(meta_conn, client=f.make_client(meta_conn.reseller, name=f"Cliente Novo {status}"))
        with CaptureQueriesContext(connection) as full:
            assert client.get("/tickets/", {"status": status}, HTTP_HX_REQUEST="true").status_code == 200
        with CaptureQueriesContext(connection) as changed:
            assert client.get("/tickets/", {"status": status, "v": v}, HTTP_HX_REQUEST="true").status_code == 200
        assert len(changed.captured_queries) == len(full.captured_queries) + stamp_reads, status
