"""The setup of the tests that reach out to a contact (Novo atendimento, Agendamentos): the demo tenant's two
connections pointed at the fake provider, an approved template of the Meta one, and the contact Carla."""

import pytest

from tests import factories as f
from tickets.models import MessageTemplate
from whatsapp.models import Connection

BODY = "Olá {{1}}, podemos continuar seu atendimento?"


@pytest.fixture
def live_meta(tenant, fake):
    return f.make_connection(tenant.reseller, tenant.suporte, key="demo-meta", api_base_url=fake.url + "/v21.0")


@pytest.fixture
def live_evo(tenant, fake):
    return f.make_connection(
        tenant.reseller,
        tenant.suporte,
        provider=Connection.Provider.EVOLUTION,
        key="demo-evolution",
        api_base_url=fake.url,
    )


@pytest.fixture
def template(live_meta):
    return MessageTemplate.objects.create(
        connection=live_meta, name="retomar_atendimento", language="pt_BR", category="UTILITY", body=BODY
    )


@pytest.fixture
def contact(tenant):
    return f.make_client(tenant.reseller, name="Carla Mendes", wa_id="5511987654321")
