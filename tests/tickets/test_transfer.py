"""Transferir: atendendo → another agent (and department), espera → another department; 400/403/409."""

import uuid

import pytest

from accounts.models import ResellerConfig
from tests.tickets.conftest import url, user_of
from tickets import services
from tickets.models import Message, Ticket, TicketEvent, UIState


def _snapshot(ticket):
    return Ticket.objects.filter(pk=ticket.pk).values("status", "agent_id", "department_id", "updated_at").get()


def _post(client, ticket, **data):
    return client.post(url(ticket, "transferir"), data)


def test_holder_transfers_to_a_colleague_who_sees_it_in_atendendo(client, world, tenant):
    ticket = world.t["um"]
    client.force_login(world.agent1)
    response = _post(client, ticket, agent=str(world.agent2.pk))
    assert response.status_code == 303 and response["Location"] == url(ticket)
    after = Ticket.objects.get(pk=ticket.pk)
    assert after.ui_state == UIState.ATENDENDO and after.agent == world.agent2 and after.department == tenant.suporte
    event = TicketEvent.objects.get(ticket=ticket, action="transferred")
    assert event.actor == world.agent1 and event.from_state == event.to_state == UIState.ATENDENDO
    assert event.data["from_agent"] == str(world.agent1.pk) and event.data["to_agent"] == str(world.agent2.pk)
    client.force_login(world.agent2)
    queue = client.get("/tickets/?status=atendendo").content.decode()
    assert str(ticket.pk) in queue
    page = client.get(url(ticket)).content.decode()
    assert "Transferido" in page and 'class="reply-form"' in page


def test_transfer_to_an_agent_of_another_department_with_it(client, world, tenant):
    ticket = world.t["um"]
    client.force_login(world.agent1)
    response = _post(client, ticket, agent=str(world.agent3.pk), department=str(tenant.financeiro.pk))
    assert response.status_code == 303
    after = Ticket.objects.get(pk=ticket.pk)
    assert (after.agent, after.department, after.ui_state) == (world.agent3, tenant.financeiro, UIState.ATENDENDO)


def test_espera_goes_to_another_department_and_stays_in_espera(client, world, tenant):
    ticket = world.t["espera"]
    client.force_login(world.agent1)
    assert _post(client, ticket, department=str(tenant.financeiro.pk)).status_code == 303
    after = Ticket.objects.get(pk=ticket.pk)
    assert after.ui_state == UIState.ESPERA and after.department == tenant.financeiro and after.agent is None
    client.force_login(world.agent3)
    assert str(ticket.pk) in client.get("/tickets/?status=espera").content.decode()


@pytest.mark.parametrize("who", ["reseller_user", "admin_user"])
def test_a_supervisor_transfers_any_atendendo_ticket(client, world, who):
    client.force_login(user_of(world, who))
    assert _post(client, world.t["dois"], agent=str(world.agent1.pk)).status_code == 303
    assert Ticket.objects.get(pk=world.t["dois"].pk).agent == world.agent1


def test_an_agent_who_does_not_hold_it_gets_403(client, world):
    ticket = world.t["um"]
    before = _snapshot(ticket)
    client.force_login(world.agent2)
    assert _post(client, ticket, agent=str(world.agent2.pk)).status_code == 403
    assert _snapshot(ticket) == before and not TicketEvent.objects.filter(action="transferred").exists()


def _bad_targets(world, tenant):
    world.agent2.is_active = False
    world.agent2.save(update_fields=["is_active"])
    return {
        "inactive": ({"agent": str(world.agent2.pk)}, "inativo"),
        "other tenant": ({"agent": str(world.outsider.agent.pk)}, "outra revenda"),
        "outside the department": ({"agent": str(world.agent3.pk)}, "não pertence ao departamento"),
        "unknown agent": ({"agent": str(uuid.uuid4())}, "Agente desconhecido"),
        "garbage agent": ({"agent": "not-a-uuid"}, "Agente desconhecido"),
        "only a department": ({"department": str(tenant.financeiro.pk)}, "não volta para a Espera"),
        "unknown department": (
            {"agent": str(world.agent1.pk), "department": str(uuid.uuid4())},
            "Departamento desconhecido",
        ),
        "department of another tenant": (
            {"agent": str(world.agent1.pk), "department": str(world.outsider.department.pk)},
            "outra revenda",
        ),
        "nothing": ({}, "Escolha um agente ou um departamento"),
        "to the holder": ({"agent": str(world.agent1.pk)}, "já está com"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "inactive",
        "other tenant",
        "outside the department",
        "unknown agent",
        "garbage agent",
        "only a department",
        "unknown department",
        "department of another tenant",
        "nothing",
        "to the holder",
    ],
)
def test_a_bad_target_is_400_naming_it_and_changes_nothing(client, world, tenant, case):
    ticket = world.t["um"]
    data, reason = _bad_targets(world, tenant)[case]
    before = _snapshot(ticket)
    client.force_login(world.agent1)
    response = _post(client, ticket, **data)
    assert response.status_code == 400
    assert reason in response.content.decode()
    assert _snapshot(ticket) == before and not TicketEvent.objects.filter(action="transferred").exists()


