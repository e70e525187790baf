"""The department menu, end to end: Evolution webhook → ticket in the default department's espera → menu
through the outbox → the client's answer moves the ticket (or the menu is repeated, at most twice)."""

import itertools
from io import StringIO

import pytest
from django.core.management import call_command

from tests import factories as f
from tests.support.webhooks import evo_sample, post_evolution
from tickets import services
from tickets.models import Message, Ticket, TicketEvent, UIState
from tickets.rules.menu import DepartmentMenu, MenuOption, choice, normalize
from tickets.services.inbound import ticket_menu_after_inbound  # the door's step, not exported
from whatsapp.models import Connection

pytestmark = pytest.mark.django_db

JID = "5511988887777@s.whatsapp.net"
INTRO = "Olá! Escolha o setor:"
MENU_TEXT = f"{INTRO}\n1 - Suporte\n2 - Financeiro"
OUT_OF_HOURS = "Estamos fora do horário."
SUNDAY_EVENING = 1749416383
_ids = itertools.count(1)


@pytest.fixture
def menu_conn(evo_conn, tenant):
    evo_conn.menu_enabled = True
    evo_conn.menu_intro = INTRO
    evo_conn.menu_department_ids = [str(tenant.suporte.pk), str(tenant.financeiro.pk)]
    evo_conn.save()
    return evo_conn


def say(client, conn, text="olá", *, jid=JID, ts=1746132673, body=None, message_id=None):
    body = body or evo_sample("evolution_messages_upsert_text.json")
    body["data"]["key"]["id"] = message_id or f"3EB0MENU{next(_ids):010d}"
    body["data"]["key"]["remoteJid"] = jid
    body["data"]["messageTimestamp"] = ts
    if "conversation" in body["data"]["message"]:
        body["data"]["message"]["conversation"] = text
    body["instance"] = conn.instance_name
    response = post_evolution(client, conn, body)
    assert response.status_code == 200, response.content
    return body


def auto_texts(ticket=None):
    qs = Message.objects.filter(direction=Message.Direction.OUT, sender_agent__isnull=True)
    if ticket is not None:
        qs = qs.filter(ticket=ticket)
    return list(qs.order_by("created_at").values_list("text", flat=True))


def the_ticket():
    return Ticket.objects.select_related("department").get()


def test_a_new_ticket_waits_in_the_default_department_and_gets_the_menu_once(client, menu_conn, tenant):
    say(client, menu_conn, "oi")
    ticket = the_ticket()
    assert ticket.ui_state == UIState.ESPERA and ticket.department == tenant.suporte  # never without a department
    assert auto_texts() == [MENU_TEXT]
    menu = Message.objects.get(direction="out")
    assert menu.delivery_status == "queued" and menu.client_nonce == "auto:menu:1"
    assert TicketEvent.objects.filter(ticket=ticket, action="auto_message", data__what="menu:1").count() == 1


@pytest.mark.parametrize("answer", ["2", "02", " 2 ", "financeiro", "FINANCEIRO", "  Financeiro. "])
def test_the_answer_moves_the_ticket_to_the_chosen_department_and_confirms(client, menu_conn, tenant, answer):
    say(client, menu_conn, "oi")
    say(client, menu_conn, answer)
    ticket = the_ticket()
    assert ticket.department == tenant.financeiro and ticket.ui_state == UIState.ESPERA
    assert ticket.menu_done_at is not None
    texts = auto_texts()
    assert texts[0] == MENU_TEXT and len(texts) == 2 and "Financeiro" in texts[1]
    event = TicketEvent.objects.get(ticket=ticket, action=TicketEvent.Action.MENU_ROUTED)
    assert event.actor is None and event.data["by"] == "menu" and event.data["choice"] == 2
    assert event.data["from_department"] == str(tenant.suporte.pk)
    assert event.data["to_department"] == str(tenant.financeiro.pk)
    # Later digits are ordinary messages: no second move, no more automatic texts.
    say(client, menu_conn, "1")
    assert the_ticket().department == tenant.financeiro and len(auto_texts()) == 2


