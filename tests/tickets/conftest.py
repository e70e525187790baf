"""A small tenant with a ticket in every state the workspace shows, plus one of the outsider."""

import pytest

from tests import factories as f
from tests.support.outreach import contact, live_evo, live_meta, template  # noqa: F401 - fixtures of the outreach tests


@pytest.fixture
def fin_conn(tenant):
    return f.make_connection(tenant.reseller, tenant.financeiro, key="demo-fin", phone_number_id="100000000000009")


@pytest.fixture
def world(meta_conn, fin_conn, agent1, agent2, agent3, reseller_user, admin_user, outsider):
    def client(reseller, name, phone):
        return f.make_client(reseller, name=name, wa_id=phone)

    r = meta_conn.reseller
    tickets = {
        "espera": f.make_ticket(
            meta_conn, client=client(r, "Cliente Espera", "5511900000001"), text="Quero saber do meu pedido"
        ),
        "um": f.make_ticket(
            meta_conn, client=client(r, "Cliente Um", "5511900000002"), agent=agent1, text="Mensagem do cliente um"
        ),
        "dois": f.make_ticket(
            meta_conn, client=client(r, "Cliente Dois", "5511900000003"), agent=agent2, text="Mensagem do cliente dois"
        ),
        "fim": f.make_ticket(
            meta_conn,
            client=client(r, "Cliente Fim", "5511900000004"),
            agent=agent1,
            closed_by=agent1,
            text="Obrigado, resolvido",
        ),
        "fin": f.make_ticket(
            fin_conn, client=client(r, "Cliente Financeiro", "5511900000005"), text="Segunda via do boleto"
        ),
        "outra": f.make_ticket(
            outsider.connection,
            client=client(outsider.reseller, "Cliente Outra", "5521900000006"),
            text="Cliente de outra revenda",
        ),
    }
    return type(
        "World",
        (),
        {
            "t": tickets,
            "agent1": agent1,
            "agent2": agent2,
            "agent3": agent3,
            "reseller_user": reseller_user,
            "admin_user": admin_user,
            "outsider": outsider,
        },
    )


def user_of(world, name):
    """Named users of the fixture set, by the name the tests use."""
    if name.startswith("outsider."):
        return getattr(world.outsider, name.split(".", 1)[1])
    return getattr(world, name)


def url(ticket, action=""):
    return f"/tickets/{ticket.pk}/" + (f"{action}/" if action else "")
