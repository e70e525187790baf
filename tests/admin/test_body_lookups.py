"""Security round three, item 2: a changelist filters only on what it offers.

As a reseller, `?body__regex=^.{0,5}` on the webhook journal answered "n results" and so read the raw
body (and the Evolution API key in it) out one character at a time; `?body__gt=a` was a 500. Every admin
now refuses a lookup on a field it does not offer as a filter (400), shows stored bodies masked, and the
journal row stays raw and replayable."""

import re

import pytest
from django.contrib import admin
from django.db import models
from django.urls import reverse

from tests import factories as f
from tests.support.webhooks import evo_sample, post_evolution
from tickets.models import Message
from whatsapp import journal
from whatsapp.models import Connection, WebhookEvent

pytestmark = pytest.mark.django_db

API_KEY = "EVO-k3y-0123456789-abcdef"
CHANGELIST = reverse("admin:whatsapp_webhookevent_changelist")


@pytest.fixture
def evo(tenant):
    return f.make_connection(
        tenant.reseller, tenant.suporte, provider=Connection.Provider.EVOLUTION, key="body-lookups", api_key=API_KEY
    )


@pytest.fixture
def event(client, evo):
    body = evo_sample("evolution_messages_upsert_text.json", message_id="3EB0BODYLOOKUP01")
    body["instance"] = evo.instance_name
    body["data"]["message"]["conversation"] = "quero o boleto"
    assert post_evolution(client, evo, body).status_code == 200
    stored = WebhookEvent.objects.get(connection=evo)
    assert API_KEY.encode() in bytes(stored.body)  # the journal keeps the raw body
    return stored


@pytest.mark.parametrize("lookup, value", [("body__regex", "^.{0,5}"), ("body__gt", "a"), ("body__contains", "EVO")])
def test_a_lookup_on_the_stored_body_is_a_400(client, event, reseller_user, lookup, value):
    client.force_login(reseller_user)
    response = client.get(CHANGELIST, {lookup: value})
    assert response.status_code == 400, (lookup, response.status_code)
    assert b"quero o boleto" not in response.content


@pytest.mark.parametrize(
    "lookup",
    [
        "error__regex",
        "headers__icontains",
        "dedup_key__startswith",
        "body_file__regex",
        "connection__name__regex",  # a relation's other fields: not offered either
        "connection__webhook_events__body__regex",
    ],
)
def test_other_fields_not_offered_as_filters_are_refused_too(client, event, reseller_user, lookup):
    client.force_login(reseller_user)
    assert client.get(CHANGELIST, {lookup: "^a"}).status_code == 400


def _stored_body_fields():
    """Every (changelist, field) pair where the field holds a stored body: binary, JSON or free text."""
    for model, model_admin in admin.site._registry.items():
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for field in model._meta.concrete_fields:
            if isinstance(field, models.BinaryField | models.JSONField | models.TextField):
                yield url, field.name


BODY_FIELDS = list(_stored_body_fields())


def test_the_models_do_have_bodies_to_protect():
    names = {(url.split("/")[-2], name) for url, name in BODY_FIELDS}
    assert {("webhookevent", "body"), ("webhookevent", "headers"), ("message", "media"), ("message", "text")} <= names


@pytest.mark.parametrize("who", ["reseller_user", "admin_user"])
@pytest.mark.parametrize("url, name", BODY_FIELDS)
def test_no_admin_list_filters_on_a_stored_body(client, event, who, url, name, request):
    client.force_login(request.getfixturevalue(who))
    for lookup, value in ((f"{name}__regex", "^."), (f"{name}__gt", "a"), (f"{name}__icontains", "k3y")):
        assert client.get(url, {lookup: value}).status_code == 400, (url, lookup)


def test_the_filters_an_admin_offers_still_work(client, event, reseller_user):
    """Every filter link a changelist shows, and the date drill-down, still answers 200."""
    client.force_login(reseller_user)
    checked = 0
    for model in admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        page = client.get(url)
        assert page.status_code == 200, url
        for spec in page.context["cl"].filter_specs:
            for choice in spec.choices(page.context["cl"]):
                response = client.get(url + choice["query_string"])
                assert response.status_code == 200, (url, choice["query_string"])
                checked += 1
    assert checked > 30
    year = event.received_at.year
    for query in (
        {"received_at__year": year},
        {"received_at__year": year, "received_at__month": event.received_at.month},
        {"state__exact": "processed", "connection__id__exact": str(event.connection_id)},
        {"connection__isnull": "False", "event_type__exact": event.event_type},
    ):
        response = client.get(CHANGELIST, query)
        assert response.status_code == 200, query
        assert len(response.context["cl"].result_list) == 1, query


def test_the_change_page_masks_the_key_and_the_row_stays_raw(client, event, reseller_user):
    client.force_login(reseller_user)
    page = client.get(reverse("admin:whatsapp_webhookevent_change", args=[event.pk])).content.decode()
    assert API_KEY not in page
    assert re.search(r"&quot;apikey&quot;: &quot;•+&quot;", page), "the apikey member is shown, masked"
    assert "quero o boleto" in page  # the rest of the body is readable
    event.refresh_from_db()
    assert API_KEY.encode() in bytes(event.body)


def test_a_failed_event_is_replayed_from_its_raw_body(client, evo, reseller_user, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("banco indisponível")

    monkeypatch.setattr(journal, "parsed_ingest", broken)
    body = evo_sample("evolution_messages_upsert_text.json", message_id="3EB0BODYLOOKUP02")
    body["instance"] = evo.instance_name
    body["data"]["message"]["conversation"] = "chegou depois"
    assert post_evolution(client, evo, body).status_code == 200
    monkeypatch.undo()
    event = WebhookEvent.objects.get(connection=evo)
    assert event.state == "failed" and Message.objects.count() == 0

    client.force_login(reseller_user)
    response = client.post(CHANGELIST, {"action": "replay_failed", "_selected_action": [str(event.pk)]})
    assert response.status_code == 302
    event.refresh_from_db()
    assert event.state == "processed"
    assert list(Message.objects.values_list("text", flat=True)) == ["chegou depois"]
    assert API_KEY.encode() in bytes(event.body)


def test_a_body_kept_as_a_file_is_named_not_shown(client, evo, reseller_user, settings):
    settings.WHATSAPP_WEBHOOK_INLINE_BODY_BYTES = 100  # this body goes to the media storage, by reference
    body = evo_sample("evolution_messages_upsert_text.json", message_id="3EB0BODYLOOKUP03")
    body["instance"] = evo.instance_name
    assert post_evolution(client, evo, body).status_code == 200
    event = WebhookEvent.objects.get(connection=evo)
    assert event.body_file and API_KEY.encode() in journal.webhook_event_body(event)
    client.force_login(reseller_user)
    page = client.get(reverse("admin:whatsapp_webhookevent_change", args=[event.pk])).content.decode()
    assert f"(corpo guardado como arquivo: {event.body_size} bytes, SHA-256 {event.body_sha256})" in page
    assert API_KEY not in page
    assert client.get(CHANGELIST, {"body_sha256__regex": "^a"}).status_code == 400
