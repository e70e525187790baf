"""Outbound calls go only where they may, never wait past their deadline, and never echo a provider's text.

Issue items 1 (SSRF through the API base) and 2 (a slow provider stalling everyone). The misbehaving
servers run on 127.0.0.1; every timing bound here is generous (a 1 s deadline must return within
10 s against a server that would drip for 60 s), so no test depends on the machine being fast.
"""

import threading
import time

import pytest
from django.urls import reverse

from providers import SendError
from providers.base import post_json
from providers.url_guard import UnsafeURL, check_provider_url
from tests import factories as f
from tests.slow_server import LEAK_TEXT, SlowServer
from tests.support.admin_forms import connection_form_data
from tickets import outbox
from tickets import services as ticket_services
from tickets.models import Message
from whatsapp.models import Connection

pytestmark = pytest.mark.django_db


@pytest.fixture
def inline(settings):
    settings.WHATSAPP_SEND_INLINE = True
    settings.WHATSAPP_HTTP_TIMEOUT = 10.0


@pytest.fixture
def private_refused(settings):
    """IAZE_ALLOW_PRIVATE_PROVIDER_HOSTS unset: the production default."""
    settings.ALLOW_PRIVATE_PROVIDER_HOSTS = False


def _reply(connection, agent, text="Olá"):
    ticket = f.make_ticket(connection, agent=agent)
    message = ticket_services.ticket_reply(ticket=ticket, agent=agent, text=text)
    message.refresh_from_db()
    return message


# --- item 1: where a call may go -------------------------------------------------------------

ALWAYS_REFUSED = [
    "http://127.0.0.1:9/internal/admin/purge?force=1",
    "http://127.0.0.1:9/internal/admin/purge#",
    "http://127.0.0.1:9/x?",
    "https://user:pass@graph.example.com/v21.0",
    "https://token@graph.example.com",
    "ftp://graph.example.com",
    "file:///etc/passwd",
]


@pytest.mark.parametrize("url", ALWAYS_REFUSED)
def test_query_fragment_userinfo_and_other_schemes_are_refused_even_when_private_hosts_are_allowed(settings, url):
    settings.ALLOW_PRIVATE_PROVIDER_HOSTS = True
    with pytest.raises(UnsafeURL):
        check_provider_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080",
        "http://localhost:8080",
        "http://10.1.2.3",
        "http://192.168.0.10/evo",
        "http://172.16.5.5",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:8080",
        "http://[::ffff:127.0.0.1]",
        "http://[fe80::1]",
        "http://224.0.0.1",
        "http://0.0.0.0",
        "http://100.64.0.1",
        "http://240.0.0.1",
    ],
)
def test_private_and_reserved_hosts_are_refused_by_default(private_refused, url):
    with pytest.raises(UnsafeURL):
        check_provider_url(url)


def test_a_public_address_and_an_unresolvable_name_at_save(private_refused):
    check_provider_url("https://93.184.216.34/v21.0")
    check_provider_url("https://no-such-host.invalid/v21.0", unresolved_ok=True)  # the form; checked again at send
    with pytest.raises(UnsafeURL) as exc:
        check_provider_url("https://no-such-host.invalid/v21.0")
    assert exc.value.unresolved


@pytest.mark.parametrize(
    "base, allowed",
    [
        ("http://127.0.0.1:8081/evo", False),
        ("http://169.254.169.254", False),
        ("http://127.0.0.1:8081/internal/admin/purge?force=1", False),
        ("http://127.0.0.1:8081/internal#", False),
        ("https://93.184.216.34/evo", True),
    ],
)
def test_admin_refuses_an_internal_base_when_saved(client, tenant, reseller_user, private_refused, base, allowed):
    conn = f.make_connection(
        tenant.reseller, tenant.suporte, provider=Connection.Provider.EVOLUTION, api_base_url="https://93.184.216.34"
    )
    client.force_login(reseller_user)
    url = reverse("admin:whatsapp_connection_change", args=[conn.pk])
    response = client.post(url, connection_form_data(conn, api_base_url=base))
    conn.refresh_from_db()
    if allowed:
        assert response.status_code == 302 and conn.api_base_url == base
    else:
        assert response.status_code == 200
        assert "api_base_url" in response.context["adminform"].form.errors
        assert conn.api_base_url == "https://93.184.216.34"


def test_admin_accepts_a_local_base_when_the_environment_allows_it(client, tenant, reseller_user, settings):
    settings.ALLOW_PRIVATE_PROVIDER_HOSTS = True
    conn = f.make_connection(tenant.reseller, tenant.suporte, provider=Connection.Provider.EVOLUTION)
    client.force_login(reseller_user)
    url = reverse("admin:whatsapp_connection_change", args=[conn.pk])
    assert client.post(url, connection_form_data(conn, api_base_url="http://127.0.0.1:8081")).status_code == 302
    # ...but never one with a query string.
    response = client.post(url, connection_form_data(conn, api_base_url="http://127.0.0.1:8081/?x=1"))
    assert response.status_code == 200 and "api_base_url" in response.context["adminform"].form.errors


