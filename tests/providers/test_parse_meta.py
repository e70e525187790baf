"""Meta Cloud API bodies → normalised records (no database)."""

import copy

import pytest

from providers import get_provider
from providers.meta import MetaProvider
from tests import factories as f
from whatsapp.models import Connection

META = MetaProvider(Connection(provider=Connection.Provider.META, phone_number_id="1"))


def one(name):
    result = META.parse(f.load_payload(name))
    assert len(result.messages) == 1, result.skipped
    return result.messages[0]


@pytest.mark.parametrize(
    "name, kind, raw_type",
    [
        ("meta_text.json", "text", "text"),
        ("meta_text_forwarded.json", "text", "text"),
        ("meta_text_reply_context.json", "text", "text"),
        ("meta_image.json", "image", "image"),
        ("meta_image_no_caption.json", "image", "image"),
        ("meta_document.json", "document", "document"),
        ("meta_audio_file_not_voice.json", "audio", "audio"),
        ("meta_location.json", "location", "location"),
        ("meta_location_current_no_name.json", "location", "location"),
        ("meta_interactive_button_reply.json", "interactive", "interactive"),
        ("meta_interactive_list_reply.json", "interactive", "interactive"),
        ("meta_reaction.json", "reaction", "reaction"),
        ("meta_reaction_removed_empty_emoji.json", "reaction", "reaction"),
        ("meta_system_identity_changed.json", "system", "system"),
        ("meta_unsupported_with_subtype.json", "unsupported", "pool"),
        ("meta_edit_image_caption.json", "image", "edit"),
    ],
)
def test_every_sample_kind(name, kind, raw_type):
    parsed = one(name)
    assert (parsed.message.kind, parsed.message.raw_type) == (kind, raw_type)
    assert parsed.message.provider_message_id.startswith("wamid.")
    assert parsed.message.timestamp is not None
    assert parsed.sender.identity


def test_text_sender_and_body():
    parsed = one("meta_text.json")
    assert parsed.message.text == "Does it come in another color?"
    assert parsed.sender.wa_id == "16505551234" and parsed.sender.name == "Sheena Nelson"
    assert parsed.phone_number_id == "106540352242922"


def test_media_fields_kept():
    doc = one("meta_document.json").message
    assert doc.media["id"] == "622684793477189" and doc.media["filename"] == "receipt.pdf"
    assert doc.media["mime_type"] == "application/pdf" and doc.media["caption"] == "my receipt"
    audio = one("meta_audio_file_not_voice.json").message
    assert audio.media["voice"] is False and audio.media["forwarded"] is True
    assert one("meta_image_no_caption.json").message.text == ""


def test_location_interactive_reply_context():
    loc = one("meta_location.json").message
    assert loc.media["latitude"] == pytest.approx(37.44221496582) and "Philz Coffee" in loc.text
    button = one("meta_interactive_button_reply.json").message
    assert button.text == "Change" and button.media["id"] == "change-button"
    assert button.reply_to_provider_id.startswith("wamid.")
    lst = one("meta_interactive_list_reply.json").message
    assert lst.media["type"] == "list_reply" and lst.media["id"] == "callback_data"
    assert one("meta_text_reply_context.json").message.reply_to_provider_id == "wamid.xyzxyz=="


def test_reactions_point_at_their_message():
    added = one("meta_reaction.json").message
    assert added.reply_to_provider_id == "wamid.yzxyzx=" and added.text == "😮" and added.media["removed"] is False
    removed = one("meta_reaction_removed_empty_emoji.json").message
    assert removed.text == "" and removed.media["removed"] is True


def test_edit_points_at_original():
    edit = one("meta_edit_image_caption.json").message
    assert edit.reply_to_provider_id.startswith("wamid.HBgLMTQx") and edit.text == "Updated image caption"


def test_unknown_type_is_unsupported_not_a_crash():
    body = f.load_payload("meta_text.json")
    m = body["entry"][0]["changes"][0]["value"]["messages"][0]
    m["type"], m["hologram"] = "hologram", {"x": 1}
    del m["text"]
    parsed = META.parse(body).messages[0].message
    assert (parsed.kind, parsed.raw_type) == ("unsupported", "hologram")


def test_user_id_identifies_when_wa_id_is_empty():
    body = f.load_payload("meta_text_forwarded.json")
    value = body["entry"][0]["changes"][0]["value"]
    value["messages"][0]["from"] = ""
    value["contacts"][0]["wa_id"] = ""
    sender = META.parse(body).messages[0].sender
    assert sender.wa_id == "" and sender.bsuid == "US.13491208655302741918"
    assert sender.identity == "US.13491208655302741918" and sender.name == "Test Name"


def test_no_contacts_array_and_empty_profile_name():
    body = f.load_payload("meta_text.json")
    del body["entry"][0]["changes"][0]["value"]["contacts"]
    sender = META.parse(body).messages[0].sender
    assert sender.wa_id == "16505551234" and sender.name == ""
    body = f.load_payload("meta_text.json")
    body["entry"][0]["changes"][0]["value"]["contacts"][0]["profile"]["name"] = ""
    assert META.parse(body).messages[0].sender.name == ""


def test_batch_of_entries_changes_messages_and_statuses():
    text, status = f.load_payload("meta_text.json"), f.load_payload("meta_status_read.json")
    change = text["entry"][0]["changes"][0]
    second = copy.deepcopy(change)
    second["value"]["messages"].append(copy.deepcopy(second["value"]["messages"][0]))
    for i, m in enumerate(second["value"]["messages"]):
        m["id"] = f"wamid.second{i}"
    text["entry"][0]["changes"].append(second)
    text["entry"].append(status["entry"][0])
    text["entry"][0]["changes"].append({"field": "account_update", "value": {}})
    result = META.parse(text)
    assert [m.message.provider_message_id for m in result.messages] == [
        change["value"]["messages"][0]["id"],
        "wamid.second0",
        "wamid.second1",
    ]
    assert [s.status for s in result.statuses] == ["read"]
    assert any("account_update" in s for s in result.skipped)


@pytest.mark.parametrize(
    "name, status",
    [
        ("meta_status_sent.json", "sent"),
        ("meta_status_delivered.json", "delivered"),
        ("meta_status_read.json", "read"),
        ("meta_status_played.json", "read"),
        ("meta_status_sent_biz_opaque_callback_data.json", "sent"),
        ("meta_status_failed_131049.json", "failed"),
    ],
)
def test_statuses(name, status):
    result = META.parse(f.load_payload(name))
    assert [s.status for s in result.statuses] == [status] and not result.messages


def test_failed_status_keeps_code_and_reason():
    s = META.parse(f.load_payload("meta_status_failed_130472.json")).statuses[0]
    assert s.error_code == "130472" and "experiment" in s.error_text


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"hello": "world"},
        [1, 2],
        "text",
        42,
        None,
        {"object": "whatsapp_business_account", "entry": "nope"},
        {"object": "whatsapp_business_account", "entry": [{"changes": [None, 3]}]},
        {
            "object": "whatsapp_business_account",
            "entry": [{"changes": [{"field": "messages", "value": {"messages": [{}]}}]}],
        },
    ],
)
def test_json_not_of_meta_shape_is_skipped(body):
    result = META.parse(body)
    assert result.empty


def test_factory_picks_the_adapter():
    from providers.evolution import EvolutionProvider

    assert isinstance(get_provider(Connection(provider="meta")), MetaProvider)
    assert isinstance(get_provider(Connection(provider="evolution")), EvolutionProvider)
    with pytest.raises(ValueError):
        get_provider(Connection(provider="telegram"))
