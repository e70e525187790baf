"""Two tenants with one row of every model each, built through the real services and journal."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from accounts import tokens
from accounts.models import ContactField, Tag
from iaze.lib import clock
from tests import factories as f
from tickets.models import Message, MessageTemplate, QuickReply, TicketEvent
from webhooks import services as webhooks
from webhooks.models import WebhookDelivery
from webhooks.recorder import record_pass
from whatsapp import journal
from whatsapp.models import RecoveryRun


@dataclass
class Side:
    """One row of every admin-registered model, all of one tenant."""

    reseller: object
    department: object
    user: object
    client: object
    connection: object
    ticket: object
    message: object
    ticket_event: object
    webhook_event: object
    quick_reply: object
    message_template: object
    recovery_run: object
    tag: object
    contact_field: object
    api_token: object
    webhook: object
    webhook_delivery: object

    def rows(self) -> dict:
        return {
            "accounts.reseller": self.reseller,
            "accounts.department": self.department,
            "accounts.user": self.user,
            "accounts.client": self.client,
            "whatsapp.connection": self.connection,
            "tickets.ticket": self.ticket,
            "tickets.message": self.message,
            "tickets.ticketevent": self.ticket_event,
            "whatsapp.webhookevent": self.webhook_event,
            "tickets.quickreply": self.quick_reply,
            "tickets.messagetemplate": self.message_template,
            "whatsapp.recoveryrun": self.recovery_run,
            "accounts.tag": self.tag,
            "accounts.contactfield": self.contact_field,
            "accounts.apitoken": self.api_token,
            "webhooks.webhook": self.webhook,
            "webhooks.webhookdelivery": self.webhook_delivery,
        }


def build_side(*, reseller, department, user, connection, client_name, wa_id) -> Side:
    client = f.make_client(reseller, wa_id=wa_id, name=client_name)
    hook, _secret = webhooks.webhook_create(
        reseller=reseller, url=f"https://hooks.example.com/{wa_id}", events=["ticket.created"]
    )
    ticket = f.make_ticket(connection, client=client, text=f"mensagem de {client_name}")
    event, _ = journal.webhook_event_store(
        connection=connection, raw_body=f'{{"from": "{wa_id}"}}'.encode(), event_type="test"
    )
    return Side(
        reseller=reseller,
        department=department,
        user=user,
        client=client,
        connection=connection,
        ticket=ticket,
        message=Message.objects.get(ticket=ticket),
        ticket_event=TicketEvent.objects.get(ticket=ticket, action=TicketEvent.Action.CREATED),
        webhook_event=event,
        quick_reply=QuickReply.objects.create(reseller=reseller, shortcut=f"/ola-{wa_id}", text="Olá {{nome}}"),
        message_template=MessageTemplate.objects.create(
            connection=connection, name=f"retomar_{wa_id}", language="pt_BR", body="Olá {{1}}"
        ),
        recovery_run=RecoveryRun.objects.create(connection=connection, trigger="manual", since=clock.now()),
        tag=Tag.objects.create(reseller=reseller, name=f"VIP {wa_id}"),
        contact_field=ContactField.objects.create(reseller=reseller, key=f"plano_{wa_id}", label=f"Plano {wa_id}"),
        api_token=tokens.token_create(user=user, name=f"token {wa_id}")[0],
        webhook=hook,
        webhook_delivery=_recorded(hook),
    )


def _recorded(hook):
    record_pass()
    return WebhookDelivery.objects.get(webhook=hook)


@dataclass
class World:
    demo: Side
    outra: Side
    users: dict


@pytest.fixture
def world(tenant, meta_conn, agent1, agent2, agent3, reseller_user, admin_user, outsider) -> World:
    demo = build_side(
        reseller=tenant.reseller,
        department=tenant.suporte,
        user=agent1,
        connection=meta_conn,
        client_name="Cliente Demo",
        wa_id="5511911110001",
    )
    outra = build_side(
        reseller=outsider.reseller,
        department=outsider.department,
        user=outsider.agent,
        connection=outsider.connection,
        client_name="Cliente Outra",
        wa_id="5511922220002",
    )
    users = {
        "anonymous": None,
        "agent1": agent1,
        "agent2": agent2,
        "agent3": agent3,
        "reseller_user": reseller_user,
        "admin_user": admin_user,
        "outsider_agent": outsider.agent,
        "outsider_reseller": outsider.reseller_user,
    }
    return World(demo=demo, outra=outra, users=users)