@pytest.mark.parametrize("live", ["meta_live", "evo_live"])
def test_a_loopback_base_is_refused_at_send_with_a_mapped_reason(inline, private_refused, live, agent1, fake, request):
    """Saved while allowed (or written around the form): the send checks again and POSTs nothing."""
    conn = request.getfixturevalue(live)
    m = _reply(conn, agent1)
    assert (m.delivery_status, m.error_code) == ("failed", "unsafe_url")
    assert m.error_text == "A URL base aponta para um endereço interno ou reservado; ela não é permitida."
    assert fake.calls == []


def test_a_query_in_a_stored_base_is_refused_at_send(inline, tenant, agent1, fake):
    conn = f.make_connection(
        tenant.reseller,
        tenant.suporte,
        provider=Connection.Provider.EVOLUTION,
        api_base_url=fake.url + "/purge?force=1#",
    )
    m = _reply(conn, agent1)
    assert (m.delivery_status, m.error_code) == ("failed", "unsafe_url") and fake.calls == []


@pytest.mark.parametrize("provider", [Connection.Provider.EVOLUTION, Connection.Provider.META])
def test_the_providers_answer_text_never_reaches_the_ticket(inline, tenant, agent1, provider):
    with SlowServer("leak") as server:
        conn = f.make_connection(tenant.reseller, tenant.suporte, provider=provider, api_base_url=server.url)
        m = _reply(conn, agent1)
    assert m.delivery_status == "failed" and m.error_code == "http_400"
    assert LEAK_TEXT not in m.error_text and "hunter2" not in m.error_text
    assert m.error_text == "O provedor recusou a mensagem (HTTP 400)."


def test_redirects_are_not_followed(inline, tenant, agent1, fake):
    with SlowServer("redirect", location=fake.url + "/internal/admin/purge") as server:
        conn = f.make_connection(
            tenant.reseller, tenant.suporte, provider=Connection.Provider.EVOLUTION, api_base_url=server.url
        )
        m = _reply(conn, agent1)
    assert len(server.requests) == 1 and fake.calls == []
    assert (m.delivery_status, m.error_code) == ("failed", "http_302")


# --- item 2: deadlines ------------------------------------------------------------------------------


def test_a_dripping_server_cannot_outlast_the_total_deadline(settings):
    settings.WHATSAPP_HTTP_TIMEOUT = 1.0
    with SlowServer("drip", seconds=60, interval=0.2) as server:
        started = time.monotonic()
        with pytest.raises(SendError) as exc:
            post_json(server.url + "/message/sendText/demo", json={"text": "oi"}, headers={})
        elapsed = time.monotonic() - started
    assert exc.value.code == "timeout" and exc.value.retryable
    assert elapsed < 10


def test_a_reply_waits_on_a_slow_provider_only_for_the_inline_budget(inline, settings, tenant, agent1):
    settings.WHATSAPP_HTTP_TIMEOUT = 60.0  # the worker's deadline; the web request has its own, shorter one
    settings.WHATSAPP_INLINE_SEND_BUDGET = 1.0
    with SlowServer("drip", seconds=60, interval=0.2) as server:
        conn = f.make_connection(
            tenant.reseller, tenant.suporte, provider=Connection.Provider.EVOLUTION, api_base_url=server.url
        )
        started = time.monotonic()
        m = _reply(conn, agent1)
        elapsed = time.monotonic() - started
    assert elapsed < 10
    assert (m.delivery_status, m.error_code) == ("queued", "timeout") and m.lease_until is None  # left to the worker


# --- item 2: the worker's fairness -------------------------------------------------------------------


def test_sends_take_turns_across_connections():
    rows = [(1, "slow"), (2, "slow"), (3, "slow"), (4, "fast"), (5, "other"), (6, "fast")]
    assert [pk for pk, _ in outbox._fair_order(rows)] == [1, 4, 5, 2, 6, 3]


