"""Every webhook sample of tests/payloads/, replayed byte for byte through the real webhook view.

Each body is posted exactly as the file holds it: Meta's signed with X-Hub-Signature-256 over those
bytes (the connection's app secret), Evolution's carrying its own `apikey` (or, when the sample has
none, the connection's key in the `apikey` header). The connection is made to match the sample
(Meta: its metadata.phone_number_id; Evolution: its instance and apikey), so nothing in the body is
rewritten. Every sample must be answered 200, and each stores what the table below says.

What each sample stores (given: what the test stores first, so the sample has something to act on):

- meta_text: a text on a new ticket in Espera; the client by wa_id, with its profile name.
- meta_text_forwarded: a text marked forwarded. meta_text_reply_context: a text naming the message it answers.
- meta_image, meta_image_no_caption, meta_document, meta_audio_file_not_voice: the media message (id, type,
  caption) in Espera and a pending download job: nothing is fetched inside the webhook.
- meta_location, meta_location_current_no_name: a location ("name — address" as text, coordinates kept).
- meta_interactive_button_reply, meta_interactive_list_reply: an interactive answer, its title as text.
- meta_system_identity_changed: a system message. meta_unsupported_with_subtype: an unsupported message.
- meta_reaction, meta_reaction_removed_empty_emoji (given the reacted message on a finished ticket): the
  reaction on that finished ticket; no ticket opened.
- meta_edit_image_caption (given the original): the new caption on the original, the old text kept.
- meta_status_sent, meta_status_sent_biz_opaque_callback_data (given a queued reply): sent.
- meta_status_delivered / _read / _played (given a sent reply): delivered / read / read.
- meta_status_failed_131049, meta_status_failed_130472 (given a sent reply): failed, with Meta's code.
- evolution_messages_upsert_text: a text on a new ticket in Espera; the client by number, with pushName.
- evolution_messages_upsert_image_caption, _audio_ptt: the media message and a download job that reads
  the file from the journaled body (webhook base64=true).
- evolution_messages_upsert_lid_only: a text from a client known only by its @lid.
- evolution_messages_upsert_fromme_text: nothing (the business writing first opens no ticket); given the
  client's open ticket, an outbound message on it.
- evolution_messages_upsert_group_text, _group_extended_text: journaled and dropped: no client, ticket or message.
- evolution_messages_update_read (given a sent reply): read.
- evolution_messages_update_deleted_status (given the client's message): marked deleted, kept.
- evolution_connection_update_open / _close: the connection's state open / close.

The GET handshake sample is replayed as a GET. The files that are no webhook bodies are listed in
NOT_WEBHOOK_BODIES with the test that uses them; a new sample in neither list fails this module.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from accounts.models import Client
from tests import factories as f
from tests.support.webhooks import sign, webhook_url
from tickets import outbox, services
from tickets.models import MediaDownload, Message, Ticket
from whatsapp.models import Connection, WebhookEvent

pytestmark = pytest.mark.django_db

# Not webhook bodies: requests the app sends, answers it reads, a listing. Their shapes are checked
# against the fake provider's answers by test_fake_shapes.py.
NOT_WEBHOOK_BODIES = {
    "meta_send_text_request.json": "the body IAZE posts to /{phone-number-id}/messages (test_fake_shapes)",
    "meta_send_text_response.json": "Meta's answer to a send (test_fake_shapes)",
    "meta_send_error_130429.json": "Meta's error answer to a send (test_fake_shapes)",
    "meta_media_url_response.json": "Meta's answer to GET /{media-id} (test_fake_shapes)",
    "meta_message_templates_page.json": "one page of GET /{waba-id}/message_templates (test_fake_shapes)",
    "evolution_send_text_request.json": "the body IAZE posts to /message/sendText/{instance} (test_fake_shapes)",
    "evolution_send_text_response.json": "Evolution's answer to a send (test_fake_shapes)",
}
HANDSHAKE = "meta_verification_handshake.json"


def raw_sample(name: str) -> bytes:
    return (f.SAMPLES / name).read_bytes()


# --- what a sample needs to find before it arrives -------------------------------------------------


def _meta_value(body: dict) -> dict:
    return body["entry"][0]["changes"][0]["value"]


def _message_on(conn, *, wa_id: str, provider_id: str, text: str, agent=None) -> Message:
    """A client's message already stored; on a finished ticket when `agent` is given."""
    client = Client.objects.filter(reseller=conn.reseller, identity=wa_id).first()
    client = client or f.make_client(conn.reseller, wa_id=wa_id)
    ticket, _ = services.inbound_route(connection=conn, client=client)
    services.message_store(ticket=ticket, msg=services.InboundMessage(provider_message_id=provider_id, text=text))
    if agent is not None:
        ticket = services.ticket_claim(ticket=ticket, agent=agent)
        services.ticket_close(ticket=ticket, by=agent)
    return Message.objects.get(provider_message_id=provider_id)


