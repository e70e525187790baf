"""`manage.py sync_templates [--connection KEY]`: every page of Meta's template listing, counted as added,
changed, kept and marked inactive (gone at Meta, never deleted); exit 1 with the reason, having marked
nothing, when the listing could not be read in full."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests import factories as f
from tickets.models import MessageTemplate
from tickets.services.template_sync import TemplateSyncCounts, template_sync_counts
from whatsapp.models import Connection

pytestmark = pytest.mark.django_db

Status = MessageTemplate.Status


def meta_template(name, body, *, status="APPROVED", language="pt_BR", category="UTILITY"):
    """One template as Meta's GET /{waba-id}/message_templates lists it."""
    return {
        "name": name,
        "language": language,
        "status": status,
        "category": category,
        "components": [{"type": "BODY", "text": body}],
        "id": f"id-{name}-{language}",
    }


RETOMAR = meta_template("retomar_atendimento", "Olá {{1}}, podemos continuar seu atendimento?")
BOLETO = meta_template("segunda_via_boleto", "Olá {{1}}, segue a segunda via: {{2}}")
PROMO = meta_template("promo", "Promo!", status="REJECTED", category="MARKETING")


@pytest.fixture
def live(tenant, fake):
    return f.make_connection(
        tenant.reseller, tenant.suporte, key="tpl-meta", api_base_url=fake.url + "/v21.0", business_account_id="555"
    )


def sync(*args) -> str:
    out = StringIO()
    call_command("sync_templates", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def statuses(connection) -> dict:
    return {(t.name, t.language): t.status for t in MessageTemplate.objects.filter(connection=connection)}


def test_first_run_adds_the_approved_templates_and_a_second_run_keeps_them(live, fake):
    fake.message_templates = [RETOMAR, BOLETO, PROMO]
    assert sync() == "tpl-meta: added=2 changed=0 kept=0 inactive=0\n"
    assert statuses(live) == {("retomar_atendimento", "pt_BR"): "APPROVED", ("segunda_via_boleto", "pt_BR"): "APPROVED"}
    boleto = MessageTemplate.objects.get(name="segunda_via_boleto")
    assert (boleto.body, boleto.category, boleto.param_count) == ("Olá {{1}}, segue a segunda via: {{2}}", "UTILITY", 2)

    before = list(MessageTemplate.objects.order_by("pk").values())
    assert sync("--connection", "tpl-meta") == "tpl-meta: added=0 changed=0 kept=2 inactive=0\n"
    assert list(MessageTemplate.objects.order_by("pk").values()) == before  # idempotent: nothing written


def test_changed_at_meta_is_changed_here(live, fake):
    fake.message_templates = [RETOMAR, BOLETO]
    sync()
    fake.message_templates = [
        meta_template("retomar_atendimento", "Oi {{1}}, vamos continuar?"),
        {**BOLETO, "status": "PAUSED"},
    ]
    assert template_sync_counts(live) == TemplateSyncCounts(added=0, changed=2, kept=0, inactive=0)
    retomar = MessageTemplate.objects.get(name="retomar_atendimento")
    assert (retomar.body, retomar.status) == ("Oi {{1}}, vamos continuar?", "APPROVED")
    assert MessageTemplate.objects.get(name="segunda_via_boleto").status == "PAUSED"


def test_a_template_gone_at_meta_is_marked_inactive_never_deleted_and_comes_back_when_it_reappears(
    live, fake, meta_conn
):
    # A template typed in the admin that Meta never had, on the same connection: gone too.
    MessageTemplate.objects.create(connection=live, name="feito_a_mao", language="pt_BR", body="Oi")
    other = MessageTemplate.objects.create(connection=meta_conn, name="de_outra_conexao", language="pt_BR", body="x")
    fake.message_templates = [RETOMAR, BOLETO]
    assert sync("--connection", "tpl-meta") == "tpl-meta: added=2 changed=0 kept=0 inactive=1\n"

    fake.message_templates = [RETOMAR]
    assert sync("--connection", "tpl-meta") == "tpl-meta: added=0 changed=0 kept=1 inactive=1\n"
    assert statuses(live) == {
        ("retomar_atendimento", "pt_BR"): "APPROVED",
        ("segunda_via_boleto", "pt_BR"): "INACTIVE",
        ("feito_a_mao", "pt_BR"): "INACTIVE",
    }
    assert MessageTemplate.objects.count() == 4  # nothing deleted
    other.refresh_from_db()
    assert other.status == "APPROVED"  # another connection's templates are not this listing's business
    assert sync("--connection", "tpl-meta") == "tpl-meta: added=0 changed=0 kept=1 inactive=0\n"

    fake.message_templates = [RETOMAR, BOLETO]
    assert sync("--connection", "tpl-meta") == "tpl-meta: added=0 changed=1 kept=1 inactive=0\n"
    assert statuses(live)[("segunda_via_boleto", "pt_BR")] == "APPROVED"


def test_meta_deleted_status_reads_inactive(live, fake):
    fake.message_templates = [RETOMAR]
    sync()
    fake.message_templates = [{**RETOMAR, "status": "DELETED"}]
    assert template_sync_counts(live) == TemplateSyncCounts(changed=1)
    assert MessageTemplate.objects.get(name="retomar_atendimento").status == Status.INACTIVE


def test_without_a_key_every_active_meta_connection_is_synced(live, fake, tenant, evo_conn):
    second = f.make_connection(
        tenant.reseller,
        tenant.suporte,
        key="tpl-meta-2",
        phone_number_id="100000000000009",
        api_base_url=fake.url + "/v21.0",
        business_account_id="777",
    )
    f.make_connection(tenant.reseller, tenant.suporte, key="tpl-off", business_account_id="888", active=False)
    fake.message_templates = [RETOMAR]
    assert sync() == "tpl-meta: added=1 changed=0 kept=0 inactive=0\ntpl-meta-2: added=1 changed=0 kept=0 inactive=0\n"
    assert set(MessageTemplate.objects.values_list("connection_id", flat=True)) == {live.pk, second.pk}
    assert statuses(second) == {("retomar_atendimento", "pt_BR"): "APPROVED"}


def test_an_unknown_or_non_meta_key_exits_1(live, evo_conn):
    with pytest.raises(CommandError, match="no connection with the key 'nope'") as unknown:
        sync("--connection", "nope")
    assert unknown.value.returncode == 1
    with pytest.raises(CommandError, match="not a Meta connection") as evolution:
        sync("--connection", evo_conn.key)
    assert evolution.value.returncode == 1


def test_a_meta_connection_without_business_account_id_exits_1(live, fake, tenant):
    f.make_connection(tenant.reseller, tenant.suporte, key="sem-waba", api_base_url=fake.url + "/v21.0")
    fake.message_templates = [RETOMAR]
    with pytest.raises(CommandError, match="sem-waba: A conexão não tem o ID da conta WhatsApp Business"):
        sync()
    assert statuses(live) == {("retomar_atendimento", "pt_BR"): "APPROVED"}  # the other one was synced


# --- a provider that cannot be read ----------------------------------------------------------


@pytest.fixture
def other(tenant, fake):
    """A second Meta connection on the fake, with what an earlier sync stored: it must survive any
    failed read untouched."""
    conn = f.make_connection(
        tenant.reseller, tenant.suporte, key="tpl-other", api_base_url=fake.url + "/v21.0", business_account_id="555"
    )
    MessageTemplate.objects.create(connection=conn, name="antigo", language="pt_BR", body="Oi {{1}}")
    return conn


def listing_calls(fake) -> list:
    return [c for c in fake.calls if c.provider == "meta:templates"]


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("401", "O token de acesso da conexão expirou ou é inválido."),
        ("500", "O provedor está indisponível no momento"),
    ],
)
def test_a_listing_the_provider_refuses_exits_1_with_the_reason_and_marks_nothing(other, fake, mode, reason):
    fake.message_templates = [RETOMAR]
    fake.fail_next(mode)
    with pytest.raises(CommandError, match=reason) as failed:
        sync("--connection", "tpl-other")
    assert failed.value.returncode == 1 and "tpl-other" in str(failed.value)
    assert len(listing_calls(fake)) == 1
    assert statuses(other) == {("antigo", "pt_BR"): "APPROVED"}


