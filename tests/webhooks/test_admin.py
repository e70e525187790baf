"""The webhooks' admin: created with a secret shown once, the paused notice, "Enviar de novo" on the log."""

import pytest

from iaze.lib import clock
from tests import factories as f
from webhooks.models import Webhook, WebhookDelivery
from webhooks.recorder import record_pass

pytestmark = pytest.mark.django_db


def test_a_reseller_creates_a_webhook_sees_the_pause_and_sends_an_event_again(client, reseller_user, meta_conn):
    client.force_login(reseller_user)
    answer = client.post(
        "/admin/webhooks/webhook/add/",
        {"url": "https://hooks.example.com/in?token=x", "events": ["ticket.created"], "signing_secret": ""},
    )
    assert answer.status_code == 200 and "no-store" in answer["Cache-Control"]
    hook = Webhook.objects.get()
    assert hook.reseller_id == reseller_user.reseller_id and hook.events == ["ticket.created"]
    assert hook.secret.startswith("whsec_") and hook.secret in answer.content.decode()
    page = client.get(f"/admin/webhooks/webhook/{hook.pk}/change/").content.decode()
    assert hook.secret not in page  # never again
    Webhook.objects.filter(pk=hook.pk).update(paused_at=clock.now(), pause_reason="Pausado: HTTP 500")
    assert "Pausado: HTTP 500" in client.get("/admin/webhooks/webhook/").content.decode()

    f.make_ticket(meta_conn)
    record_pass()
    event = WebhookDelivery.objects.get(webhook=hook)
    WebhookDelivery.objects.filter(pk=event.pk).update(status=WebhookDelivery.Status.DELIVERED, attempts=3)
    log = client.get("/admin/webhooks/webhookdelivery/")
    assert log.status_code == 200 and "ticket.created" in log.content.decode()
    client.post("/admin/webhooks/webhookdelivery/", {"action": "send_again", "_selected_action": [event.pk]})
    again = WebhookDelivery.objects.get(pk=event.pk)
    assert again.status == WebhookDelivery.Status.PENDING and again.attempts == 0
    assert again.data == event.data  # the content is fixed: only the attempt is new
