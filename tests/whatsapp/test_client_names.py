"""Security review item 9: a name a person set is never overwritten by the provider's profile name."""

import pytest
from django.urls import reverse

from accounts.models import Client
from tests.whatsapp.conftest import meta_text, post_meta
from whatsapp import journal
from whatsapp.models import WebhookEvent

pytestmark = pytest.mark.django_db

WA = "5511955550001"


def test_profile_name_is_kept_apart_and_name_follows_it_until_a_person_sets_one(client, meta_conn, reseller_user):
    post_meta(client, meta_conn, meta_text(meta_conn, wa_id=WA, name="Maria"))
    c = Client.objects.get()
    assert (c.name, c.profile_name) == ("Maria", "Maria")

    # The admin renames the client.
    client.force_login(reseller_user)
    response = client.post(reverse("admin:accounts_client_change", args=[c.pk]), {"name": "Maria (loja centro)"})
    assert response.status_code == 302
    client.logout()

    # The next message, with a new profile name, and a replay of the first body: the name stays.
    post_meta(client, meta_conn, meta_text(meta_conn, wa_id=WA, name="Mari ✨"))
    first = WebhookEvent.objects.order_by("received_at").first()
    journal.webhook_event_process(first)
    c.refresh_from_db()
    assert c.name == "Maria (loja centro)"
    assert c.profile_name == "Mari ✨"  # the provider's latest, kept apart


def test_a_legacy_name_without_a_profile_name_is_never_overwritten(client, meta_conn, tenant):
    """Rows from before profile_name existed: nobody knows who wrote their name, so it is kept."""
    Client.objects.create(reseller=tenant.reseller, identity=WA, wa_id=WA, phone=WA, name="Sr. João")
    post_meta(client, meta_conn, meta_text(meta_conn, wa_id=WA, name="joao123"))
    c = Client.objects.get()
    assert (c.name, c.profile_name) == ("Sr. João", "joao123")
