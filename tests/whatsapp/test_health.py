"""Connection health: the admin's state column and pairing page, the supervisors' banner, Meta's silence
warning, last webhook / last send stamps, and recovery runs in the admin."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import formats, timezone

from iaze.lib import clock
from tests import factories as f
from tests.support.webhooks import post_meta_text
from whatsapp import health
from whatsapp.models import Connection, RecoveryRun

pytestmark = pytest.mark.django_db


def set_state(conn, state):
    Connection.objects.filter(pk=conn.pk).update(state=state, state_updated_at=timezone.now())
    conn.refresh_from_db()


# --- pairing -----------------------------------------------------------------------------------


def pair_url(conn) -> str:
    return f"/admin/whatsapp/connection/{conn.pk}/pair/"


def test_pair_page_get_shows_the_last_known_state_and_a_post_form_without_calling_the_gateway(
    client, reseller_user, evo_live, fake
):
    """Asking the gateway to pair starts a session there: a GET never does it (a link, a prefetch, a refresh)."""
    set_state(evo_live, "close")
    client.force_login(reseller_user)
    page = client.get(pair_url(evo_live)).content.decode()
    assert fake.calls == [] and "pairing-qr" not in page and "http-equiv" not in page
    assert 'id="pair-form" method="post"' in page and 'name="csrfmiddlewaretoken"' in page
    assert "data-refresh-seconds" not in page  # nothing is asked of the gateway by itself
    assert "<strong>close</strong>" in page


def test_pair_post_without_the_csrf_token_is_refused_and_calls_nothing(reseller_user, evo_live, fake):
    from django.test import Client

    set_state(evo_live, "close")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(reseller_user)
    assert browser.post(pair_url(evo_live)).status_code == 403
    assert browser.put(pair_url(evo_live)).status_code in (403, 405)
    assert fake.calls == []


# The tests below asked for a QR code with a GET before security round three; the pairing request is a POST now.


def test_pair_page_shows_the_qr_image_and_pairing_code_and_refreshes(client, reseller_user, evo_live, fake):
    set_state(evo_live, "close")
    client.force_login(reseller_user)
    page = client.post(pair_url(evo_live)).content.decode()
    assert 'id="pairing-qr" src="data:image/png;base64,iVBOR' in page
    assert "WZYEH1YY" in page and 'data-refresh-seconds="5"' in page
    call = fake.calls[0]
    assert call.provider == "evolution:connect" and call.path == "/instance/connect/demo"
    assert call.headers["apikey"] == evo_live.api_key


def test_pair_page_stops_refreshing_once_connected(client, reseller_user, evo_live, fake):
    set_state(evo_live, "open")
    client.force_login(reseller_user)
    for ask in (client.get, client.post):
        page = ask(pair_url(evo_live)).content.decode()
        assert "Número conectado" in page and "pair-form" not in page and fake.calls == []
    set_state(evo_live, "connecting")
    fake.connect_answer = {"instance": {"instanceName": "demo", "state": "open"}}
    page = client.post(pair_url(evo_live)).content.decode()
    assert "Número conectado" in page and "data-refresh-seconds" not in page


def test_pair_page_never_renders_anything_but_an_image(client, reseller_user, evo_live, fake):
    set_state(evo_live, "close")
    fake.connect_answer = {"base64": "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", "code": "x"}
    client.force_login(reseller_user)
    page = client.post(pair_url(evo_live)).content.decode()
    assert "pairing-qr" not in page and "data:text/html" not in page


def test_pair_page_reports_a_gateway_error_and_keeps_trying(client, reseller_user, evo_live, fake):
    set_state(evo_live, "close")
    fake.fail_next("500")
    client.force_login(reseller_user)
    page = client.post(pair_url(evo_live)).content.decode()
    assert "errornote" in page and 'data-refresh-seconds="30"' in page  # asked again, but less often


def test_pair_page_of_another_tenant_is_a_404(client, outsider, evo_live, fake):
    client.force_login(outsider.reseller_user)
    assert client.get(pair_url(evo_live)).status_code == 404
    assert client.post(pair_url(evo_live)).status_code == 404 and fake.calls == []


def test_three_pairing_requests_on_a_hung_gateway_each_wait_only_the_admin_budget(
    client, reseller_user, evo_live, fake, settings, monkeypatch
):
    """Tenant B's gateway hangs: each pairing request's call gets WHATSAPP_ADMIN_CALL_SECONDS, not the full
    WHATSAPP_HTTP_TIMEOUT, so three open pages can hold three web workers that long at most (asserted on
    the deadline the call was given, not by timing the page)."""
    from providers import base

    settings.WHATSAPP_HTTP_TIMEOUT, settings.WHATSAPP_ADMIN_CALL_SECONDS = 15.0, 0.2
    given = []
    real_session = base.http_session

    class Spy:
        def request(self, method, url, **kw):
            given.append(kw["timeout"])
            return real_session().request(method, url, **kw)

    monkeypatch.setattr(base, "http_session", Spy)
    set_state(evo_live, "close")
    fake.hang(evo_live.instance_name)
    client.force_login(reseller_user)
    try:
        for _ in range(3):
            page = client.post(pair_url(evo_live)).content.decode()
            assert "errornote" in page and "não respondeu a tempo" in page
    finally:
        fake.release()
    assert given == [(0.2, 0.2)] * 3  # (connect, total) of each call: the admin's budget
    assert client.get("/healthz").status_code == 200  # and the health check calls no provider at all


def test_pair_action_redirects_to_the_pairing_page(client, reseller_user, evo_live):
    client.force_login(reseller_user)
    response = client.post(
        "/admin/whatsapp/connection/", {"action": "pair_connection", "_selected_action": [str(evo_live.pk)]}
    )
    assert response.status_code == 302 and response["Location"].endswith(f"/{evo_live.pk}/pair/")


# --- admin list, banner ---------------------------------------------------------------------------


def test_admin_list_shows_each_connections_health(client, reseller_user, evo_conn, meta_conn):
    set_state(evo_conn, "close")
    client.force_login(reseller_user)
    page = client.get("/admin/whatsapp/connection/").content.decode()
    assert "iaze-health-down" in page and "Desconectada" in page
    assert "Nenhum webhook recebido ainda" in page  # the Meta connection
    assert "column-last_send_at" in page  # the last successful send, beside the last webhook
    sent = timezone.localtime(clock.now() - timedelta(minutes=7))
    Connection.objects.filter(pk=meta_conn.pk).update(last_send_at=sent)
    page = client.get("/admin/whatsapp/connection/").content.decode()
    assert formats.date_format(sent, "DATETIME_FORMAT") in page


def test_supervisors_see_a_banner_while_a_connection_is_not_open(client, reseller_user, agent1, evo_conn, outsider):
    set_state(evo_conn, "close")
    client.force_login(reseller_user)
    page = client.get("/tickets/").content.decode()
    assert 'id="connection-alerts"' in page and "Desconectada" in page
    client.force_login(agent1)
    assert 'id="connection-alerts"' not in client.get("/tickets/").content.decode()
    client.force_login(outsider.reseller_user)  # another tenant's connection is not theirs
    assert 'id="connection-alerts"' not in client.get("/tickets/").content.decode()
    set_state(evo_conn, "open")
    client.force_login(reseller_user)
    assert 'id="connection-alerts"' not in client.get("/tickets/").content.decode()


def test_meta_records_the_last_webhook_and_warns_after_a_long_silence(client, meta_conn, reseller_user, settings):
    settings.WHATSAPP_SILENCE_WARNING_MINUTES = 60
    post_meta_text(client, meta_conn, wa_id="5511961610009", text="oi")
    meta_conn.refresh_from_db()
    assert meta_conn.last_webhook_at is not None
    assert health.connection_health(meta_conn).level == "ok"
    later = meta_conn.last_webhook_at + timedelta(minutes=61)
    assert health.connection_health(meta_conn, now=later).level == "warning"
    Connection.objects.filter(pk=meta_conn.pk).update(last_webhook_at=timezone.now() - timedelta(hours=2))
    client.force_login(reseller_user)
    assert "Sem webhooks desde" in client.get("/tickets/").content.decode()


def test_a_successful_send_stamps_the_connection(meta_live, fake, agent1):
    from tickets import services

    ticket = services.ticket_claim(ticket=f.make_ticket(meta_live), agent=agent1)
    services.ticket_reply(ticket=ticket, agent=agent1, text="olá")
    call_command("send_outbox", stdout=StringIO())
    meta_live.refresh_from_db()
    assert meta_live.last_send_at is not None


# --- recovery runs in the admin ---------------------------------------------------------------------


def test_admin_starts_a_recovery_for_a_chosen_period(client, reseller_user, evo_conn, meta_conn, outsider):
    client.force_login(reseller_user)
    form = client.get("/admin/whatsapp/recoveryrun/add/").content.decode()
    assert str(evo_conn.pk) in form and str(meta_conn.pk) not in form and str(outsider.connection.pk) not in form
    response = client.post(
        "/admin/whatsapp/recoveryrun/add/",
        {
            "connection": str(evo_conn.pk),
            "since_0": "2026-01-10",
            "since_1": "08:00:00",
            "until_0": "2026-01-10",
            "until_1": "12:00:00",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    run = RecoveryRun.objects.get()
    assert run.trigger == "manual" and run.requested_by == reseller_user and run.state == "pending"
    assert client.get("/admin/whatsapp/recoveryrun/").status_code == 200
    client.force_login(outsider.reseller_user)
    assert client.get(f"/admin/whatsapp/recoveryrun/{run.pk}/change/").status_code == 404


def test_recover_action_schedules_a_run_for_evolution_connections(client, reseller_user, evo_conn, meta_conn):
    client.force_login(reseller_user)
    client.post(
        "/admin/whatsapp/connection/",
        {"action": "recover_since_last", "_selected_action": [str(evo_conn.pk), str(meta_conn.pk)]},
    )
    assert list(RecoveryRun.objects.values_list("connection_id", "trigger")) == [(evo_conn.pk, "manual")]


def test_admin_saves_the_menu_in_order_and_refuses_another_tenants_department(
    client, reseller_user, evo_conn, tenant, outsider
):
    client.force_login(reseller_user)
    url = f"/admin/whatsapp/connection/{evo_conn.pk}/change/"
    page = client.get(url).content.decode()
    assert "menu_option_1" in page and str(outsider.department.pk) not in page
    data = {
        "reseller": str(tenant.reseller.pk),
        "name": "Evo",
        "provider": "evolution",
        "default_department": str(tenant.suporte.pk),
        "active": "on",
        "instance_name": "demo",
        "api_base_url": "http://127.0.0.1:9/evolution",
        "menu_enabled": "on",
        "menu_intro": "Escolha:",
        "menu_option_1": str(tenant.financeiro.pk),
        "menu_option_2": str(tenant.suporte.pk),
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    evo_conn.refresh_from_db()
    assert evo_conn.menu_enabled and evo_conn.menu_department_ids == [str(tenant.financeiro.pk), str(tenant.suporte.pk)]
    response = client.post(url, {**data, "menu_option_3": str(outsider.department.pk)})
    assert response.status_code == 200  # not a valid choice
    evo_conn.refresh_from_db()
    assert len(evo_conn.menu_department_ids) == 2


def test_the_last_webhook_stamp_costs_no_statement_on_every_webhook_and_stays_within_its_bound(
    client, meta_conn, monkeypatch
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    post_meta_text(client, meta_conn, wa_id="5511961610010", text="oi")
    with CaptureQueriesContext(connection) as ctx:
        post_meta_text(client, meta_conn, wa_id="5511961610010", text="de novo")
    assert not [q for q in ctx.captured_queries if q["sql"].startswith('UPDATE "whatsapp_connections"')]
    meta_conn.refresh_from_db()
    first = meta_conn.last_webhook_at
    # Past half the interval this process asks again; past the whole one the stamp moves.
    later = first + health.STAMP_EVERY + timedelta(seconds=1)
    monkeypatch.setattr(health.clock, "now", lambda: later)
    health.webhook_seen(meta_conn)
    meta_conn.refresh_from_db()
    assert meta_conn.last_webhook_at == later
