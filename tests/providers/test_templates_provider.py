"""Templates at the provider: Meta's send shape and listing (synced in the admin, approved only)."""

import pytest
from django.contrib.messages import get_messages

from providers import SendError, get_provider
from tests import factories as f
from tickets.models import MessageTemplate
from tickets.services.template_sync import template_sync

pytestmark = pytest.mark.django_db

LISTING = [
    {
        "name": "retomar_atendimento",
        "language": "pt_BR",
        "status": "APPROVED",
        "category": "UTILITY",
        "components": [{"type": "BODY", "text": "Olá {{1}}, podemos continuar seu atendimento?"}],
        "id": "1",
    },
    {
        "name": "promo",
        "language": "pt_BR",
        "status": "REJECTED",
        "category": "MARKETING",
        "components": [{"type": "BODY", "text": "Promo!"}],
        "id": "2",
    },
]


@pytest.fixture
def live(tenant, fake):
    return f.make_connection(
        tenant.reseller, tenant.suporte, key="tpl-meta", api_base_url=fake.url + "/v21.0", business_account_id="555"
    )


def test_meta_send_template_shape(live, fake):
    result = get_provider(live).send_template(to="5511999990000", name="t", language="pt_BR", params=["a", "b"])
    assert result.provider_message_id.startswith("wamid.FAKE")
    [call] = fake.calls
    assert call.path == f"/v21.0/{live.phone_number_id}/messages"
    assert call.json == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "5511999990000",
        "type": "template",
        "template": {
            "name": "t",
            "language": {"code": "pt_BR"},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}
            ],
        },
    }


def test_evolution_sends_no_templates(evo_conn):
    with pytest.raises(SendError) as refused:
        get_provider(evo_conn).send_template(to="1", name="t", language="pt_BR", params=[])
    assert not refused.value.retryable


def test_sync_keeps_only_approved_templates_and_is_idempotent(live, fake):
    fake.message_templates = LISTING
    assert template_sync(live) == (1, 0)
    assert template_sync(live) == (0, 0)
    [t] = MessageTemplate.objects.all()
    assert (t.name, t.language, t.status, t.body) == (
        "retomar_atendimento",
        "pt_BR",
        "APPROVED",
        "Olá {{1}}, podemos continuar seu atendimento?",
    )
    assert t.param_count == 1


def test_the_admin_action_syncs_a_connection(client, live, fake, reseller_user):
    fake.message_templates = LISTING
    client.force_login(reseller_user)
    response = client.post(
        "/admin/whatsapp/connection/", {"action": "sync_templates", "_selected_action": [str(live.pk)]}, follow=True
    )
    assert response.status_code == 200
    assert MessageTemplate.objects.filter(connection=live, name="retomar_atendimento").exists()
    assert any("1 modelo" in str(m) for m in get_messages(response.wsgi_request))
