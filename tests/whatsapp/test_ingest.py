"""Ingest through the webhook: clients, tickets, every message kind, exactly once."""

import pytest

from accounts.models import Client
from tests import factories as f
from tests.support.webhooks import evo_sample, meta_sample, meta_text, post_evolution, post_meta
from tickets import services as ticket_services
from tickets.models import Message, Ticket
from whatsapp.models import Connection, WebhookEvent

pytestmark = pytest.mark.django_db

META_KINDS = [
    ("meta_image.json", "image"),
    ("meta_document.json", "document"),
    ("meta_audio_file_not_voice.json", "audio"),
    ("meta_location.json", "location"),
    ("meta_interactive_button_reply.json", "interactive"),
    ("meta_interactive_list_reply.json", "interactive"),
    ("meta_system_identity_changed.json", "system"),
    ("meta_unsupported_with_subtype.json", "unsupported"),
    ("meta_text_forwarded.json", "text"),
    ("meta_image_no_caption.json", "image"),
    ("meta_location_current_no_name.json", "location"),
]


@pytest.mark.parametrize("name, kind", META_KINDS)
def test_every_meta_kind_is_stored_on_an_espera_ticket(client, meta_conn, name, kind):
    assert post_meta(client, meta_conn, meta_sample(name, meta_conn)).status_code == 200
    message = Message.objects.get()
    assert message.kind == kind and message.direction == Message.Direction.IN
    assert message.ticket.ui_state == "espera" and message.ticket.connection == meta_conn
    assert message.ticket.last_message_preview


def test_media_metadata_is_stored(client, meta_conn):
    post_meta(client, meta_conn, meta_sample("meta_document.json", meta_conn))
    media = Message.objects.get().media
    assert media == {
        "id": "622684793477189",
        "mime_type": "application/pdf",
        "caption": "my receipt",
        "filename": "receipt.pdf",
        "sha256": "V5OPpLD/gEG6Xjg0MbmQDLFgcKsL+j5LfY4ny/pZ4MY=",
        "url": "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=133...",
    }


def test_unsupported_keeps_raw_type(client, meta_conn):
    post_meta(client, meta_conn, meta_sample("meta_unsupported_with_subtype.json", meta_conn))
    assert Message.objects.get().raw_type == "pool"


def test_client_created_then_profile_name_kept_current(client, meta_conn):
    post_meta(client, meta_conn, meta_text(meta_conn, wa_id="5511911112222", name="Maria"))
    c = Client.objects.get()
    assert (c.identity, c.wa_id, c.phone, c.name) == ("5511911112222", "5511911112222", "5511911112222", "Maria")
    post_meta(client, meta_conn, meta_text(meta_conn, wa_id="5511911112222", name="Maria Silva"))
    assert Client.objects.get().name == "Maria Silva"
    post_meta(client, meta_conn, meta_text(meta_conn, wa_id="5511911112222", name=""))
    assert Client.objects.get().name == "Maria Silva"  # an empty profile name never wipes a known one
    assert Client.objects.count() == 1 and Ticket.objects.count() == 1 and Message.objects.count() == 3


def test_message_without_contacts_array(client, meta_conn):
    body = meta_text(meta_conn, wa_id="5511933334444")
    del body["entry"][0]["changes"][0]["value"]["contacts"]
    assert post_meta(client, meta_conn, body).status_code == 200
    c = Client.objects.get()
    assert c.wa_id == "5511933334444" and c.name == "" and Message.objects.count() == 1


def test_user_id_client_then_same_person_with_wa_id(client, meta_conn):
    body = meta_sample("meta_text_forwarded.json", meta_conn)
    value = body["entry"][0]["changes"][0]["value"]
    value["messages"][0]["from"], value["contacts"][0]["wa_id"] = "", ""
    post_meta(client, meta_conn, body)
    c = Client.objects.get()
    assert c.identity == "US.13491208655302741918" and c.bsuid == c.identity and c.wa_id == ""
    post_meta(client, meta_conn, meta_sample("meta_text_reply_context.json", meta_conn, message_id="wamid.ctx"))
    c = Client.objects.get()
    assert c.wa_id == "972987654321" and Ticket.objects.count() == 1 and Message.objects.count() == 2


