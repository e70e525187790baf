"""Evolution API envelopes → normalised records (no database)."""

import pytest

from providers.evolution import EvolutionProvider
from tests import factories as f
from whatsapp.models import Connection

EVO = EvolutionProvider(Connection(provider=Connection.Provider.EVOLUTION, instance_name="demo"))


def one(body):
    result = EVO.parse(body if isinstance(body, dict) else f.load_payload(body))
    assert len(result.messages) == 1, result.skipped
    return result.messages[0]


def test_text_conversation():
    parsed = one("evolution_messages_upsert_text.json")
    assert parsed.message.text == "hola - text" and parsed.message.kind == "text"
    assert parsed.message.provider_message_id == "3EB03E3CA617ADA52AEA79"
    assert parsed.sender.wa_id == "5511988887777" and parsed.sender.name == "Cliente Teste"
    assert not parsed.from_me and not parsed.is_group and parsed.message.timestamp.year == 2025


def test_extended_text_and_group():
    parsed = one("evolution_messages_upsert_group_extended_text.json")
    assert parsed.is_group and parsed.message.text.startswith("Perfumes")
    assert one("evolution_messages_upsert_group_text.json").is_group


def test_image_caption_and_ptt_audio():
    image = one("evolution_messages_upsert_image_caption.json").message
    assert image.kind == "image" and image.text == "hola - text con multimedia (imagen)"
    assert image.media["mime_type"] == "image/jpeg" and "base64" not in image.media
    audio = one("evolution_messages_upsert_audio_ptt.json").message
    assert audio.kind == "audio" and audio.media["voice"] is True and audio.media["seconds"] == 19


def test_from_me_is_flagged_and_its_push_name_is_not_the_client():
    parsed = one("evolution_messages_upsert_fromme_text.json")
    assert parsed.from_me and parsed.sender.wa_id == "5511988887777" and parsed.sender.name == ""


def test_lid_only_sender_gets_a_stable_identity_and_id():
    a, b = one("evolution_messages_upsert_lid_only.json"), one("evolution_messages_upsert_lid_only.json")
    assert a.sender.wa_id == "" and a.sender.identity == "13718@lid"
    assert a.message.provider_message_id.startswith("evo-")
    assert a.message.provider_message_id == b.message.provider_message_id


@pytest.mark.parametrize("where", ["remoteJidAlt", "senderPn"])
def test_lid_sender_with_phone_alternative(where):
    body = f.load_payload("evolution_messages_upsert_lid_only.json")
    body["data"]["key"][where] = "5511977770000@s.whatsapp.net"
    sender = one(body).sender
    assert sender.wa_id == "5511977770000" and sender.bsuid == "13718@lid"


def test_reaction_and_unknown_type():
    body = f.load_payload("evolution_messages_upsert_text.json")
    body["data"]["message"] = {"reactionMessage": {"key": {"id": "3EBTARGET"}, "text": "👍"}}
    body["data"]["messageType"] = "reactionMessage"
    r = one(body).message
    assert (r.kind, r.text, r.reply_to_provider_id) == ("reaction", "👍", "3EBTARGET")
    body["data"]["message"] = {"pollCreationMessageV3": {"name": "?"}}
    body["data"]["messageType"] = "pollCreationMessageV3"
    u = one(body).message
    assert (u.kind, u.raw_type) == ("unsupported", "pollCreationMessageV3")


def test_receipts():
    read = EVO.parse(f.load_payload("evolution_messages_update_read.json"))
    assert [(s.provider_message_id, s.status) for s in read.statuses] == [("A5561E44C2A63682E4295B52F484C14E", "read")]
    deleted = EVO.parse(f.load_payload("evolution_messages_update_deleted_status.json"))
    # Not a receipt: what the client did to its message (tickets.reads.conversation shows it).
    assert not deleted.statuses
    assert [(c.provider_message_id, c.action) for c in deleted.changes] == [
        ("A5561E44C2A63682E4295B52F484C14E", "deleted")
    ]
    numeric = {"event": "MESSAGES_UPDATE", "data": [{"key": {"id": "X1"}, "update": {"status": 3}}]}
    assert [(s.provider_message_id, s.status) for s in EVO.parse(numeric).statuses] == [("X1", "delivered")]


def test_connection_update():
    states = EVO.parse(f.load_payload("evolution_connection_update_close.json")).states
    assert [(s.state, s.reason) for s in states] == [("close", "401")] and states[0].timestamp.year == 2025


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"event": "qrcode.updated", "data": {}},
        [1],
        "x",
        {"event": "messages.upsert"},
        {"event": "messages.upsert", "data": {"key": {}}},
    ],
)
def test_json_not_of_evolution_shape_is_skipped(body):
    assert EVO.parse(body).empty
