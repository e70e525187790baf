"""The one door for "a client sent a message": whatsapp.inbound makes one call per message into
tickets.services (`message_receive`), and the door keeps the ticket domain's order: a repeat is only
completed, a business echo opens nothing, a rating answer comes before anything, reactions and edits
stay on their target's ticket, then greeting, out-of-hours text and menu."""

import ast
import inspect
import itertools
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.utils import timezone

from accounts.models import Client
from providers.types import InboundMessage, Sender
from tests.support.webhooks import meta_text, post_meta
from tickets import services
from tickets.models import Message, Ticket
from tickets.rules.menu import DepartmentMenu, MenuOption

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
WA = "5511977776666"
GREETING = "Olá! Já vamos atender."
OUT_OF_HOURS = "Estamos fora do horário."
INTRO = "Escolha o setor:"
# Sunday 2025-06-08 17:59:43 in São Paulo: out of weekday business hours.
SUNDAY_EVENING = datetime.fromtimestamp(1749416383, tz=UTC)
WEEKDAYS_8_TO_18 = {day: [["08:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


# --- the channel: one call per message, no reads of the ticket domain's rows --------------------------


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


def _aliases(tree: ast.Module, module: str) -> set[str]:
    """The names a module is bound to: `from tickets import services as x`, `import tickets.services as x`."""
    package, _, name = module.rpartition(".")
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == package:
            found |= {a.asname or a.name for a in node.names if a.name == name}
        elif isinstance(node, ast.Import):
            found |= {a.asname for a in node.names if a.name == module and a.asname}
    return found


def _calls_on(node: ast.AST, names: set[str]) -> list[str]:
    """`x.f(...)` calls on any of these names, in source order."""
    return [
        call.func.attr
        for call in ast.walk(node)
        if isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and isinstance(call.func.value, ast.Name)
        and call.func.value.id in names
    ]


def test_message_ingest_makes_exactly_one_call_into_tickets_services():
    tree = _tree(ROOT / "whatsapp" / "inbound.py")
    services_names = _aliases(tree, "tickets.services")
    assert services_names, "whatsapp/inbound.py reaches tickets.services through the package"
    assert not any(
        isinstance(n, ast.ImportFrom) and n.module and n.module.startswith("tickets.services") for n in ast.walk(tree)
    ), "no service is imported by name: every call is visible as services.<name>"
    [ingest] = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "message_ingest"]
    assert _calls_on(ingest, services_names) == ["message_receive"]
    # Nor anything else of the ticket domain (tickets.media.store, tickets.outbox…) for a message.
    from_tickets = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module == "tickets"]
    tickets_names = {a.asname or a.name for n in from_tickets for a in n.names}
    assert _calls_on(ingest, tickets_names) == ["message_receive"]
    # The rest of the module: a client's edit or delete of a message (a MessageChange), nothing else.
    elsewhere = [
        name
        for fn in tree.body
        if isinstance(fn, ast.FunctionDef) and fn.name != "message_ingest"
        for name in _calls_on(fn, services_names)
    ]
    assert set(elsewhere) <= {"message_client_edit", "message_client_delete"}


def test_the_channel_reads_no_message_ticket_or_client_rows():
    tree = _tree(ROOT / "whatsapp" / "inbound.py")
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not imported & {"tickets.models", "accounts.models", "accounts.services"}
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    assert not used & {"Message", "Ticket", "Client", "client_upsert"}


def test_no_other_channel_module_writes_a_clients_message_around_the_door():
    steps = {"inbound_route", "message_store", "rating_answer_ingest", "ticket_after_inbound"}
    for path in (ROOT / "whatsapp").rglob("*.py"):
        if "migrations" in path.parts or "providers" in path.parts:
            continue
        tree = _tree(path)
        names = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
        names |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        assert not names & steps, f"{path.relative_to(ROOT)} calls a step of the door directly"


def test_the_doors_own_steps_are_not_exported():
    for private in ("message_settle", "ticket_after_inbound", "ticket_menu_after_inbound", "rating_answer_ingest"):
        assert not hasattr(services, private) and private not in services.__all__
    assert "message_receive" in services.__all__
    params = inspect.signature(services.message_receive).parameters
    assert all(p.kind is p.KEYWORD_ONLY for p in params.values())


def test_each_message_of_a_body_is_one_call_through_the_door(client, meta_conn, monkeypatch):
    real, calls = services.message_receive, []

    def counted(**kwargs):
        calls.append(kwargs["message"].provider_message_id)
        return real(**kwargs)

    monkeypatch.setattr(services, "message_receive", counted)
    body = meta_text(meta_conn, wa_id="5511900000001", message_id="wamid.d1")
    for wa_id, mid in (("5511900000002", "wamid.d2"), ("5511900000001", "wamid.d3")):
        body["entry"][0]["changes"].append(meta_text(meta_conn, wa_id=wa_id, message_id=mid)["entry"][0]["changes"][0])
    assert post_meta(client, meta_conn, body).status_code == 200
    assert calls == ["wamid.d1", "wamid.d2", "wamid.d3"]
    assert Message.objects.count() == 3 and Ticket.objects.count() == 2


# --- the door's order ----------------------------------------------------------------------------------

_seq = itertools.count(1)


def receive(conn, text="oi", *, wa_id=WA, name="Maria", at=None, from_business=False, menu=None, **fields):
    fields.setdefault("provider_message_id", f"wamid.door{next(_seq)}")
    message = InboundMessage(text=text, timestamp=at or timezone.now(), **fields)
    return services.message_receive(
        connection=conn,
        sender=Sender(wa_id=wa_id, name=name, phone=wa_id),
        message=message,
        from_business=from_business,
        department_menu=menu,
    )


def configure(tenant, **fields):
    config = tenant.reseller.config
    for name, value in fields.items():
        setattr(config, name, value)
    config.save()


def auto_texts(ticket=None):
    qs = Message.objects.filter(direction=Message.Direction.OUT, sender_agent__isnull=True)
    if ticket is not None:
        qs = qs.filter(ticket=ticket)
    return list(qs.order_by("created_at").values_list("text", flat=True))


def closed(conn, agent, first_id="wamid.first"):
    assert receive(conn, "preciso de ajuda", provider_message_id=first_id) == "stored"
    ticket = Ticket.objects.get(connection=conn, status=Ticket.Status.OPEN)
    ticket = services.ticket_claim(ticket=ticket, agent=agent)
    services.ticket_close(ticket=ticket, by=agent)
    return Ticket.objects.get(pk=ticket.pk)


@pytest.fixture
def menu(tenant):
    options = (MenuOption(1, tenant.suporte.pk, "Suporte"), MenuOption(2, tenant.financeiro.pk, "Financeiro"))
    return DepartmentMenu(INTRO, options)


def test_a_rating_answer_comes_before_routing_greeting_and_menu(evo_conn, tenant, agent1, menu):
    configure(tenant, satisfaction_enabled=True)
    ticket = closed(evo_conn, agent1)
    assert ticket.rating_asked_at is not None
    configure(tenant, greeting_text=GREETING)
    before = auto_texts()
    assert receive(evo_conn, "5", menu=menu) == "rated"
    ticket.refresh_from_db()
    assert ticket.rating == 5 and Ticket.objects.count() == 1
    assert ticket.messages.filter(direction=Message.Direction.IN, text="5").exists()
    new_texts = auto_texts()[len(before) :]
    assert GREETING not in new_texts and not any(INTRO in t for t in new_texts)  # only the thanks


def test_a_reaction_stays_on_its_finished_ticket(evo_conn, tenant, agent1, menu):
    configure(tenant, greeting_text=GREETING)
    ticket = closed(evo_conn, agent1, first_id="wamid.target")
    outcome = receive(evo_conn, "👍", kind=Message.Kind.REACTION, reply_to_provider_id="wamid.target", menu=menu)
    assert outcome == "stored"
    reaction = Message.objects.get(kind=Message.Kind.REACTION)
    assert reaction.ticket_id == ticket.pk and Ticket.objects.count() == 1
    assert Ticket.objects.get(pk=ticket.pk).status == Ticket.Status.CLOSED


def test_an_edit_stays_on_its_finished_ticket_before_any_rating(evo_conn, tenant, agent1):
    configure(tenant, satisfaction_enabled=True)
    ticket = closed(evo_conn, agent1, first_id="wamid.edited")
    outcome = receive(evo_conn, "5", media={"edit": True}, reply_to_provider_id="wamid.edited")
    assert outcome == "stored"  # an edit that reads like a score is still an edit, not an answer
    ticket.refresh_from_db()
    assert ticket.rating is None and Ticket.objects.count() == 1
    edited = Message.objects.get(provider_message_id="wamid.edited")
    assert edited.text == "5" and edited.previous_texts == ["preciso de ajuda"]


def test_a_business_echo_makes_no_client_and_opens_no_ticket(evo_conn, tenant):
    configure(tenant, greeting_text=GREETING)
    assert receive(evo_conn, "Olá, aqui é a loja", from_business=True) == "ignored:from_me_without_ticket"
    assert not Client.objects.exists() and not Ticket.objects.exists() and not Message.objects.exists()
    # With the client's ticket open, the echo is kept on it as sent, and sets nothing off.
    assert receive(evo_conn, "oi") == "stored"
    texts = auto_texts()
    assert receive(evo_conn, "já respondo", from_business=True, provider_message_id="wamid.echo") == "stored"
    echo = Message.objects.get(provider_message_id="wamid.echo")
    assert echo.direction == Message.Direction.OUT and echo.from_business_phone
    assert echo.delivery_status == Message.Delivery.SENT
    assert Ticket.objects.count() == 1 and [t for t in auto_texts() if t != "já respondo"] == texts


def test_greeting_then_out_of_hours_text_then_menu(evo_conn, tenant, menu):
    configure(tenant, greeting_text=GREETING, out_of_hours_text=OUT_OF_HOURS, business_hours=WEEKDAYS_8_TO_18)
    assert receive(evo_conn, "oi", at=SUNDAY_EVENING, menu=menu) == "stored"
    assert auto_texts() == [GREETING, OUT_OF_HOURS, f"{INTRO}\n1 - Suporte\n2 - Financeiro"]
    assert Ticket.objects.get().department == tenant.suporte
    # The answer to the menu goes through the same door.
    assert receive(evo_conn, "2", at=SUNDAY_EVENING, menu=menu) == "stored"
    assert Ticket.objects.get().department == tenant.financeiro


def test_a_repeat_is_only_completed_never_routed_nor_its_client_refreshed(evo_conn, tenant, agent1):
    configure(tenant, greeting_text=GREETING)
    assert receive(evo_conn, "oi", name="Maria", provider_message_id="wamid.once") == "stored"
    ticket = Ticket.objects.get()
    services.ticket_close(ticket=services.ticket_claim(ticket=ticket, agent=agent1), by=agent1)
    texts = auto_texts()
    again = receive(evo_conn, "oi", name="Maria (old name)", provider_message_id="wamid.once")
    assert again == "duplicate"
    assert Ticket.objects.count() == 1 and Message.objects.filter(provider_message_id="wamid.once").count() == 1
    assert Client.objects.get().name == "Maria" and auto_texts() == texts