def _reply_with_id(conn, *, wa_id: str, provider_id: str, state: str) -> Message:
    """An agent's reply the provider has accepted under `provider_id`."""
    ticket = f.make_ticket(conn, client=f.make_client(conn.reseller, wa_id=wa_id))
    message, _ = outbox.message_enqueue_outbound(ticket=ticket, text="Resposta do suporte")
    Message.objects.filter(pk=message.pk).update(provider_message_id=provider_id, delivery_status=state)
    return message


def reacted_message(conn, body, agent):
    m = _meta_value(body)["messages"][0]
    return _message_on(conn, wa_id=m["from"], provider_id=m["reaction"]["message_id"], text="Chegou?", agent=agent)


def edited_original(conn, body, agent):
    m = _meta_value(body)["messages"][0]
    return _message_on(conn, wa_id=m["from"], provider_id=m["edit"]["original_message_id"], text="Legenda antiga")


def reply_in(state: str):
    def given(conn, body, agent):
        if "entry" in body:
            s = _meta_value(body)["statuses"][0]
            return _reply_with_id(conn, wa_id=s["recipient_id"], provider_id=s["id"], state=state)
        data = body["data"]
        return _reply_with_id(conn, wa_id=data["remoteJid"].split("@")[0], provider_id=data["keyId"], state=state)

    return given


def clients_message(conn, body, agent):
    data = body["data"]
    return _message_on(conn, wa_id=data["remoteJid"].split("@")[0], provider_id=data["keyId"], text="Apaga isso")


def open_ticket_of_the_client(conn, body, agent):
    jid = body["data"]["key"]["remoteJid"]
    return f.make_ticket(conn, client=f.make_client(conn.reseller, wa_id=jid.split("@")[0]))


# --- what a sample leaves ----------------------------------------------------------------------


def _only_inbound() -> Message:
    return Message.objects.get(direction=Message.Direction.IN)


def opens_espera(kind: str, text: str, *, identity: str, name: str, media: dict | None = None, download=None):
    """One inbound message of this kind and text, on a new ticket in Espera of this connection."""

    def check(conn, given):
        message = _only_inbound()
        assert (message.kind, message.text) == (kind, text)
        ticket = message.ticket
        assert ticket.connection == conn and ticket.ui_state == "espera" and Ticket.objects.count() == 1
        assert (ticket.client.identity, ticket.client.name) == (identity, name)
        for key, value in (media or {}).items():
            assert message.media.get(key) == value, (key, message.media)
        job = MediaDownload.objects.filter(message=message).first()
        if download is None:
            assert job is None
        else:
            assert job is not None and job.state == "pending" and job.attempts == 0
            assert job.source_event_id == WebhookEvent.objects.get().pk
            # Where the worker will read the file: the journaled body itself, or the provider.
            assert bool(message.media.get("inline_base64")) is (download == JOURNAL)

    return check


def reply_to(target: str):
    def check(conn, given):
        assert _only_inbound().reply_to_provider_id == target

    return check


def stays_on_target(text: str, *, removed: bool):
    def check(conn, target):
        reaction = Message.objects.get(kind=Message.Kind.REACTION)
        assert (reaction.text, reaction.reply_to_provider_id) == (text, target.provider_message_id)
        assert reaction.media.get("removed") is removed
        assert reaction.ticket_id == target.ticket_id and reaction.ticket.ui_state == "finalizado"
        assert Ticket.objects.count() == 1  # a reaction to an old message opens nothing

    return check


def edits_original(text: str):
    def check(conn, original):
        original.refresh_from_db()
        assert original.text == text and original.previous_texts == ["Legenda antiga"] and original.edited_at
        edit = Message.objects.exclude(pk=original.pk).get()
        assert edit.ticket_id == original.ticket_id and edit.media.get("edit") is True
        assert Ticket.objects.count() == 1

    return check


def delivery(state: str, error_code: str = ""):
    def check(conn, reply):
        reply.refresh_from_db()
        assert (reply.delivery_status, reply.error_code) == (state, error_code)
        assert not Message.objects.filter(direction=Message.Direction.IN).exclude(ticket=reply.ticket).exists()

    return check


def nothing_routed(conn, given):
    assert Client.objects.count() == 0 and Ticket.objects.count() == 0 and Message.objects.count() == 0


def outbound_on_open_ticket(text: str):
    def check(conn, ticket):
        out = Message.objects.get(direction=Message.Direction.OUT)
        assert (out.ticket_id, out.text, out.from_business_phone) == (ticket.pk, text, True)
        assert out.delivery_status == "sent" and Ticket.objects.count() == 1

    return check