def test_accents_in_a_department_name_are_ignored(client, menu_conn, tenant):
    tech = f.make_department(tenant.reseller, "Manutenção Técnica")
    menu_conn.menu_department_ids = [*menu_conn.menu_department_ids, str(tech.pk)]
    menu_conn.save()
    say(client, menu_conn, "oi")
    assert auto_texts()[0].endswith("3 - Manutenção Técnica")
    say(client, menu_conn, "manutencao   TECNICA")
    assert the_ticket().department == tech


@pytest.mark.parametrize("answer", ["3", "0", "👍", "quero falar com alguém", "1 2", "٢"])
def test_anything_else_repeats_the_menu_at_most_twice(client, menu_conn, tenant, answer):
    say(client, menu_conn, "oi")
    for _ in range(4):
        say(client, menu_conn, answer)
    ticket = the_ticket()
    assert ticket.department == tenant.suporte and ticket.menu_done_at is None
    assert auto_texts() == [MENU_TEXT] * 3 and ticket.menu_prompts_sent == 3
    assert not TicketEvent.objects.filter(action=TicketEvent.Action.MENU_ROUTED).exists()
    # After the repeats it stays in espera of the default department; a late valid answer still routes.
    say(client, menu_conn, "2")
    assert the_ticket().department == tenant.financeiro


def test_an_audio_answer_is_not_a_choice(client, menu_conn, tenant):
    say(client, menu_conn, "oi")
    say(client, menu_conn, body=evo_sample("evolution_messages_upsert_audio_ptt.json"))
    ticket = the_ticket()
    assert ticket.department == tenant.suporte
    assert Message.objects.filter(ticket=ticket, kind="audio").count() == 1
    assert auto_texts() == [MENU_TEXT, MENU_TEXT]


def test_a_repeated_delivery_of_the_answer_is_not_a_second_answer(client, menu_conn):
    say(client, menu_conn, "oi")
    body = say(client, menu_conn, "não sei", message_id="3EB0SAMEANSWER")
    post_evolution(client, menu_conn, body)  # the gateway retries the same event
    say(client, menu_conn, "ainda não sei", message_id="3EB0SAMEANSWER")  # same id, another body
    assert auto_texts() == [MENU_TEXT, MENU_TEXT]


def test_claimed_first_then_the_answer_is_an_ordinary_message(client, menu_conn, tenant, agent1):
    say(client, menu_conn, "oi")
    services.ticket_claim(ticket=the_ticket(), agent=agent1)
    say(client, menu_conn, "2")
    ticket = the_ticket()
    assert ticket.department == tenant.suporte and ticket.agent == agent1 and ticket.menu_done_at is None
    assert auto_texts() == [MENU_TEXT]
    say(client, menu_conn, "xyz")  # no repeat either: once claimed, the menu is over
    assert auto_texts() == [MENU_TEXT]


def test_answer_first_then_a_stale_claim_by_the_old_department_loses(client, menu_conn, tenant, agent1, agent3):
    say(client, menu_conn, "oi")
    page_seen_by_agent1 = the_ticket()  # agent1 (Suporte) opened the queue before the answer
    say(client, menu_conn, "2")
    with pytest.raises(services.TicketConflict):
        services.ticket_claim(ticket=page_seen_by_agent1, agent=agent1)
    claimed = services.ticket_claim(ticket=the_ticket(), agent=agent3)
    assert claimed.agent == agent3 and claimed.department == tenant.financeiro


