"""What a provider can do is a question to its adapter class, never a comparison with its name.

- each adapter's capabilities, as a table (set where the adapter really has them);
- a made-up third adapter, registered in ADAPTERS and nowhere else, gets the window rule, the
  templates, the health and the gap recovery through its own attributes;
- a source scan: outside providers/ (and the stored values: models, migrations, seed_demo),
  no module names a provider ("meta", "evolution", Connection.Provider.META / EVOLUTION).
"""

import ast
import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

import providers
from providers import (
    ADAPTERS,
    ConnectionStateUpdate,
    Provider,
    TemplateInfo,
    capabilities,
    get_provider,
    providers_with,
)
from providers.evolution import EvolutionProvider
from providers.meta import MetaProvider
from tests import factories as f
from tests.support import sources
from tickets import services
from tickets.models import MessageTemplate, Ticket
from tickets.reads import conversation
from tickets.rules import satisfaction, window
from whatsapp import health
from whatsapp.admin_health import RecoveryRunForm
from whatsapp.models import Connection, RecoveryRun

CAPABILITIES = (
    "service_window",
    "has_templates",
    "recovers_gaps",
    "pairs_by_qr",
    "reports_connection_state",
    "signs_webhooks",
    "credential_in_body",
    "quotes",
    "reacts",
    "records_voice_notes",
)
# What each adapter does today. Both parse inbound quotes and reactions and send both, and both send a
# voice note recorded in the browser.
TABLE = {
    "meta": dict(
        service_window=timedelta(hours=24),
        has_templates=True,
        recovers_gaps=False,
        pairs_by_qr=False,
        reports_connection_state=False,
        signs_webhooks=True,
        credential_in_body=False,
        quotes=True,
        reacts=True,
        records_voice_notes=True,
    ),
    "evolution": dict(
        service_window=None,
        has_templates=False,
        recovers_gaps=True,
        pairs_by_qr=True,
        reports_connection_state=True,
        signs_webhooks=False,
        credential_in_body=True,
        quotes=True,
        reacts=True,
        records_voice_notes=True,
    ),
}


# --- the table -----------------------------------------------------------------------------------


def test_the_capabilities_are_the_declared_attributes_of_the_base_adapter():
    assert set(providers.CAPABILITIES) == set(CAPABILITIES)
    for name in CAPABILITIES:
        assert name in vars(Provider) and not callable(vars(Provider)[name]), name


def test_every_stored_provider_value_has_an_adapter_and_every_adapter_a_value():
    assert set(ADAPTERS) == set(Connection.Provider.values) == set(TABLE)
    assert ADAPTERS == {"meta": MetaProvider, "evolution": EvolutionProvider}


@pytest.mark.parametrize("value", sorted(TABLE))
def test_the_capabilities_of_each_adapter(value):
    adapter = capabilities(value)
    assert {name: getattr(adapter, name) for name in CAPABILITIES} == TABLE[value]


def test_the_base_adapter_claims_nothing_and_an_unknown_value_gets_it():
    assert {name: getattr(Provider, name) for name in CAPABILITIES} == dict.fromkeys(CAPABILITIES, False) | {
        "service_window": None
    }
    assert capabilities("carrier-pigeon") is Provider
    assert capabilities("") is Provider


@pytest.mark.django_db
def test_capabilities_takes_a_connection_or_its_stored_value(meta_conn, evo_conn):
    assert capabilities(meta_conn) is MetaProvider
    assert capabilities(evo_conn) is EvolutionProvider
    assert capabilities(Connection.Provider.EVOLUTION) is EvolutionProvider
    assert type(get_provider(evo_conn)) is capabilities(evo_conn)


def test_providers_with_a_capability_are_the_values_to_filter_by():
    assert providers_with("service_window") == ["meta"]
    assert providers_with("has_templates") == ["meta"]
    assert providers_with("signs_webhooks") == ["meta"]
    assert providers_with("recovers_gaps") == ["evolution"]
    assert providers_with("pairs_by_qr") == ["evolution"]
    assert providers_with("reports_connection_state") == ["evolution"]
    assert providers_with("reacts") == ["evolution", "meta"]
    assert providers_with("quotes") == ["evolution", "meta"]
    for not_a_capability in ("teleports", "pair", "send_text", "__init__"):
        with pytest.raises(AttributeError):
            providers_with(not_a_capability)


# --- a third provider: one adapter class and its ADAPTERS entry, no other code change -------------


class RelayProvider(Provider):
    """A made-up provider with a 12-hour window and templates, that reports no state."""

    service_window = timedelta(hours=12)
    has_templates = True
    listing = [
        TemplateInfo(name="retomar", language="pt_BR", status="APPROVED", category="UTILITY", body="Olá {{1}}"),
        TemplateInfo(name="velho", language="pt_BR", status="REJECTED", category="UTILITY", body="x"),
    ]

    def list_templates(self):
        return list(self.listing)


