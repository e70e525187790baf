"""Agendamentos: a text or template scheduled for a contact (POST /contatos/<uuid>/agendar/), the list
(GET /agendamentos/), cancelling, and the worker's pass that sends each one once at its time."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from iaze.lib import clock
from tests import factories as f
from tickets import outbox, services
from tickets.models import Message, ScheduledMessage, Ticket, UIState
from tickets.scheduled import scheduled_pass


def schedule(user, contact, connection, *, at=None, **content):
    return services.schedule_create(
        user=user,
        client=contact,
        connection=str(connection.pk),
        department=str(connection.default_department_id),
        send_at=at or clock.now() + timedelta(hours=1),
        **({"text": "Lembrete do boleto"} | content),
    )


def run_at(job):
    """The worker's pass at the job's send time, then the outbox (as `send_outbox` does)."""
    counts = scheduled_pass(now=job.send_at)
    outbox.send_pending()
    job.refresh_from_db()
    return counts


def test_scheduling_from_the_form_lists_it_with_a_cancel_form(client, live_evo, contact, agent1, tenant):
    client.force_login(agent1)
    response = client.post(
        f"/contatos/{contact.pk}/agendar/",
        {
            "connection": str(live_evo.pk),
            "department": str(tenant.suporte.pk),
            "send_at": "2099-03-10T14:30",
            "text": "Seu boleto vence amanhã",
            "nonce": "s1",
        },
    )
    assert response.status_code == 303 and response["Location"] == "/agendamentos/"
    job = ScheduledMessage.objects.get()
    # Without an offset, the tenant's local time (America/Sao_Paulo: UTC-3).
    assert job.send_at == datetime(2099, 3, 10, 17, 30, tzinfo=UTC) and job.not_before == job.send_at
    assert (job.state, job.created_by, job.client, job.text) == ("agendada", agent1, contact, "Seu boleto vence amanhã")
    # A double click schedules once.
    client.post(
        f"/contatos/{contact.pk}/agendar/",
        {
            "connection": str(live_evo.pk),
            "send_at": "2099-03-10T14:30",
            "text": "Seu boleto vence amanhã",
            "nonce": "s1",
        },
    )
    assert ScheduledMessage.objects.count() == 1
    page = client.get("/agendamentos/").content.decode()
    assert "Carla Mendes" in page and "Seu boleto vence amanhã" in page and "Agendada" in page
    assert "10/03/2099 14:30" in page
    assert f'action="/agendamentos/{job.pk}/cancelar/"' in page


def test_an_offset_is_kept_and_a_past_time_is_400(client, live_evo, contact, agent1):
    client.force_login(agent1)
    ok = client.post(f"/contatos/{contact.pk}/agendar/", {"send_at": "2099-03-10T14:30:00+00:00", "text": "x"})
    assert ok.status_code == 303
    assert ScheduledMessage.objects.get().send_at == datetime(2099, 3, 10, 14, 30, tzinfo=UTC)
    for past in ((clock.now() - timedelta(minutes=1)).isoformat(), "2020-01-01T10:00", "amanhã", ""):
        response = client.post(f"/contatos/{contact.pk}/agendar/", {"send_at": past, "text": "x"})
        assert response.status_code == 400, past
    assert ScheduledMessage.objects.count() == 1


def test_it_is_sent_once_at_its_time_into_a_new_ticket_held_by_the_agent(client, live_evo, contact, agent1, fake):
    job = schedule(agent1, contact, live_evo)
    assert scheduled_pass(now=job.send_at - timedelta(milliseconds=1))["sent"] == 0
    call_command("send_outbox", stdout=StringIO())  # the one pass never sends it early either
    assert fake.calls == [] and Ticket.objects.filter(client=contact).count() == 0

    assert run_at(job)["sent"] == 1
    ticket = Ticket.objects.get(client=contact)
    assert (ticket.ui_state, ticket.agent, ticket.department.name) == (UIState.ATENDENDO, agent1, "Suporte")
    assert (job.state, job.ticket, job.message.ticket) == ("enviada", ticket, ticket)
    assert fake.texts() == ["Lembrete do boleto"] and job.message.delivery_status == "sent"
    # Again and again: nothing more.
    assert scheduled_pass(now=job.send_at + timedelta(hours=1))["sent"] == 0
    call_command("send_outbox", stdout=StringIO())
    assert len(fake.calls) == 1 and Message.objects.count() == 1
    client.force_login(agent1)
    page = client.get("/agendamentos/").content.decode()
    assert "Enviada" in page and f'href="/tickets/{ticket.pk}/"' in page


def test_the_one_pass_command_sends_a_due_one(live_evo, contact, agent1, fake):
    job = schedule(agent1, contact, live_evo)
    ScheduledMessage.objects.filter(pk=job.pk).update(not_before=clock.now() - timedelta(seconds=1))
    out = StringIO()
    call_command("send_outbox", stdout=out)
    assert "scheduled: sent=1" in out.getvalue() and fake.texts() == ["Lembrete do boleto"]


def test_the_contact_wrote_meanwhile_espera_ticket_fails_with_the_reason(client, live_evo, contact, agent1, fake):
    job = schedule(agent1, contact, live_evo)
    waiting = f.make_ticket(live_evo, client=contact, text="Oi, alguém aí?")
    assert run_at(job)["failed"] == 1
    assert job.state == "falhou" and "em espera" in job.reason and job.message is None
    assert Message.objects.filter(ticket=waiting, direction="out").count() == 0 and fake.calls == []
    assert Ticket.objects.get(pk=waiting.pk).ui_state == UIState.ESPERA
    client.force_login(agent1)
    page = client.get("/agendamentos/").content.decode()
    assert "Falhou" in page and job.reason in page


def test_the_agents_own_open_ticket_gets_it(live_evo, contact, agent1, fake):
    job = schedule(agent1, contact, live_evo)
    held = f.make_ticket(live_evo, client=contact, agent=agent1)
    assert run_at(job)["sent"] == 1
    assert job.ticket == held and Ticket.objects.filter(client=contact).count() == 1
    assert fake.texts() == ["Lembrete do boleto"]


def test_someone_elses_open_ticket_fails_naming_them(live_evo, contact, agent1, agent2, fake):
    job = schedule(agent1, contact, live_evo)
    f.make_ticket(live_evo, client=contact, agent=agent2)
    assert run_at(job)["failed"] == 1
    assert job.state == "falhou" and "Agente 2" in job.reason and fake.calls == []


def test_meta_text_outside_the_window_fails_and_a_template_is_sent(live_meta, template, contact, agent1, fake):
    text_job = schedule(agent1, contact, live_meta)
    template_job = schedule(agent1, contact, live_meta, text="", template=str(template.pk), params=["Carla"])
    assert run_at(text_job)["failed"] == 1
    assert text_job.state == "falhou" and "modelo aprovado" in text_job.reason
    run_at(template_job)
    assert template_job.state == "enviada" and fake.templates()[0]["name"] == "retomar_atendimento"
    assert len(fake.calls) == 1


def test_a_deactivated_agent_fails(live_evo, contact, agent1, fake):
    job = schedule(agent1, contact, live_evo)
    type(agent1).objects.filter(pk=agent1.pk).update(is_active=False)
    assert run_at(job)["failed"] == 1
    assert "desativado" in job.reason and not Ticket.objects.filter(client=contact).exists() and fake.calls == []


def test_cancel_until_sent_then_409(client, live_evo, contact, agent1, agent2, reseller_user, fake):
    job = schedule(agent1, contact, live_evo)
    client.force_login(agent2)  # another agent: not theirs to see
    assert client.post(f"/agendamentos/{job.pk}/cancelar/").status_code == 404
    assert client.get(f"/agendamentos/{job.pk}/cancelar/").status_code == 405
    client.force_login(agent1)
    response = client.post(f"/agendamentos/{job.pk}/cancelar/")
    assert response.status_code == 303
    job.refresh_from_db()
    assert job.state == "cancelada" and job.cancelled_by == agent1
    assert client.post(f"/agendamentos/{job.pk}/cancelar/").status_code == 303  # a second click changes nothing
    assert run_at(job)["sent"] == 0 and fake.calls == []

    sent = schedule(agent1, contact, live_evo)
    run_at(sent)
    assert sent.state == "enviada"
    response = client.post(f"/agendamentos/{sent.pk}/cancelar/")
    assert response.status_code == 409 and "já foi enviada" in response.content.decode()
    sent.refresh_from_db()
    assert sent.state == "enviada"
    # A supervisor sees and cancels the tenant's.
    other = schedule(agent1, contact, live_evo)
    client.force_login(reseller_user)
    assert "Agente 1" in client.get("/agendamentos/").content.decode()
    assert client.post(f"/agendamentos/{other.pk}/cancelar/").status_code == 303


def test_the_list_shows_only_the_users_own_and_a_supervisor_the_tenants(
    client, live_evo, contact, agent1, agent2, reseller_user, outsider
):
    mine = schedule(agent1, contact, live_evo, text="do agente 1")
    schedule(agent2, contact, live_evo, text="do agente 2")
    foreign = f.make_client(outsider.reseller, name="De Fora")
    services.schedule_create(
        user=outsider.agent, client=foreign, send_at=clock.now() + timedelta(hours=1), text="de outra revenda"
    )
    client.force_login(agent1)
    page = client.get("/agendamentos/").content.decode()
    assert "do agente 1" in page and "do agente 2" not in page and "de outra revenda" not in page
    client.force_login(reseller_user)
    page = client.get("/agendamentos/").content.decode()
    assert "do agente 1" in page and "do agente 2" in page and "de outra revenda" not in page
    client.force_login(outsider.reseller_user)
    assert client.post(f"/agendamentos/{mine.pk}/cancelar/").status_code == 404


def test_the_list_costs_the_same_queries_for_3_or_30_rows(
    client, live_evo, live_meta, template, agent1, agent2, reseller_user, tenant, fake
):
    """No N+1: texts and templates, of two agents and many contacts, waiting, sent (with their ticket's link)
    and cancelled, listed as an agent and as a supervisor (the author's column) in the same number of queries."""
    made = iter(range(1000))

    def add(n):
        for _ in range(n):
            i = next(made)
            contact = f.make_client(tenant.reseller, name=f"Contato {i}", wa_id=f"55119{i:08d}")
            author = (agent1, agent2)[i % 2]
            if i % 3 == 0:
                schedule(author, contact, live_meta, text="", template=str(template.pk), params=[f"C{i}"])
            else:
                job = schedule(author, contact, live_evo, text=f"lembrete {i}")
                if i % 3 == 1:
                    run_at(job)
                else:
                    services.schedule_cancel(user=author, scheduled=job)

    def counts():
        out = {}
        for who in (agent1, reseller_user):
            client.force_login(who)
            with CaptureQueriesContext(connection) as ctx:
                page = client.get("/agendamentos/").content.decode()
            out[who.email] = (len(ctx.captured_queries), page.count("<tr data-scheduled="))
        return out

    add(3)
    few = counts()
    add(27)
    many = counts()
    assert {k: q for k, (q, _rows) in many.items()} == {k: q for k, (q, _rows) in few.items()}
    assert few[reseller_user.email][1] == 3 and many[reseller_user.email][1] == 30
    assert {"enviada", "cancelada"} <= set(ScheduledMessage.objects.values_list("state", flat=True))
    assert ScheduledMessage.objects.filter(template__isnull=False).count() == 10


class Crash(BaseException):
    """A worker dying mid-attempt (not an error the attempt would catch)."""


def test_a_worker_that_dies_after_queueing_leaves_one_message_the_next_attempt_finds(
    monkeypatch, live_evo, contact, agent1, fake
):
    from tickets.queues import SCHEDULED
    from tickets.services import outreach

    job = schedule(agent1, contact, live_evo)
    real = outreach._scheduled_deliver

    def deliver_then_die(j):
        real(j)
        raise Crash

    monkeypatch.setattr(outreach, "_scheduled_deliver", deliver_then_die)
    with pytest.raises(Crash):
        services.scheduled_send(job.pk, now=job.send_at)
    job.refresh_from_db()
    assert job.state == "enviando" and Message.objects.count() == 1
    monkeypatch.setattr(outreach, "_scheduled_deliver", real)
    with pytest.raises(services.ScheduleConflict):
        services.schedule_cancel(user=agent1, scheduled=job)
    # Its lease runs out; the next worker's attempt finds the message queued and records it.
    later = job.send_at + SCHEDULED.lease_length() + timedelta(seconds=1)
    assert scheduled_pass(now=later)["sent"] == 1
    outbox.send_pending()
    job.refresh_from_db()
    assert job.state == "enviada" and job.attempts == 2
    assert Message.objects.count() == 1 and Ticket.objects.filter(client=contact).count() == 1
    assert fake.texts() == ["Lembrete do boleto"]


def test_an_unexpected_error_is_retried_then_marked_failed(monkeypatch, live_evo, contact, agent1):
    from tickets.queues import SCHEDULED_MAX_ATTEMPTS
    from tickets.services import outreach

    job = schedule(agent1, contact, live_evo)

    def broken(_job):
        raise RuntimeError("banco fora do ar")

    monkeypatch.setattr(outreach, "_scheduled_deliver", broken)
    now = job.send_at
    outcomes = []
    for _ in range(SCHEDULED_MAX_ATTEMPTS):
        outcomes.append(services.scheduled_send(job.pk, now=now))
        now += timedelta(minutes=2)
    job.refresh_from_db()
    assert outcomes[:-1] == ["retry"] * (len(outcomes) - 1) and outcomes[-1] == "failed"
    assert job.state == "falhou" and "RuntimeError" in job.reason
