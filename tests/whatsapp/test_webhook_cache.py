"""An admin's change to a connection or its tenant's config applies to the very next webhook, whether it
was saved in this process or in another one (whose saves only show as a new row in the database)."""

from datetime import timedelta

from accounts.models import ResellerConfig
from iaze.lib import clock
from tests import factories as f
from tests.support.webhooks import meta_text, post_meta
from tickets.models import Message
from whatsapp.models import Connection


def _saved_elsewhere(model, pk, **changes):
    """A save by another process: the row and its updated_at change, this process hears no signal."""
    model.objects.filter(pk=pk).update(updated_at=clock.now() + timedelta(milliseconds=5), **changes)


def test_a_new_secret_applies_to_the_next_webhook_saved_here_or_elsewhere(client, meta_conn):
    assert post_meta(client, meta_conn, meta_text(meta_conn, text="um")).status_code == 200
    _saved_elsewhere(Connection, meta_conn.pk, app_secret="segredo-novo")
    assert post_meta(client, meta_conn, meta_text(meta_conn, text="dois")).status_code == 401
    assert post_meta(client, meta_conn, meta_text(meta_conn, text="dois"), secret="segredo-novo").status_code == 200
    meta_conn.refresh_from_db()
    meta_conn.app_secret = "outro-segredo"
    meta_conn.save()  # the admin's save in this process
    assert post_meta(client, meta_conn, meta_text(meta_conn, text="três"), secret="segredo-novo").status_code == 401
    assert post_meta(client, meta_conn, meta_text(meta_conn, text="três")).status_code == 200


def test_a_deactivated_connection_is_refused_at_once(client, meta_conn):
    assert post_meta(client, meta_conn, meta_text(meta_conn, text="um")).status_code == 200
    Connection.objects.filter(pk=meta_conn.pk).update(active=False)  # even without a new updated_at
    assert post_meta(client, meta_conn, meta_text(meta_conn, text="dois")).status_code == 404


def test_a_new_default_department_routes_the_next_new_ticket(client, tenant, meta_conn):
    post_meta(client, meta_conn, meta_text(meta_conn, wa_id="5511970000001"))
    _saved_elsewhere(Connection, meta_conn.pk, default_department=tenant.financeiro)
    post_meta(client, meta_conn, meta_text(meta_conn, wa_id="5511970000002"))
    by_client = {m.ticket.client.wa_id: m.ticket.department for m in Message.objects.select_related("ticket__client")}
    assert by_client == {"5511970000001": tenant.suporte, "5511970000002": tenant.financeiro}


def test_a_changed_greeting_is_the_one_the_next_new_ticket_gets(client, tenant, meta_conn):
    config = ResellerConfig.objects.get(reseller=tenant.reseller)
    config.greeting_text = "Olá, primeira versão."
    config.save()
    post_meta(client, meta_conn, meta_text(meta_conn, wa_id="5511970000011"))
    _saved_elsewhere(ResellerConfig, config.pk, greeting_text="Olá, segunda versão.")
    post_meta(client, meta_conn, meta_text(meta_conn, wa_id="5511970000012"))
    config.refresh_from_db()
    config.greeting_text = "Olá, terceira versão."
    config.save()
    post_meta(client, meta_conn, meta_text(meta_conn, wa_id="5511970000013"))
    sent = Message.objects.filter(direction=Message.Direction.OUT).order_by("created_at")
    assert [m.text for m in sent] == ["Olá, primeira versão.", "Olá, segunda versão.", "Olá, terceira versão."]


def test_another_tenants_connection_with_the_same_key_later_is_its_own(client, tenant, outsider):
    first = f.make_connection(tenant.reseller, tenant.suporte, key="mesma-chave")
    assert post_meta(client, first, meta_text(first, text="um")).status_code == 200
    Connection.objects.filter(pk=first.pk).update(active=False, key="chave-antiga")
    second = f.make_connection(outsider.reseller, outsider.department, key="mesma-chave", app_secret="outra")
    assert post_meta(client, second, meta_text(second, text="dois"), secret="meta-app-secret").status_code == 401
    assert post_meta(client, second, meta_text(second, text="dois")).status_code == 200
    assert Message.objects.get(text="dois").ticket.reseller == outsider.reseller