class BeaconProvider(Provider):
    """A made-up provider that reports its state and recovers gaps (and has no window)."""

    reports_connection_state = True
    recovers_gaps = True


@pytest.fixture
def made_up(monkeypatch):
    monkeypatch.setitem(ADAPTERS, "relay", RelayProvider)
    monkeypatch.setitem(ADAPTERS, "beacon", BeaconProvider)


def _switch(connection: Connection, value: str) -> Connection:
    """The connection as if it had been created with the made-up provider (choices are not enforced on save)."""
    Connection.objects.filter(pk=connection.pk).update(provider=value)
    return Connection.objects.get(pk=connection.pk)


@pytest.fixture
def relay(tenant, made_up):
    connection = f.make_connection(tenant.reseller, tenant.suporte, key="relay-1", business_account_id="777")
    return _switch(connection, "relay")


@pytest.fixture
def beacon(tenant, made_up):
    return _switch(f.make_connection(tenant.reseller, tenant.suporte, key="beacon-1"), "beacon")


def _ticket(connection: Connection, *, age: timedelta, agent=None) -> Ticket:
    ticket = f.make_ticket(connection, agent=agent)
    Ticket.objects.filter(pk=ticket.pk).update(last_inbound_at=timezone.now() - age)
    return Ticket.objects.get(pk=ticket.pk)


@pytest.mark.django_db
def test_a_third_provider_is_asked_like_the_others(relay, beacon):
    assert providers_with("service_window") == ["meta", "relay"]
    assert providers_with("has_templates") == ["meta", "relay"]
    assert providers_with("recovers_gaps") == ["beacon", "evolution"]
    assert capabilities(relay) is RelayProvider
    assert window.length(relay) == timedelta(hours=12)
    assert window.lengths() == {"meta": timedelta(hours=24), "relay": timedelta(hours=12)}


@pytest.mark.django_db
def test_a_third_provider_gets_the_window_rule_from_its_adapter(relay, agent1):
    inside = _ticket(relay, age=timedelta(hours=11))
    outside = _ticket(relay, age=timedelta(hours=13))
    now = timezone.now()

    assert window.has_window(inside)
    assert window.closes_at(inside) == inside.last_inbound_at + timedelta(hours=12)
    assert window.is_open(inside) and not window.is_open(outside)
    assert conversation.window_info(outside).applies and not conversation.window_info(outside).open
    # The rating survey asks the same rule.
    assert satisfaction.inside_provider_window(inside, relay, now=now)
    assert not satisfaction.inside_provider_window(outside, relay, now=now)
    # Free text outside the window is refused, naming why; a template is what remains.
    services.window_require_open(inside)
    with pytest.raises(services.TicketConflict):
        services.window_require_open(outside)
    # The queue's "closing soon" mark, by the provider's own length (11.5 h of 12: soon; of 24: not).
    soon = _ticket(relay, age=timedelta(hours=11, minutes=30), agent=agent1)
    gone = _ticket(relay, age=timedelta(hours=23, minutes=30), agent=agent1)
    assert conversation.closing_soon_ids([soon, gone, inside]) == {soon.pk}


@pytest.mark.django_db
def test_a_provider_without_a_window_has_none(beacon):
    ticket = _ticket(beacon, age=timedelta(days=3))
    assert not window.has_window(ticket)
    assert window.closes_at(ticket) is None and window.is_open(ticket)
    assert satisfaction.inside_provider_window(ticket, beacon, now=timezone.now())


@pytest.mark.django_db
def test_a_third_provider_with_templates_is_synced(relay, evo_conn):
    out = StringIO()
    call_command("sync_templates", stdout=out, stderr=StringIO())
    assert "relay-1: added=1 changed=0 kept=0 inactive=0" in out.getvalue()
    assert "demo-evolution" not in out.getvalue()
    out = StringIO()
    call_command("sync_templates", "--connection", "relay-1", stdout=out, stderr=StringIO())
    assert out.getvalue() == "relay-1: added=0 changed=0 kept=1 inactive=0\n"
    assert list(MessageTemplate.objects.filter(connection=relay).values_list("name", "status")) == [
        ("retomar", "APPROVED")
    ]


