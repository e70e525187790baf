"""The benchmark's own machinery must count right: `python -m pytest bench/tests` (not part of make test;
nothing here measures time)."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import call_command
from django.test.utils import CaptureQueriesContext

from bench import checks, scenarios, seeding
from bench.loadgen import percentile, run_load
from tickets.models import Message, Ticket, UIState


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def demo(db):
    call_command("seed_demo", password="x-bench-123", meta_app_secret="s", stdout=open("/dev/null", "w"))


def test_percentile_nearest_rank():
    data = [float(n) for n in range(1, 101)]
    assert percentile(data, 50) == 50.0
    assert percentile(data, 99) == 99.0
    assert percentile(data, 100) == 100.0
    assert percentile([], 50) is None


def test_load_client_counts_every_answer_and_keeps_accepted_tokens():
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            n = int(self.path.rsplit("/", 1)[1])
            self.send_response(200 if n % 2 == 0 else 409)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        res = run_load(
            "127.0.0.1",
            server.server_address[1],
            lambda i, n: ("GET", f"/x/{i * 1_000_000 + n}", None, {}, i * 1_000_000 + n),
            concurrency=4,
            duration_s=0.3,
        )
    finally:
        server.shutdown()
    assert res.requests > 0 and res.errors == 0
    assert res.ok == res.statuses.get(200) == len(res.accepted_tokens) == len(res.latencies_s)
    assert all(t % 2 == 0 for t in res.accepted_tokens)
    assert res.statuses.get(409, 0) >= res.ok - 4  # one 200 and one 409 alternate on each connection


def test_a_poll_follows_the_stamp_a_200_carries_and_its_204s_are_counted_apart():
    fresh = "fedcba9876543210"

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            assert self.headers["HX-Request"] == "true"
            if self.path.endswith(f"v={fresh}"):
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = f'<div id="queue-live" hx-get="/tickets/?status=espera&amp;v={fresh}">'.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    poller = scenarios.Poll("/tickets/?status=espera", {"Cookie": "sessionid=x"}, "0123456789abcdef")
    assert poller.url() == "/tickets/?status=espera&v=0123456789abcdef"
    try:
        res = run_load(
            "127.0.0.1",
            server.server_address[1],
            poller.factory,
            concurrency=2,
            duration_s=0.3,
            observe=poller.observe,
        )
    finally:
        server.shutdown()
    assert poller.version == fresh and poller.refreshed >= 1
    # Only the requests sent before the first fresh stamp arrived were stale (one per connection at most).
    assert 1 <= res.statuses[200] <= 2 and res.statuses[204] > res.statuses[200]
    assert len(res.latencies_by_status[204]) == res.statuses[204]
    assert sum(len(v) for v in res.latencies_by_status.values()) == len(res.latencies_s) == res.ok
    assert res.pct_of(204, 50) is not None and res.pct_of(404, 50) is None
    assert res.rate_of(204) == res.statuses[204] / res.duration_s


@pytest.mark.parametrize("email", ["agente1@demo.local", "revenda@demo.local"])
def test_the_live_fragments_carry_the_stamp_the_poll_sends_back_and_get_204(demo, client, email):
    from accounts.models import User
    from tickets.reads.selectors import ticket_queryset_for

    seeding.seed_queue(total=6, connection_key="demo-meta")
    user = User.objects.get(email=email)
    ticket = ticket_queryset_for(user).order_by("-last_message_at").first()
    client.force_login(user)
    for path in ("/tickets/?status=espera", f"/tickets/{ticket.pk}/"):
        first = client.get(path, headers={"HX-Request": "true"})
        match = scenarios.VERSION_RE.search(first.content)
        assert first.status_code == 200 and match, path
        poller = scenarios.Poll(path, {}, match.group(1).decode())
        _method, url, _body, headers, _token = poller.factory(0, 0)
        assert client.get(url, headers=headers).status_code == 204
        # A stale stamp gets the fragment again, which carries the current one.
        poller.version = "0" * 16
        again = client.get(poller.url(), headers=poller.headers)
        poller.observe(again.status_code, again.content)
        assert again.status_code == 200 and poller.version == match.group(1).decode()


def test_bulk_seeded_rows_read_back_as_ordinary_tickets(demo):
    result = seeding.seed_queue(total=25, connection_key="demo-meta")
    assert result["added"] == 25
    tickets = Ticket.objects.filter(client__identity__startswith="5500")
    assert tickets.count() == 25
    assert {t.ui_state for t in tickets} == {UIState.ESPERA, UIState.ATENDENDO, UIState.FINALIZADO}
    ticket = tickets.filter(status=Ticket.Status.CLOSED).select_related("agent", "client").first()
    messages = list(ticket.messages.order_by("created_at"))
    assert len(messages) == seeding.MESSAGES_PER_TICKET
    assert ticket.agent is not None and ticket.closed_by_id == ticket.agent_id
    assert ticket.last_message_at == messages[-1].created_at  # datetimes survive the raw insert exactly
    assert ticket.last_message_preview == messages[-1].text
    # The client's latest message (the one before the agent's last reply), as the services keep it.
    assert ticket.last_client_preview == messages[-2].text and messages[-2].direction == Message.Direction.IN
    assert ticket.last_human_reply_at == messages[-1].created_at and messages[-1].sender_agent_id == ticket.agent_id
    assert messages[0].direction == Message.Direction.IN and messages[0].media == {}
    # Growing adds only the missing tickets.
    assert seeding.seed_queue(total=30, connection_key="demo-meta")["added"] == 5


def test_seeding_leaves_sqlite_without_statistics_as_a_real_database_is(demo):
    """No ANALYZE of the bench's own: the pages are measured on the database the app keeps (none here)."""
    from django.db import connection

    from iaze.lib import sqlite_stats

    if connection.vendor != "sqlite":
        pytest.skip("by design: the embedded SQLite profile (PostgreSQL's autovacuum analyses)")
    before = sqlite_stats.has_statistics(connection)
    with CaptureQueriesContext(connection) as ctx:
        seeding.seed_queue(total=25, connection_key="demo-meta")
        seeding.seed_conversation(messages=12, connection_key="demo-meta", agent_email="agente1@demo.local")
    assert not [q["sql"] for q in ctx.captured_queries if "ANALYZE" in q["sql"].upper()]
    assert sqlite_stats.has_statistics(connection) is before


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_claim_check_reports_exactly_one_winner_per_ticket():
    call_command("seed_demo", password="x-bench-123", stdout=open("/dev/null", "w"))
    from accounts.models import Department, User

    suporte = Department.objects.get(name="Suporte")
    for n in range(4):
        User.objects.create_user(
            email=f"race{n}@demo.local", role=User.Role.AGENT, reseller=suporte.reseller
        ).departments.set([suporte])
    res = checks.claims(agents=6, tickets=5, connection_key="demo-meta")
    assert res["errors"] == []
    assert res["claimed_exactly_once"] == res["holder_matches_winner"] == 5
    assert res["claim_events_per_ticket_max"] == 1 and res["attempts"] == 30