def test_a_later_page_that_fails_marks_nothing_and_adds_nothing(other, fake):
    fake.message_templates = [RETOMAR, BOLETO]  # two pages of one
    fake.fail_next("500", after=1)
    with pytest.raises(CommandError, match="tpl-other: O provedor está indisponível"):
        sync("--connection", "tpl-other")
    _first, second = listing_calls(fake)
    assert "after=" in second.query and "access_token=" in second.query  # Graph's paging.next, as given
    assert statuses(other) == {("antigo", "pt_BR"): "APPROVED"}

    # The same listing read in full: now "antigo" is gone at Meta.
    assert sync("--connection", "tpl-other") == "tpl-other: added=2 changed=0 kept=0 inactive=1\n"
    assert statuses(other) == {
        ("antigo", "pt_BR"): "INACTIVE",
        ("retomar_atendimento", "pt_BR"): "APPROVED",
        ("segunda_via_boleto", "pt_BR"): "APPROVED",
    }


def test_one_failing_connection_exits_1_after_the_others_are_synced(live, fake, other):
    Connection.objects.filter(pk=other.pk).update(access_token="")  # Graph answers 401 (code 190)
    fake.message_templates = [RETOMAR]
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="tpl-other") as failed:
        call_command("sync_templates", stdout=out, stderr=err)
    assert failed.value.returncode == 1
    assert out.getvalue() == "tpl-meta: added=1 changed=0 kept=0 inactive=0\n"
    assert "tpl-other: templates not read: O token de acesso da conexão expirou ou é inválido." in err.getvalue()
    assert statuses(other) == {("antigo", "pt_BR"): "APPROVED"}
    assert Connection.objects.filter(provider="meta").count() == 2


def test_the_admins_sync_action_waits_on_a_hung_listing_only_the_admin_budget(
    client, live, fake, reseller_user, settings, monkeypatch
):
    """The admin's "sync templates" is a POST (an admin action) and its calls get WHATSAPP_ADMIN_CALL_SECONDS,
    not the full WHATSAPP_HTTP_TIMEOUT (asserted on the deadline the call was given)."""
    from providers import base

    settings.WHATSAPP_HTTP_TIMEOUT, settings.WHATSAPP_ADMIN_CALL_SECONDS = 15.0, 0.2
    given = []
    real_session = base.http_session

    class Spy:
        def request(self, method, url, **kw):
            given.append(kw["timeout"])
            return real_session().request(method, url, **kw)

    monkeypatch.setattr(base, "http_session", Spy)
    fake.hang(live.access_token)
    client.force_login(reseller_user)
    try:
        answer = client.post(
            "/admin/whatsapp/connection/",
            {"action": "sync_templates", "_selected_action": [str(live.pk)]},
            follow=True,
        )
    finally:
        fake.release()
    assert "não respondeu a tempo" in answer.content.decode()
    assert given == [(0.2, 0.2)] and MessageTemplate.objects.count() == 0