@pytest.mark.django_db
def test_a_third_provider_that_reports_its_state_is_judged_by_it_and_recovered(beacon, relay):
    Connection.objects.filter(pk__in=[relay.pk, beacon.pk]).update(last_webhook_at=timezone.now())
    relay.refresh_from_db()
    beacon.refresh_from_db()
    assert health.connection_health(relay).level == "ok"  # judged by webhook silence: receiving
    assert health.connection_health(beacon).level == "unknown"  # judged by its state: none reported yet
    earlier = timezone.now() - timedelta(minutes=5)
    closed = health.connection_state_apply(
        connection=beacon, update=ConnectionStateUpdate(state="close", timestamp=earlier)
    )
    assert closed == ["state_stored"]
    beacon.refresh_from_db()
    assert health.connection_health(beacon).level == "down"
    opened = health.connection_state_apply(
        connection=beacon, update=ConnectionStateUpdate(state="open", timestamp=timezone.now())
    )
    assert opened == ["state_stored", "recovery_requested"]
    assert RecoveryRun.objects.filter(connection=beacon, trigger=RecoveryRun.Trigger.RECONNECT).count() == 1
    # The admin's recovery form takes it, and refuses the provider that cannot recover.
    since = timezone.now() - timedelta(hours=1)
    assert RecoveryRunForm(data={"connection": beacon.pk, "since": since}).is_valid()
    refused = RecoveryRunForm(data={"connection": relay.pk, "since": since})
    assert not refused.is_valid() and "connection" in refused.errors


@pytest.mark.django_db
def test_the_connection_page_offers_qr_pairing_only_for_an_adapter_that_pairs_by_qr(
    client, admin_user, meta_conn, evo_conn
):
    client.force_login(admin_user)
    pages = {
        c.key: client.get(reverse("admin:whatsapp_connection_change", args=[c.pk])).content.decode()
        for c in (meta_conn, evo_conn)
    }
    assert 'id="pair-link"' in pages["demo-evolution"]
    assert 'id="pair-link"' not in pages["demo-meta"]


# --- nothing outside the adapters names a provider ------------------------------------------------

ROOT = sources.ROOT
# Where naming a provider is the point: path (a file, or a folder ending in "/") -> why.
ALLOWED = {
    "providers/": "the adapters themselves, and ADAPTERS: the one place a stored value meets its class",
    "whatsapp/models.py": "Connection.Provider: the stored values (choices)",
    "ops/management/commands/seed_demo.py": "creates the demo's Meta and Evolution connections: stored values",
}
PROVIDER_NAMES = {"meta", "evolution"}
PROVIDER_MEMBERS = {"META", "EVOLUTION"}
# A template comparing a connection's provider with a name: `provider == "evolution"`, `"meta" != x.provider`.
TEMPLATE_RULE = re.compile(
    r"""provider\s*(==|!=)\s*["'](meta|evolution)["']|["'](meta|evolution)["']\s*(==|!=)\s*[\w.]*provider\b"""
)


def _allowed(relative: str) -> bool:
    return any(relative == path or (path.endswith("/") and relative.startswith(path)) for path in ALLOWED)


def _project_files(suffix: str):
    return sources.project_files(suffix)


def provider_names(source: str) -> list[tuple[int, str]]:
    """(line, what) for every provider named in Python code: a "meta"/"evolution" string constant
    (compared, filtered by, put in a set of "window providers" or a module constant alike) or a
    `…Provider.META` / `…Provider.EVOLUTION` member."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in PROVIDER_NAMES:
            found.append((node.lineno, repr(node.value)))
        elif (
            isinstance(node, ast.Attribute)
            and node.attr in PROVIDER_MEMBERS
            and ast.unparse(node.value).split(".")[-1] == "Provider"
        ):
            found.append((node.lineno, ast.unparse(node)))
    return found


@pytest.mark.parametrize(
    "source, names",
    [
        ('if connection.provider == "meta":\n    pass', [(1, "'meta'")]),
        ("x = c.provider != Connection.Provider.EVOLUTION", [(1, "Connection.Provider.EVOLUTION")]),
        ('WINDOW_PROVIDERS = frozenset({"meta"})', [(1, "'meta'")]),
        ("qs.filter(connection__provider=window.META)", []),  # a module constant: caught where it is set
        ('META = "meta"', [(1, "'meta'")]),
        ('qs.filter(provider__in=providers_with("recovers_gaps"))', []),
        ('"""Meta and Evolution: a docstring."""\nevent = f"evolution:{name}"', []),
    ],
)
def test_the_scan_finds_a_provider_named_in_code(source, names):
    assert provider_names(source) == names


def test_no_module_outside_the_adapters_names_a_provider():
    findings = []
    for relative, path in _project_files(".py"):
        if not _allowed(relative):
            findings += [f"{relative}:{line}: {what}" for line, what in provider_names(path.read_text())]
    for relative, path in _project_files(".html"):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if TEMPLATE_RULE.search(line):
                findings.append(f"{relative}:{number}: {line.strip()}")
    assert findings == [], (
        "ask the adapter (providers.capabilities / providers_with) instead of naming a provider:\n"
        + "\n".join(findings)
    )


def test_every_allowed_path_still_exists_and_names_a_provider():
    for path in ALLOWED:
        target = ROOT / path
        assert target.exists(), path
        files = sorted(target.rglob("*.py")) if path.endswith("/") else [target]
        assert any(provider_names(p.read_text()) for p in files), f"{path} no longer needs its exemption"
