"""Builders of test data. One named fixture set lives in tests/conftest.py."""

import itertools
import json
from pathlib import Path

from accounts.models import Client, Department, Reseller, ResellerConfig, User
from accounts.services import client_terms_index
from tickets import services
from tickets.models import Ticket
from whatsapp.models import Connection

PASSWORD = "senha-forte-123"
_seq = itertools.count(1)
SAMPLES = Path(__file__).resolve().parent / "payloads"


def load_payload(name: str) -> dict:
    return json.loads((SAMPLES / name).read_text())


def make_reseller(slug: str, **config) -> Reseller:
    reseller = Reseller.objects.create(slug=slug, name=slug.title())
    ResellerConfig.objects.create(reseller=reseller, display_name=slug.title(), **config)
    return reseller


def make_department(reseller: Reseller, name: str) -> Department:
    return Department.objects.create(reseller=reseller, name=name)


def make_user(email: str, *, reseller=None, role=User.Role.AGENT, departments=(), name="", **extra) -> User:
    if role == User.Role.ADMIN:
        user = User.objects.create_superuser(email=email, password=PASSWORD, name=name or email, reseller=reseller)
    else:
        user = User.objects.create_user(
            email=email,
            password=PASSWORD,
            name=name or email,
            role=role,
            reseller=reseller,
            is_staff=role == User.Role.RESELLER,
            **extra,
        )
    user.departments.set(departments)
    return user


def make_connection(reseller, department, *, provider=Connection.Provider.META, key=None, **fields) -> Connection:
    defaults = {
        Connection.Provider.META: dict(
            phone_number_id="100000000000001",
            app_secret="meta-app-secret",
            verify_token="meta-verify-token",
            access_token="meta-access-token",
            api_base_url="http://127.0.0.1:9/graph",
        ),
        Connection.Provider.EVOLUTION: dict(
            instance_name="demo", api_key="evo-api-key", api_base_url="http://127.0.0.1:9/evolution"
        ),
    }[provider]
    defaults.update(fields)
    return Connection.objects.create(
        reseller=reseller,
        default_department=department,
        provider=provider,
        key=key or f"conn-{next(_seq)}",
        **defaults,
    )


def make_client(reseller, *, wa_id=None, name="Cliente") -> Client:
    wa_id = wa_id or f"55119{next(_seq):08d}"
    client = Client.objects.create(reseller=reseller, identity=wa_id, wa_id=wa_id, phone=wa_id, name=name)
    client_terms_index(client)  # as accounts.services.client_upsert does: findable by the queue's search
    return client


def make_ticket(connection, *, client=None, text="Olá, preciso de ajuda", agent=None, closed_by=None) -> Ticket:
    """A ticket through the real services: inbound message, then claim/close as asked."""
    client = client or make_client(connection.reseller)
    ticket, _ = services.inbound_route(connection=connection, client=client)
    services.message_store(
        ticket=ticket, msg=services.InboundMessage(provider_message_id=f"wamid.test{next(_seq)}", text=text)
    )
    if agent is not None:
        ticket = services.ticket_claim(ticket=ticket, agent=agent)
    if closed_by is not None:
        ticket = services.ticket_close(ticket=ticket, by=closed_by)
    return Ticket.objects.get(pk=ticket.pk)