def marked_deleted(conn, message):
    message.refresh_from_db()
    assert message.deleted_by_client_at is not None and message.text == "Apaga isso"


def connection_state(state: str):
    def check(conn, given):
        conn.refresh_from_db()
        assert conn.state == state and conn.state_updated_at is not None
        assert (conn.disconnected_at is not None) is (state == "close")
        assert Ticket.objects.count() == 0

    return check


def both(*checks):
    def check(conn, given):
        for c in checks:
            c(conn, given)

    return check


@dataclass(frozen=True)
class Replay:
    sample: str
    check: Callable[[Connection, Any], None]
    given: Callable | None = None
    event: str = WebhookEvent.State.PROCESSED
    id: str = ""


SHEENA = {"identity": "16505551234", "name": "Sheena Nelson"}
TEST_NAME = {"identity": "972987654321", "name": "Test Name"}
JOURNAL = "from the journal"
PROVIDER = "from the provider"

REPLAYS = [
    # Meta: messages from clients
    Replay("meta_text.json", opens_espera("text", "Does it come in another color?", **SHEENA)),
    Replay("meta_text_forwarded.json", opens_espera("text", "forwarded text", media={"forwarded": True}, **TEST_NAME)),
    Replay(
        "meta_text_reply_context.json",
        both(opens_espera("text", "replied text", **TEST_NAME), reply_to("wamid.xyzxyz==")),
    ),
    Replay(
        "meta_image.json",
        opens_espera(
            "image",
            "Taj Mahal",
            media={"id": "1003383421387256", "mime_type": "image/jpeg"},
            download=PROVIDER,
            **SHEENA,
        ),
    ),
    Replay(
        "meta_image_no_caption.json",
        opens_espera("image", "", media={"id": "65463453"}, download=PROVIDER, **TEST_NAME),
    ),
    Replay(
        "meta_document.json",
        opens_espera("document", "my receipt", media={"filename": "receipt.pdf"}, download=PROVIDER, **SHEENA),
    ),
    Replay(
        "meta_audio_file_not_voice.json",
        opens_espera("audio", "", media={"voice": False, "forwarded": True}, download=PROVIDER, **TEST_NAME),
    ),
    Replay(
        "meta_location.json",
        opens_espera(
            "location",
            "Philz Coffee — 101 Forest Ave, Palo Alto, CA 94301",
            media={"latitude": 37.44221496582, "longitude": -122.16165924072},
            **SHEENA,
        ),
    ),
    Replay(
        "meta_location_current_no_name.json",
        opens_espera("location", "", media={"latitude": 12.25089, "longitude": 43.90539}, **TEST_NAME),
    ),
    Replay(
        "meta_interactive_button_reply.json",
        opens_espera(
            "interactive",
            "Change",
            media={"type": "button_reply", "id": "change-button"},
            identity="16505551234",
            name="Pablo Morales",
        ),
    ),
    Replay(
        "meta_interactive_list_reply.json",
        opens_espera("interactive", "title", media={"type": "list_reply", "id": "callback_data"}, **TEST_NAME),
    ),
    Replay(
        "meta_system_identity_changed.json",
        opens_espera("system", "User identity changed", identity="972987654321", name="User A"),
    ),
    Replay("meta_unsupported_with_subtype.json", opens_espera("unsupported", "", **TEST_NAME)),
    Replay("meta_reaction.json", stays_on_target("😮", removed=False), given=reacted_message),
    Replay("meta_reaction_removed_empty_emoji.json", stays_on_target("", removed=True), given=reacted_message),
    Replay("meta_edit_image_caption.json", edits_original("Updated image caption"), given=edited_original),
    # Meta: receipts of the business's replies
    Replay("meta_status_sent.json", delivery("sent"), given=reply_in("queued")),
    Replay("meta_status_sent_biz_opaque_callback_data.json", delivery("sent"), given=reply_in("queued")),
    Replay("meta_status_delivered.json", delivery("delivered"), given=reply_in("sent")),
    Replay("meta_status_read.json", delivery("read"), given=reply_in("sent")),
    Replay("meta_status_played.json", delivery("read"), given=reply_in("sent")),
    Replay("meta_status_failed_131049.json", delivery("failed", "131049"), given=reply_in("sent")),
    Replay("meta_status_failed_130472.json", delivery("failed", "130472"), given=reply_in("sent")),
    # Evolution
    Replay(
        "evolution_messages_upsert_text.json",
        opens_espera("text", "hola - text", identity="5511988887777", name="Cliente Teste"),
    ),
    Replay(
        "evolution_messages_upsert_image_caption.json",
        opens_espera(
            "image",
            "hola - text con multimedia (imagen)",
            media={"inline_base64": True},
            download=JOURNAL,
            identity="5511988887777",
            name="Cliente Teste",
        ),
    ),
    Replay(
        "evolution_messages_upsert_audio_ptt.json",
        opens_espera(
            "audio", "", media={"inline_base64": True}, download=JOURNAL, identity="5511977776666", name="Cliente Audio"
        ),
    ),
    Replay(
        "evolution_messages_upsert_lid_only.json",
        opens_espera("text", "Oi", identity="13718@lid", name="Rodrigo"),
    ),
    Replay("evolution_messages_upsert_fromme_text.json", nothing_routed, id="fromme-without-ticket"),
    Replay(
        "evolution_messages_upsert_fromme_text.json",
        outbound_on_open_ticket("menasje saliente solo texto"),
        given=open_ticket_of_the_client,
        id="fromme-on-open-ticket",
    ),
    Replay("evolution_messages_upsert_group_text.json", nothing_routed),
    Replay("evolution_messages_upsert_group_extended_text.json", nothing_routed),
    Replay("evolution_messages_update_read.json", delivery("read"), given=reply_in("sent")),
    Replay("evolution_messages_update_deleted_status.json", marked_deleted, given=clients_message),
    Replay("evolution_connection_update_open.json", connection_state("open")),
    Replay("evolution_connection_update_close.json", connection_state("close")),
]