def test_an_answer_racing_a_claim_at_the_service_level_has_one_outcome(menu_conn, tenant, agent1):
    """The move is one conditional update: a claim that lands between reading and moving wins."""
    ticket = f.make_ticket(menu_conn)
    Ticket.objects.filter(pk=ticket.pk).update(menu_prompts_sent=1)
    stale = Ticket.objects.get(pk=ticket.pk)
    services.ticket_claim(ticket=stale, agent=agent1)
    menu = DepartmentMenu(
        INTRO, (MenuOption(1, tenant.suporte.pk, "Suporte"), MenuOption(2, tenant.financeiro.pk, "Financeiro"))
    )
    assert ticket_menu_after_inbound(ticket=stale, created=False, department_menu=menu, kind="text", text="2") == ""
    assert Ticket.objects.get(pk=ticket.pk).department == tenant.suporte


def test_no_menu_for_a_client_who_already_has_an_open_ticket(client, evo_conn, tenant):
    say(client, evo_conn, "oi")  # menu still off: an ordinary open ticket
    evo_conn.menu_enabled = True
    evo_conn.menu_department_ids = [str(tenant.suporte.pk), str(tenant.financeiro.pk)]
    evo_conn.save()
    say(client, evo_conn, "2")
    ticket = the_ticket()
    assert ticket.department == tenant.suporte and auto_texts() == [] and ticket.menu_prompts_sent == 0


def test_no_menu_when_it_is_off_or_has_no_usable_department(client, evo_conn, tenant):
    evo_conn.menu_enabled = True
    evo_conn.menu_department_ids = [str(f.make_department(f.make_reseller("alheia"), "Alheio").pk)]
    evo_conn.save()
    say(client, evo_conn, "oi")
    assert auto_texts() == []


def test_out_of_hours_text_first_and_the_menu_still_routes(client, menu_conn, tenant):
    config = tenant.reseller.config
    config.out_of_hours_text = OUT_OF_HOURS
    config.business_hours = {d: [["08:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    config.save()
    say(client, menu_conn, "oi", ts=SUNDAY_EVENING)
    assert auto_texts() == [OUT_OF_HOURS, MENU_TEXT]
    say(client, menu_conn, "financeiro", ts=SUNDAY_EVENING + 30)
    assert the_ticket().department == tenant.financeiro
    assert len(auto_texts()) == 3


def test_the_menu_is_sent_through_the_outbox(client, tenant, fake, settings):
    conn = f.make_connection(
        tenant.reseller, tenant.suporte, provider=Connection.Provider.EVOLUTION, key="menu-live", api_base_url=fake.url
    )
    conn.menu_enabled, conn.menu_intro = True, INTRO
    conn.menu_department_ids = [str(tenant.suporte.pk), str(tenant.financeiro.pk)]
    conn.save()
    say(client, conn, "oi")
    call_command("send_outbox", stdout=StringIO())
    assert fake.texts() == [MENU_TEXT]
    assert fake.calls[0].json["number"] == "5511988887777"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2", 2), ("02", 2), (" 2 ", 2), ("2.", 2), ("financeiro", 2), ("FINANCEIRO", 2), ("Suporte", 1)],
)
def test_choice_normalisation(tenant, text, expected):
    menu = DepartmentMenu(
        "", (MenuOption(1, tenant.suporte.pk, "Suporte"), MenuOption(2, tenant.financeiro.pk, "Financeiro"))
    )
    assert choice(menu, kind="text", text=text).number == expected
    assert choice(menu, kind="audio", text=text) is None
    assert normalize(" Ação  RÁPIDA ") == "acao rapida"


def test_seed_demo_department_menu_turns_it_on_for_both_connections(db):
    call_command("seed_demo", "--password", "demo12345", "--department-menu", stdout=StringIO())
    call_command("seed_demo", "--password", "demo12345", "--department-menu", stdout=StringIO())  # idempotent
    for key in ("demo-meta", "demo-evolution"):
        conn = Connection.objects.get(key=key)
        assert conn.menu_enabled
        names = [conn.reseller.departments.get(pk=pk).name for pk in conn.menu_department_ids]
        assert names == ["Suporte", "Financeiro"]