@pytest.mark.django_db(transaction=True)
def test_a_slow_connection_holds_only_its_own_sender(settings, tenant, agent1, fake):
    """Two senders, one per connection: while the slow tenant's call hangs, the other tenant's reply goes out."""
    settings.WHATSAPP_HTTP_TIMEOUT = 60.0
    other = f.make_reseller("outra-loja")
    other_dept = f.make_department(other, "Vendas")
    other_agent = f.make_user("a@outra-loja.local", reseller=other, departments=[other_dept])
    with SlowServer("drip", seconds=60, interval=0.5) as server:
        slow = f.make_connection(
            tenant.reseller, tenant.suporte, provider=Connection.Provider.EVOLUTION, api_base_url=server.url
        )
        quick = f.make_connection(other, other_dept, provider=Connection.Provider.EVOLUTION, api_base_url=fake.url)
        slow_msgs = [_reply(slow, agent1, f"lento {i}") for i in range(3)]
        quick_msg = _reply(quick, other_agent, "rápido")
        sender = outbox.OutboxSender(workers=2, per_connection=1)
        try:
            sender.tick(ignore_backoff=True)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                quick_msg.refresh_from_db()
                if quick_msg.delivery_status == "sent":
                    break
                sender.wait_one(timeout=0.2)
                # As the worker's loop does: a send whose thread failed is started again. On the SQLite lane
                # the test database is in memory with a shared cache, where a write racing another thread's
                # fails at once ("database table is locked") instead of waiting as a database file does.
                sender.tick(ignore_backoff=True)
            assert quick_msg.delivery_status == "sent"
            # The slow tenant never holds more than its one sender (per_connection=1): its other two
            # replies wait their turn, whatever state its first call is in by now.
            assert sender.busy(slow.pk) <= 1
            assert len(server.requests) <= 1
            assert Message.objects.filter(pk__in=[m.pk for m in slow_msgs], lease_until__isnull=False).count() <= 1
            assert Message.objects.filter(pk__in=[m.pk for m in slow_msgs], delivery_status="sent").count() == 0
        finally:
            server._stop.set()  # ends the drip: the hanging call fails and is left queued for a retry
            sender.close()
    assert fake.texts() == ["rápido"]


@pytest.mark.realserver  # four threads write at once: SQLite's in-memory test database refuses that at once
@pytest.mark.django_db(transaction=True)
def test_a_stuck_media_download_or_recovery_never_holds_the_replies(monkeypatch, tenant, agent1, fake):
    """The worker's loop keeps sending while a media download and a gap recovery hang on their providers."""
    from io import StringIO

    from whatsapp import media_fetch as downloads
    from whatsapp import recovery
    from whatsapp.management.commands.worker import Command

    release, stuck = threading.Event(), {"media": threading.Event(), "recovery": threading.Event()}

    def hang(name):
        def job(**_):
            stuck[name].set()
            release.wait(120)
            return {}

        return job

    monkeypatch.setattr(downloads, "media_downloads_run", hang("media"))
    monkeypatch.setattr(recovery, "recovery_pass", hang("recovery"))
    conn = f.make_connection(tenant.reseller, tenant.suporte, key="loop-stuck", api_base_url=fake.url)
    ticket = f.make_ticket(conn, agent=agent1)
    stop = threading.Event()
    worker = threading.Thread(target=Command(stdout=StringIO(), stderr=StringIO()).work, args=(stop, 0.05))
    worker.start()
    try:
        assert stuck["media"].wait(30) and stuck["recovery"].wait(30)
        reply = ticket_services.ticket_reply(ticket=ticket, agent=agent1, text="enquanto baixa")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and reply.delivery_status != "sent":
            time.sleep(0.05)
            reply.refresh_from_db()
        assert reply.delivery_status == "sent" and fake.texts() == ["enquanto baixa"]
    finally:
        release.set()
        stop.set()
        worker.join(30)
    assert not worker.is_alive()


@pytest.mark.django_db(transaction=True)  # the sends run when the request's own transaction commits
def test_one_webhook_waits_on_a_slow_provider_for_one_inline_budget_in_all(client, inline, settings, tenant):
    """A first message that queues a greeting and an out-of-hours text: the first send takes the request's
    whole budget against a provider that never answers, so the second is not tried: both are left queued."""
    from tests.support.webhooks import post_meta_text

    settings.WHATSAPP_HTTP_TIMEOUT = 60.0
    settings.WHATSAPP_INLINE_SEND_BUDGET = 1.0
    config = tenant.reseller.config
    config.greeting_text, config.out_of_hours_text = "Olá!", "Fora do horário."
    config.business_hours = {day: [["08:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
    config.save()
    with SlowServer("drip", seconds=60, interval=0.2) as server:
        conn = f.make_connection(tenant.reseller, tenant.suporte, key="budget-meta", api_base_url=server.url)
        post_meta_text(client, conn, wa_id="5511967670001", text="oi", ts=1749416383)  # a Sunday evening
        tried = len(server.requests)
    out = Message.objects.filter(direction="out").order_by("created_at")
    assert [m.text for m in out] == ["Olá!", "Fora do horário."]
    assert [m.delivery_status for m in out] == ["queued", "queued"]  # both left to the worker
    assert tried == 1