def test_bulk_seeded_rows_are_found_by_the_queue_search(demo):
    """The seeder writes the search index as the services do: the search bench finds what it looks for."""
    from accounts.models import User
    from bench import search_bench
    from tickets.reads import selectors

    seeding.seed_queue(total=25, connection_key="demo-meta")
    boss = User.objects.get(email="revenda@demo.local")
    (_, name), (_, fragment), (_, word) = search_bench.searches(25)

    def found(q):
        return {
            t.client.name
            for s in UIState.values
            for t in selectors.ticket_list_for(boss, s, filters=selectors.QueueFilters(q=q), limit=100).items
        }

    i = 25 * 3 // 7
    assert found(name) == {f"Cliente {i}"}
    assert f"Cliente {i}" in found(fragment)
    ticket = Ticket.objects.filter(client__name=f"Cliente {i}").first()
    has_word = any(word in m.text.lower() for m in ticket.messages.all())
    assert (f"Cliente {i}" in found(word)) == has_word and len(found(word)) > 1


def test_the_floor_measures_a_204_poll_a_page_without_its_template_and_the_login_floor(demo, client, settings):
    from accounts.models import User
    from bench import floor

    settings.ROOT_URLCONF = "bench.urls"
    seeding.seed_queue(total=6, connection_key="demo-meta")
    assert client.get("/_bench/login-only/").status_code == 302  # anonymous: to the login, as every page
    client.force_login(User.objects.get(email="agente1@demo.local"))
    assert client.get("/_bench/login-only/").status_code == 204
    poll = floor._Poll(client, "/tickets/?status=espera")
    assert client.get(f"/tickets/?status=espera&v={poll.v}", HTTP_HX_REQUEST="true").status_code == 204
    poll()  # asserts a 200 or a 204 itself
    with floor._without_templates():
        bare = client.get("/tickets/?status=espera")
    assert bare.status_code == 200 and bare.content == b""
    assert b"queue-live" in client.get("/tickets/?status=espera").content  # the patch is gone again
