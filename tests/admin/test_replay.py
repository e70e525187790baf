"""The journal's "replay" action: failed events are processed again, once, within the user's tenant."""

import pytest
from django.urls import reverse

from tests.support.webhooks import post_meta_text
from tickets.models import Message
from whatsapp import journal
from whatsapp.models import WebhookEvent

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:whatsapp_webhookevent_changelist")


def _fail_processing(monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("banco indisponível")  # what a transient outage looks like to ingest

    monkeypatch.setattr(journal, "parsed_ingest", broken)


def test_replay_processes_a_failed_event(client, meta_conn, outsider, reseller_user, monkeypatch):
    _fail_processing(monkeypatch)
    post_meta_text(client, meta_conn, wa_id="5511944440004", text="chegou?")
    post_meta_text(client, outsider.connection, wa_id="5511955550005", text="outra")
    monkeypatch.undo()
    ours = WebhookEvent.objects.get(connection=meta_conn)
    theirs = WebhookEvent.objects.get(connection=outsider.connection)
    assert (ours.state, theirs.state) == ("failed", "failed") and "banco indisponível" in ours.error
    assert Message.objects.count() == 0

    client.force_login(reseller_user)
    listing = client.get(CHANGELIST)
    assert "replay_failed" in [name for name, _ in listing.context["action_form"].fields["action"].choices]
    response = client.post(CHANGELIST, {"action": "replay_failed", "_selected_action": [str(ours.pk), str(theirs.pk)]})
    assert response.status_code == 302
    ours.refresh_from_db()
    theirs.refresh_from_db()
    assert ours.state == "processed" and ours.attempts == 2
    assert theirs.state == "failed" and theirs.attempts == 1  # another tenant's event is out of reach
    assert list(Message.objects.values_list("text", flat=True)) == ["chegou?"]

    # Replaying again does nothing: only failed events are replayed, and a processed one stays single.
    client.post(CHANGELIST, {"action": "replay_failed", "_selected_action": [str(ours.pk)]})
    ours.refresh_from_db()
    assert ours.attempts == 2 and Message.objects.count() == 1


def test_replay_is_not_offered_to_agents(client, agent1):
    client.force_login(agent1)
    response = client.post(CHANGELIST, {"action": "replay_failed", "_selected_action": []})
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