def _connection_for(tenant, name: str, body: dict) -> tuple[Connection, dict]:
    """A connection the sample is addressed to, and the headers its provider would send."""
    if name.startswith("meta_"):
        conn = f.make_connection(
            tenant.reseller,
            tenant.suporte,
            key="replay-meta",
            phone_number_id=_meta_value(body)["metadata"]["phone_number_id"],
            app_secret="replay-app-secret",
        )
        return conn, {"HTTP_X_HUB_SIGNATURE_256": sign(conn.app_secret, raw_sample(name))}
    in_body = body.get("apikey")
    conn = f.make_connection(
        tenant.reseller,
        tenant.suporte,
        provider=Connection.Provider.EVOLUTION,
        key="replay-evo",
        instance_name=body["instance"],
        api_key=in_body or "replay-evolution-key",
    )
    return conn, {} if in_body else {"HTTP_APIKEY": conn.api_key}


@pytest.mark.parametrize("replay", REPLAYS, ids=lambda r: r.id or r.sample.removesuffix(".json"))
def test_every_webhook_sample_is_accepted_and_stores_what_it_says(client, tenant, agent1, replay):
    raw = raw_sample(replay.sample)
    body = json.loads(raw)
    conn, headers = _connection_for(tenant, replay.sample, body)
    given = replay.given(conn, body, agent1) if replay.given else None

    response = client.post(webhook_url(conn), data=raw, content_type="application/json", **headers)

    assert response.status_code == 200, response.content
    event = WebhookEvent.objects.get()
    assert bytes(event.body) == raw and event.connection == conn  # journaled exactly as sent
    assert event.state == replay.event, event.error
    replay.check(conn, given)


def test_the_handshake_sample_is_answered_as_meta_expects(client, tenant):
    sample = f.load_payload(HANDSHAKE)
    request = sample["request"]
    conn = f.make_connection(
        tenant.reseller, tenant.suporte, key="replay-hub", verify_token=request["query"]["hub.verify_token"]
    )
    assert request["method"] == "GET"
    answer = client.get(f"{webhook_url(conn)}?{request['raw_query_string']}")
    expected = sample["expected_when_token_matches"]
    assert answer.status_code == expected["status"] and answer.content.decode() == expected["body"]
    assert answer["Content-Type"].startswith(expected["content_type"])
    wrong = request["raw_query_string"].replace(request["query"]["hub.verify_token"], "another-token")
    assert client.get(f"{webhook_url(conn)}?{wrong}").status_code == sample["expected_when_token_mismatch"]["status"]
    assert not WebhookEvent.objects.exists()


def test_every_sample_is_replayed_or_listed_with_its_reason():
    replayed = {r.sample for r in REPLAYS} | {HANDSHAKE}
    on_disk = {p.name for p in f.SAMPLES.glob("*.json")}
    assert not replayed & set(NOT_WEBHOOK_BODIES)
    assert on_disk == replayed | set(NOT_WEBHOOK_BODIES), "a new sample: replay it here, or list why not"


def test_the_truncated_inline_audio_of_the_sample_is_not_stored_as_the_file(client, tenant):
    from whatsapp import media_fetch as downloads

    name = "evolution_messages_upsert_audio_ptt.json"
    raw = raw_sample(name)
    conn, headers = _connection_for(tenant, name, json.loads(raw))
    assert client.post(webhook_url(conn), data=raw, content_type="application/json", **headers).status_code == 200
    downloads.media_downloads_run(ignore_backoff=True)
    assert MediaDownload.objects.get().state != MediaDownload.State.STORED