def test_espera_refuses_an_agent_and_the_same_department(client, world, tenant):
    ticket = world.t["espera"]
    before = _snapshot(ticket)
    client.force_login(world.agent1)
    assert _post(client, ticket, agent=str(world.agent2.pk)).status_code == 400
    assert _post(client, ticket, department=str(tenant.suporte.pk)).status_code == 400
    assert _snapshot(ticket) == before


def test_an_agent_outside_the_espera_department_cannot_see_it(client, world, tenant):
    client.force_login(world.agent3)
    assert _post(client, world.t["espera"], department=str(tenant.financeiro.pk)).status_code == 404


def test_finalizado_cannot_be_transferred(client, world):
    client.force_login(world.agent1)
    assert _post(client, world.t["fim"], agent=str(world.agent2.pk)).status_code == 409
    assert Ticket.objects.get(pk=world.t["fim"].pk).ui_state == UIState.FINALIZADO


def test_a_ticket_that_moved_meanwhile_is_409(world, tenant, reseller_user, admin_user):
    seen = Ticket.objects.select_related("department", "agent").get(pk=world.t["um"].pk)  # both read it as it was
    services.ticket_transfer(ticket=seen, by=reseller_user, agent=str(world.agent2.pk))
    with pytest.raises(services.TicketConflict):
        services.ticket_transfer(
            ticket=seen, by=admin_user, agent=str(world.agent3.pk), department=str(tenant.financeiro.pk)
        )
    assert Ticket.objects.get(pk=seen.pk).agent == world.agent2
    assert TicketEvent.objects.filter(ticket=seen, action="transferred").count() == 1


def test_a_ticket_closed_meanwhile_is_409_through_the_view(client, world):
    ticket = world.t["um"]
    client.force_login(world.agent1)
    page = client.get(url(ticket))
    assert "transferir" in page.content.decode()
    services.ticket_close(ticket=Ticket.objects.get(pk=ticket.pk), by=world.agent1)
    assert _post(client, ticket, agent=str(world.agent2.pk)).status_code == 409


def test_a_form_from_a_page_older_than_the_ticket_is_409_and_changes_nothing(client, world, reseller_user):
    ticket = world.t["um"]
    client.force_login(reseller_user)
    html = client.get(url(ticket)).content.decode()
    seen = {"seen_agent": str(world.agent1.pk), "seen_department": str(ticket.department_id)}
    assert f'name="seen_agent" value="{seen["seen_agent"]}"' in html
    assert f'name="seen_department" value="{seen["seen_department"]}"' in html
    # Someone else transfers it after the page was drawn; the old form's post must not win too.
    services.ticket_transfer(ticket=Ticket.objects.get(pk=ticket.pk), by=world.agent1, agent=str(world.agent2.pk))
    before = _snapshot(ticket)
    assert _post(client, ticket, agent=str(world.agent3.pk), **seen).status_code == 409
    assert _snapshot(ticket) == before
    assert TicketEvent.objects.filter(ticket=ticket, action="transferred").count() == 1


def test_the_dialog_lists_departments_and_their_active_agents(client, world, tenant):
    world.agent3.is_active = False
    world.agent3.save(update_fields=["is_active"])
    client.force_login(world.agent1)
    html = client.get(url(world.t["um"])).content.decode()
    assert f'action="/tickets/{world.t["um"].pk}/transferir/"' in html
    assert 'optgroup label="Financeiro"' in html and 'optgroup label="Suporte"' in html
    assert str(world.agent2.pk) in html and str(world.agent3.pk) not in html
    client.force_login(world.agent2)  # not the holder: no dialog
    assert "transferir/" not in client.get(url(world.t["um"])).content.decode()


def test_transfer_message_to_the_client_is_off_by_default_and_queued_when_set(client, world, tenant):
    client.force_login(world.agent1)
    _post(client, world.t["um"], agent=str(world.agent2.pk))
    assert not Message.objects.filter(ticket=world.t["um"], client_nonce__startswith="auto:transfer").exists()
    ResellerConfig.objects.filter(reseller=tenant.reseller).update(
        transfer_text="Você foi transferido para o {{departamento}}"
    )
    assert _post(client, world.t["espera"], department=str(tenant.financeiro.pk)).status_code == 303
    [notice] = Message.objects.filter(ticket=world.t["espera"], client_nonce__startswith="auto:transfer")
    assert notice.text == "Você foi transferido para o Financeiro"
    assert notice.direction == "out" and notice.delivery_status == "queued"