def test_clients_are_per_reseller(client, meta_conn, outsider):
    post_meta(client, meta_conn, meta_text(meta_conn, wa_id="5511955556666"))
    post_meta(client, outsider.connection, meta_text(outsider.connection, wa_id="5511955556666"))
    assert Client.objects.count() == 2
    assert {t.reseller_id for t in Ticket.objects.all()} == {meta_conn.reseller_id, outsider.reseller.pk}


def test_batch_with_several_entries_and_changes(client, meta_conn):
    body = meta_text(meta_conn, wa_id="5511900000001", message_id="wamid.b1")
    second = meta_text(meta_conn, wa_id="5511900000002", message_id="wamid.b2")["entry"][0]["changes"][0]
    third = meta_text(meta_conn, wa_id="5511900000001", message_id="wamid.b3")["entry"][0]
    body["entry"][0]["changes"].append(second)
    body["entry"].append(third)
    assert post_meta(client, meta_conn, body).status_code == 200
    assert sorted(Message.objects.values_list("provider_message_id", flat=True)) == ["wamid.b1", "wamid.b2", "wamid.b3"]
    assert Ticket.objects.count() == 2 and Client.objects.count() == 2


def test_long_message_with_emoji_rtl_and_cjk_is_intact(client, meta_conn):
    unit = "👩🏽‍💻👨‍👩‍👧‍👦🇧🇷 مرحبا بالعالم שלום 你好世界 こんにちは 한국어 "
    text = (unit * (5000 // len(unit) + 1))[:5000]
    assert len(text) == 5000
    post_meta(client, meta_conn, meta_text(meta_conn, text=text))
    stored = Message.objects.get()
    assert stored.text == text and len(stored.text) == 5000


def test_retried_old_message_never_opens_a_new_ticket(client, meta_conn, agent1):
    body = meta_text(meta_conn, message_id="wamid.old", text="primeira")
    post_meta(client, meta_conn, body)
    ticket = Ticket.objects.get()
    ticket_services.ticket_claim(ticket=ticket, agent=agent1)
    ticket_services.ticket_close(ticket=ticket, by=agent1)
    body["entry"][0]["id"] = "redelivered"  # a new POST carrying the same message
    assert post_meta(client, meta_conn, body).status_code == 200
    assert Ticket.objects.count() == 1 and Message.objects.count() == 1
    post_meta(client, meta_conn, meta_text(meta_conn, text="nova conversa"))
    assert Ticket.objects.count() == 2 and Ticket.objects.in_state("espera").count() == 1


def test_reaction_attaches_to_the_reacted_message(client, meta_conn, agent1):
    post_meta(client, meta_conn, meta_text(meta_conn, wa_id="972987654321", message_id="wamid.yzxyzx="))
    ticket = Ticket.objects.get()
    ticket_services.ticket_claim(ticket=ticket, agent=agent1)
    ticket_services.ticket_close(ticket=ticket, by=agent1)
    post_meta(client, meta_conn, meta_sample("meta_reaction.json", meta_conn, message_id="wamid.r1"))
    post_meta(
        client, meta_conn, meta_sample("meta_reaction_removed_empty_emoji.json", meta_conn, message_id="wamid.r2")
    )
    reactions = Message.objects.filter(kind="reaction").order_by("provider_message_id")
    assert [(r.text, r.reply_to_provider_id, r.ticket_id) for r in reactions] == [
        ("😮", "wamid.yzxyzx=", ticket.pk),
        ("", "wamid.yzxyzx=", ticket.pk),
    ]
    assert Ticket.objects.count() == 1  # a reaction to an old message does not open a ticket


def test_evolution_text_image_audio(client, evo_conn):
    for name in (
        "evolution_messages_upsert_text.json",
        "evolution_messages_upsert_image_caption.json",
        "evolution_messages_upsert_audio_ptt.json",
    ):
        assert post_evolution(client, evo_conn, evo_sample(name)).status_code == 200
    assert sorted(Message.objects.values_list("kind", flat=True)) == ["audio", "image", "text"]
    assert Client.objects.count() == 2  # 5511988887777 (text + image) and 5511977776666 (audio)
    assert Client.objects.get(wa_id="5511977776666").name == "Cliente Audio"


def test_evolution_groups_are_journaled_but_not_routed(client, evo_conn):
    for name in ("evolution_messages_upsert_group_text.json", "evolution_messages_upsert_group_extended_text.json"):
        assert post_evolution(client, evo_conn, evo_sample(name)).status_code == 200
    assert WebhookEvent.objects.count() == 2 and Ticket.objects.count() == 0 and Client.objects.count() == 0


def test_evolution_from_me_is_outbound_on_the_open_ticket_and_never_opens_one(client, evo_conn):
    post_evolution(client, evo_conn, evo_sample("evolution_messages_upsert_fromme_text.json"))
    assert Ticket.objects.count() == 0 and Message.objects.count() == 0 and Client.objects.count() == 0
    post_evolution(client, evo_conn, evo_sample("evolution_messages_upsert_text.json"))
    post_evolution(client, evo_conn, evo_sample("evolution_messages_upsert_fromme_text.json", message_id="3EBME2"))
    out = Message.objects.get(direction=Message.Direction.OUT)
    assert out.from_business_phone and out.text == "menasje saliente solo texto" and out.delivery_status == "sent"
    assert Ticket.objects.count() == 1 and Client.objects.get().name == "Cliente Teste"


def test_evolution_lid_sender(client, evo_conn):
    body = evo_sample("evolution_messages_upsert_lid_only.json")
    assert post_evolution(client, evo_conn, body).status_code == 200
    assert post_evolution(client, evo_conn, body, header=True).status_code == 200  # same message, new bytes
    c = Client.objects.get()
    assert c.identity == "13718@lid" and c.name == "Rodrigo" and Message.objects.count() == 1
    body = evo_sample("evolution_messages_upsert_text.json", jid="13719@lid", message_id="3EBALT")
    body["data"]["key"]["remoteJidAlt"] = "5511922223333@s.whatsapp.net"
    post_evolution(client, evo_conn, body)
    assert Client.objects.get(bsuid="13719@lid").wa_id == "5511922223333"


def test_evolution_connection_state_moves_forward_in_time(client, evo_conn):
    opened = evo_sample("evolution_connection_update_open.json")  # 2025-10-21
    closed = evo_sample("evolution_connection_update_close.json")  # 2025-05-02, older
    post_evolution(client, evo_conn, opened)
    post_evolution(client, evo_conn, closed)
    evo_conn.refresh_from_db()
    assert evo_conn.state == "open" and evo_conn.state_updated_at.year == 2025
    closed["date_time"] = "2025-11-01T00:00:00.000Z"
    post_evolution(client, evo_conn, closed)
    evo_conn.refresh_from_db()
    assert evo_conn.state == "close"


def test_meta_app_with_two_numbers_routes_by_receiving_number(client, tenant, meta_conn):
    second = f.make_connection(tenant.reseller, tenant.suporte, key="segundo", phone_number_id="100000000000009")
    body = meta_text(meta_conn)
    body["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "100000000000009"
    post_meta(client, meta_conn, body)
    assert Ticket.objects.get().connection == second


def test_greeting_is_queued_once_for_a_new_ticket(client, tenant):
    from accounts.models import ResellerConfig

    ResellerConfig.objects.filter(reseller=tenant.reseller).update(greeting_text="Olá! Já vamos atender.")
    conn = f.make_connection(tenant.reseller, tenant.suporte, provider=Connection.Provider.META, key="greet")
    post_meta(client, conn, meta_text(conn, text="oi"))
    post_meta(client, conn, meta_text(conn, text="alguém?"))
    out = Message.objects.filter(direction=Message.Direction.OUT)
    assert [m.text for m in out] == ["Olá! Já vamos atender."] and out[0].delivery_status == "queued"
