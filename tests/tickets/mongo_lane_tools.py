"""The conversation tools on the MongoDB profile (mongomock behind the real backend).

The MongoDB lane collects only tests/mongo, so tests/mongo/test_conversation_tools.py imports this
test. Covered: transfer (and its 409), notes (never selected by the outbox), the window's 409, a
template sent through the outbox to the fake provider, quick replies, and a client's edit and delete.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests import factories as f
from tests.fake_provider import FakeProvider
from tickets import outbox, services
from tickets.models import Message, MessageTemplate, QuickReply, Ticket, TicketEvent, UIState
from tickets.reads import conversation


def test_conversation_tools_on_mongomock(mongomock_db, settings):
    settings.WHATSAPP_SEND_INLINE = False
    reseller = f.make_reseller("demo")
    suporte = f.make_department(reseller, "Suporte")
    financeiro = f.make_department(reseller, "Financeiro")
    a1 = f.make_user("a1@x.local", name="Agente 1", reseller=reseller, departments=[suporte])
    a3 = f.make_user("a3@x.local", name="Agente 3", reseller=reseller, departments=[financeiro])
    with FakeProvider() as fake:
        conn = f.make_connection(reseller, suporte, key="demo-meta", api_base_url=fake.url)
        ticket = f.make_ticket(conn, client=f.make_client(reseller, name="Carla"), agent=a1)
        seen = Ticket.objects.get(pk=ticket.pk)

        moved = services.ticket_transfer(ticket=seen, by=a1, agent=str(a3.pk), department=str(financeiro.pk))
        assert (moved.agent_id, moved.department_id, moved.ui_state) == (a3.pk, financeiro.pk, UIState.ATENDENDO)
        assert TicketEvent.objects.filter(ticket=ticket, action="transferred").count() == 1
        with pytest.raises(services.TicketConflict):
            services.ticket_transfer(ticket=seen, by=a1, agent=str(a3.pk), department=str(financeiro.pk))
        with pytest.raises(services.TransferRejected):
            services.ticket_transfer(ticket=moved, by=a3, department=str(suporte.pk))

        note = services.ticket_note_add(ticket=moved, by=a3, text="<b>nota</b>")
        assert outbox.send_pending() == {"sent": 0, "retry": 0, "failed": 0, "skipped": 0}
        assert outbox.message_deliver(note.pk) == "skipped"

        QuickReply.objects.create(reseller=reseller, shortcut="/ola", text="Olá {{nome}}, sou {{agente}}.")
        [reply] = conversation.quick_replies_for(moved, a3)
        assert reply.filled == "Olá Carla, sou Agente 3."

        Ticket.objects.filter(pk=ticket.pk).update(last_inbound_at=timezone.now() - timedelta(hours=25))
        late = Ticket.objects.select_related("connection").get(pk=ticket.pk)
        with pytest.raises(services.TicketConflict):
            services.ticket_reply(ticket=late, agent=a3, text="oi")
        assert not Message.objects.filter(direction="out").exists()
        template = MessageTemplate.objects.create(connection=conn, name="retomar", language="pt_BR", body="Olá {{1}}")
        with pytest.raises(services.ReplyRejected):
            services.ticket_template_send(ticket=late, agent=a3, template=str(template.pk), params=[])
        services.ticket_template_send(ticket=late, agent=a3, template=str(template.pk), params=["Carla"])
        assert outbox.send_pending()["sent"] == 1
        assert fake.templates()[0]["components"][0]["parameters"] == [{"type": "text", "text": "Carla"}]
        assert all("nota" not in str(c.json) for c in fake.calls)

        inbound = Message.objects.filter(ticket=ticket, direction="in").first()
        assert services.message_client_edit(
            connection=conn, provider_message_id=inbound.provider_message_id, text="novo"
        )
        assert services.message_client_delete(connection=conn, provider_message_id=inbound.provider_message_id)
        inbound.refresh_from_db()
        assert inbound.text == "novo" and inbound.previous_texts and inbound.deleted_by_client_at
