"""seed_demo: exact, idempotent, secrets kept or generated and printed."""

import io

import pytest
from django.core.management import call_command

from accounts.models import Department, Reseller, ResellerConfig, User
from whatsapp.models import Connection

EXPECTED_USERS = {
    "admin@demo.local": ("Admin Demo", User.Role.ADMIN, set()),
    "revenda@demo.local": ("Revenda Demo", User.Role.RESELLER, set()),
    "agente1@demo.local": ("Agente 1", User.Role.AGENT, {"Suporte"}),
    "agente2@demo.local": ("Agente 2", User.Role.AGENT, {"Suporte"}),
    "agente3@demo.local": ("Agente 3", User.Role.AGENT, {"Financeiro"}),
}


def seed(*args) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def snapshot_rows():
    return {
        "resellers": list(Reseller.objects.order_by("pk").values_list("pk", "slug")),
        "configs": list(ResellerConfig.objects.order_by("pk").values_list("pk", flat=True)),
        "departments": list(Department.objects.order_by("pk").values_list("pk", "name")),
        "users": list(User.objects.order_by("pk").values_list("pk", "email")),
        "connections": list(Connection.objects.order_by("pk").values_list("pk", "key")),
    }


@pytest.mark.django_db
def test_seed_demo_creates_exactly_the_contract_tenant():
    seed("--password", "demo12345")
    reseller = Reseller.objects.get()
    assert reseller.slug == "demo"
    assert set(Department.objects.values_list("name", flat=True)) == {"Suporte", "Financeiro"}
    assert Department.objects.filter(reseller=reseller).count() == 2
    users = {u.email: u for u in User.objects.all()}
    assert set(users) == set(EXPECTED_USERS)
    for email, (name, role, depts) in EXPECTED_USERS.items():
        user = users[email]
        assert (user.name, user.role, user.reseller_id) == (name, role, reseller.pk)
        assert set(user.departments.values_list("name", flat=True)) == depts
        assert user.check_password("demo12345") and user.is_active
    assert users["admin@demo.local"].is_superuser

    config = ResellerConfig.objects.get(reseller=reseller)
    # Automatic messages are opt-in: the demo's are empty.
    assert (config.greeting_text, config.farewell_text, config.out_of_hours_text) == ("", "", "")

    meta = Connection.objects.get(key="demo-meta")
    evo = Connection.objects.get(key="demo-evolution")
    assert (meta.provider, meta.phone_number_id) == (Connection.Provider.META, "100000000000001")
    assert meta.business_account_id == "100000000000002"  # contract: the WABA id sync_templates lists
    assert (evo.provider, evo.instance_name) == (Connection.Provider.EVOLUTION, "demo")
    suporte = Department.objects.get(name="Suporte")
    assert meta.default_department == suporte and evo.default_department == suporte
    assert meta.reseller == reseller and evo.reseller == reseller and meta.active and evo.active
    assert Connection.objects.count() == 2


@pytest.mark.django_db
def test_seed_demo_is_idempotent_and_keeps_generated_secrets():
    first_out = seed()
    before = snapshot_rows()
    meta = Connection.objects.get(key="demo-meta")
    evo = Connection.objects.get(key="demo-evolution")
    secrets_before = (meta.app_secret, meta.verify_token, meta.access_token, evo.api_key)
    assert all(len(s) >= 16 for s in secrets_before)
    for secret in secrets_before:
        assert secret in first_out  # every generated secret is printed
    # A generated password is printed and works.
    printed = next(line for line in first_out.splitlines() if "password" in line).split()[-1]
    assert User.objects.get(email="agente1@demo.local").check_password(printed)

    seed()
    seed()
    assert snapshot_rows() == before  # same rows, same ids: nothing duplicated or recreated
    meta.refresh_from_db()
    evo.refresh_from_db()
    assert (meta.app_secret, meta.verify_token, meta.access_token, evo.api_key) == secrets_before
    assert User.objects.get(email="agente1@demo.local").check_password(printed)


@pytest.mark.django_db
def test_seed_demo_options_set_secrets_and_api_base():
    out = seed(
        "--password",
        "pw-123456",
        "--meta-app-secret",
        "app-secret-x",
        "--meta-verify-token",
        "verify-y",
        "--evolution-apikey",
        "evo-key-z",
        "--api-base",
        "http://127.0.0.1:18310/fake",
    )
    meta = Connection.objects.get(key="demo-meta")
    evo = Connection.objects.get(key="demo-evolution")
    assert (meta.app_secret, meta.verify_token, evo.api_key) == ("app-secret-x", "verify-y", "evo-key-z")
    assert meta.api_base_url == evo.api_base_url == "http://127.0.0.1:18310/fake"
    assert "demo-meta" in out and "demo-evolution" in out
    # Re-running with another password changes it (the option is authoritative), nothing else.
    before = snapshot_rows()
    seed("--password", "another-pw-1")
    assert snapshot_rows() == before
    assert User.objects.get(email="revenda@demo.local").check_password("another-pw-1")
    meta.refresh_from_db()
    assert meta.app_secret == "app-secret-x"  # given secrets persist when not given again


@pytest.mark.django_db
def test_seed_demo_registers_the_contract_template_and_quick_reply():
    from tickets.models import MessageTemplate, QuickReply

    seed()
    seed()  # idempotent
    [template] = MessageTemplate.objects.all()
    assert (template.connection.key, template.name, template.language, template.status) == (
        "demo-meta",
        "retomar_atendimento",
        "pt_BR",
        "APPROVED",
    )
    assert template.body == "Olá {{1}}, podemos continuar seu atendimento?"
    [reply] = QuickReply.objects.all()
    assert (reply.shortcut, reply.department) == ("/ola", None)
    assert reply.text == "Olá {{nome}}, sou {{agente}}. Como posso ajudar?"
