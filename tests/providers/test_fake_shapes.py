"""The fake provider answers every call the app makes in the shape the samples (tests/payloads/) document.

The app broke on a real Meta number because the fake spoke a shape no provider speaks (a media URL
without a query string). Each test here lets the app make its real call against the fake and compares
the key sets of the request and of the answer with the sample, recursively; values are free.
"""

from itertools import pairwise
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from providers import SendError, get_provider
from tests import factories as f
from tests.fake_provider import LOOKASIDE_PATH, META_ERRORS

pytestmark = pytest.mark.django_db

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4


def shape(value):
    """The keys of a JSON value, recursively: dicts by key, lists by the union of their items' shapes."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [shape(v) for v in value]
        merged: dict = {}
        for item in items:
            if isinstance(item, dict):
                merged = _merge(merged, item)
        return [merged] if merged else ([None] if items else [])
    return None


def _merge(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        out[k] = _merge(out[k], v) if isinstance(out.get(k), dict) and isinstance(v, dict) else v
    return out


def sample_shape(name: str):
    return shape(f.load_payload(name))


@pytest.fixture
def waba(tenant, fake):
    """A Meta connection with a business account, its sends and listings going to the fake."""
    return f.make_connection(
        tenant.reseller, tenant.suporte, key="shape-meta", api_base_url=fake.url + "/v21.0", business_account_id="555"
    )


# --- Meta: sending ---------------------------------------------------------------------------


def test_meta_send_text_request_and_answer_have_the_samples_keys(meta_live, fake):
    result = get_provider(meta_live).send_text(to="5511988887777", text="Olá")
    (call,) = fake.calls
    assert shape(call.json) == sample_shape("meta_send_text_request.json")
    assert shape(call.answer) == sample_shape("meta_send_text_response.json")
    assert result.provider_message_id == call.answer["messages"][0]["id"]


def test_meta_reaction_and_quoted_reply_are_answered_like_a_text(meta_live, fake):
    adapter = get_provider(meta_live)
    reacted = adapter.send_reaction(to="5511988887777", message_id="wamid.CLIENT", emoji="👍")
    quoted = adapter.send_text(to="5511988887777", text="Sim", quote={"id": "wamid.CLIENT"})
    for call, result in zip(fake.calls, (reacted, quoted), strict=True):
        assert shape(call.answer) == sample_shape("meta_send_text_response.json")
        assert result.provider_message_id == call.answer["messages"][0]["id"]
    assert fake.reactions() == [
        {"provider": "meta", "message_id": "wamid.CLIENT", "emoji": "👍", "to": "5511988887777"}
    ]
    assert fake.quotes() == ["wamid.CLIENT"]


def test_meta_refuses_a_reaction_or_a_context_without_a_message_id(meta_live, fake):
    base = f"{meta_live.api_base_url}/{meta_live.phone_number_id}/messages"
    auth = {"Authorization": "Bearer t"}
    for body in (
        {"messaging_product": "whatsapp", "to": "1", "type": "reaction", "reaction": {"emoji": "👍"}},
        {"messaging_product": "whatsapp", "to": "1", "type": "text", "text": {"body": "x"}, "context": {}},
    ):
        response = requests.post(base, json=body, headers=auth)
        assert response.status_code == 400
        _assert_graph_error(response.json())
        assert response.json()["error"]["code"] == 100


def test_meta_rate_limit_error_has_the_keys_of_the_130429_sample(meta_live, fake):
    fake.fail_next("130429")
    with pytest.raises(SendError) as refused:
        get_provider(meta_live).send_text(to="5511988887777", text="Olá")
    assert refused.value.code == "130429" and refused.value.retryable
    (call,) = fake.calls
    sample = f.load_payload("meta_send_error_130429.json")
    assert call.status == 400 and shape(call.answer) == shape(sample)
    assert call.answer["error"]["code"] == sample["error"]["code"]


GRAPH_ERROR_KEYS = {"message", "type", "code", "error_data", "fbtrace_id"}


def _assert_graph_error(answer) -> None:
    """Graph's error body: the 130429 sample's keys, `error_subcode` being optional."""
    sample = sample_shape("meta_send_error_130429.json")["error"]
    error = answer["error"]
    assert set(answer) == {"error"} and GRAPH_ERROR_KEYS <= set(error) <= set(sample)
    assert shape(error["error_data"]) == sample["error_data"] and error["error_data"]["messaging_product"] == "whatsapp"
    assert isinstance(error["code"], int) and error["fbtrace_id"]


@pytest.mark.parametrize("mode", sorted(META_ERRORS))
def test_every_meta_failure_mode_answers_graphs_error_shape(meta_live, fake, mode):
    fake.fail_next(mode)
    with pytest.raises(SendError) as refused:
        get_provider(meta_live).send_text(to="5511988887777", text="Olá")
    (call,) = fake.calls
    _assert_graph_error(call.answer)
    assert refused.value.code == str(META_ERRORS[mode].code) and call.status == META_ERRORS[mode].status


def test_meta_upload_failure_and_missing_token_answer_graphs_error_shape(meta_live, fake):
    fake.fail_next("500")
    with pytest.raises(SendError) as refused:
        get_provider(meta_live).send_media(to="5511988887777", kind="image", content=JPEG, mime_type="image/jpeg")
    assert refused.value.retryable
    _assert_graph_error(fake.calls[0].answer)
    fake.reset()
    anonymous = requests.post(f"{meta_live.api_base_url}/{meta_live.phone_number_id}/media", files={"file": b"x"})
    assert anonymous.status_code == 401
    _assert_graph_error(anonymous.json())
    assert anonymous.json()["error"]["code"] == 190


def test_meta_upload_answers_a_numeric_media_id(meta_live, fake):
    get_provider(meta_live).send_media(to="5511988887777", kind="image", content=JPEG, mime_type="image/jpeg")
    upload, send = fake.calls
    assert set(upload.answer) == {"id"} and upload.answer["id"].isdigit()
    assert send.json["image"]["id"] == upload.answer["id"]
    assert shape(send.answer) == sample_shape("meta_send_text_response.json")


# --- Meta: media --------------------------------------------------------------------------------


def _download(connection, media_id: str):
    return get_provider(connection).download_media(
        media={"id": media_id}, provider_message_id="wamid.X", max_bytes=10 * 1024 * 1024
    )


def test_media_lookup_answers_exactly_the_samples_keys_with_a_lookaside_url_and_query(meta_live, fake):
    fake.add_media("1336154517487720", JPEG, "image/jpeg")
    got = _download(meta_live, "1336154517487720")
    assert got.content == JPEG and got.mime_type == "image/jpeg"
    lookup, download = fake.calls
    sample = f.load_payload("meta_media_url_response.json")
    assert shape(lookup.answer) == shape(sample)
    assert isinstance(lookup.answer["file_size"], int) and lookup.answer["id"] == "1336154517487720"
    url = urlsplit(lookup.answer["url"])
    assert url.path == urlsplit(sample["url"]).path == LOOKASIDE_PATH
    query = parse_qs(url.query)
    assert set(query) == set(parse_qs(urlsplit(sample["url"]).query)) == {"mid", "ext", "hash"}
    assert query["mid"] == ["1336154517487720"] and query["ext"][0].isdigit() and len(query["hash"][0]) >= 32
    # The app followed the URL exactly as given, query string included, with its Bearer token.
    assert (download.path, download.query) == (url.path, url.query)
    assert download.headers["Authorization"] == f"Bearer {meta_live.access_token}"


def test_lookaside_url_serves_once_needs_the_token_and_its_own_hash(meta_live, fake):
    fake.add_media("77", JPEG, "image/jpeg")
    bearer = {"Authorization": "Bearer t"}

    def fresh_url() -> str:
        return requests.get(f"{fake.url}/v21.0/77", headers=bearer).json()["url"]

    url = fresh_url()
    assert requests.get(url).status_code == 401  # never without the token, even with a valid hash
    url = fresh_url()
    assert requests.get(url, headers=bearer).content == JPEG
    gone = requests.get(url, headers=bearer)
    assert gone.status_code == 404 and len(gone.content) < 100  # works once
    url = fresh_url()
    assert requests.get(url.replace("hash=", "hash=x"), headers=bearer).status_code == 404
    assert requests.get(url.replace("mid=77", "mid=78"), headers=bearer).status_code == 404
    url = fresh_url()
    fake.expire_urls(1)
    assert requests.get(url, headers=bearer).status_code == 404
    fake.url_ttl_seconds = -1  # Meta's URLs live about 5 minutes: one past its `ext` is expired
    assert requests.get(fresh_url(), headers=bearer).status_code == 404


def test_unknown_media_id_answers_graphs_error(meta_live, fake):
    with pytest.raises(SendError) as refused:
        _download(meta_live, "404404")
    assert refused.value.code == "100"
    _assert_graph_error(fake.calls[0].answer)
    assert fake.calls[0].answer["error"]["type"] == "GraphMethodException"


# --- Meta: template listing ---------------------------------------------------------------------


def _listing_sample() -> list[dict]:
    item = f.load_payload("meta_message_templates_page.json")["data"][0]
    return [{**item, "name": f"{item['name']}_{n}", "id": str(1190000000000001 + n)} for n in range(3)]


def test_template_listing_pages_like_graph_and_the_app_follows_every_next(waba, fake):
    fake.message_templates = _listing_sample()
    listed = get_provider(waba).list_templates()
    assert [t.name for t in listed] == [t["name"] for t in fake.message_templates]
    calls = [c for c in fake.calls if c.provider == "meta:templates"]
    assert len(calls) == 3  # template_page_size defaults to 1: paging is always exercised
    sample = f.load_payload("meta_message_templates_page.json")
    assert shape(calls[0].answer) == shape(sample)
    assert "previous" in calls[1].answer["paging"] and "next" not in calls[-1].answer["paging"]
    for before, after in pairwise(calls):
        given = urlsplit(before.answer["paging"]["next"])
        assert given.scheme == "http" and given.netloc == urlsplit(fake.url).netloc  # a full URL
        assert set(parse_qs(given.query)) == set(parse_qs(urlsplit(sample["paging"]["next"]).query))
        assert parse_qs(given.query)["access_token"] == [waba.access_token]
        assert (after.path, after.query) == (given.path, given.query)  # followed exactly as given
    first = parse_qs(calls[0].query)
    assert first["limit"] == ["100"] and "after" not in first


def test_template_page_size_follows_the_limit_capped_by_the_fake(waba, fake):
    fake.message_templates = _listing_sample()
    fake.template_page_size = None
    get_provider(waba).list_templates()
    assert [len(c.answer["data"]) for c in fake.calls] == [3]
    assert set(fake.calls[0].answer["paging"]) == {"cursors"}  # one page: no next
    fake.template_page_size = 2
    answer = requests.get(f"{waba.api_base_url}/555/message_templates?limit=1&access_token=t").json()
    assert len(answer["data"]) == 1  # the request's limit, under the cap
    rest = requests.get(answer["paging"]["next"]).json()  # the token travels in the URL alone
    assert [t["name"] for t in rest["data"]] == ["retomar_atendimento_1"]


def test_template_listing_refusals_answer_graphs_error(waba, fake):
    anonymous = requests.get(f"{waba.api_base_url}/555/message_templates")
    assert anonymous.status_code == 401
    _assert_graph_error(anonymous.json())
    bad_cursor = requests.get(f"{waba.api_base_url}/555/message_templates?after=nope&access_token=t")
    assert bad_cursor.status_code == 400
    _assert_graph_error(bad_cursor.json())
    fake.fail_next("500")
    with pytest.raises(SendError):
        get_provider(waba).list_templates()
    _assert_graph_error(fake.calls[-1].answer)


def test_short_template_dicts_are_listed_in_the_samples_item_shape(waba, fake):
    fake.message_templates = [{"name": "t", "language": "pt_BR", "status": "APPROVED", "components": []}]
    get_provider(waba).list_templates()
    (item,) = fake.calls[0].answer["data"]
    assert set(item) == set(f.load_payload("meta_message_templates_page.json")["data"][0])


# --- Evolution -----------------------------------------------------------------------------------


def test_evolution_send_text_request_and_answer_have_the_samples_keys(evo_live, fake):
    result = get_provider(evo_live).send_text(to="5511988887777", text="Olá")
    (call,) = fake.calls
    assert set(call.json) <= set(f.load_payload("evolution_send_text_request.json"))  # delay, linkPreview: optional
    assert shape(call.answer) == sample_shape("evolution_send_text_response.json")
    assert call.status == 201 and result.provider_message_id == call.answer["key"]["id"]


def test_evolution_send_media_answer_has_the_send_text_answers_keys(evo_live, fake):
    get_provider(evo_live).send_media(to="5511988887777", kind="image", content=JPEG, mime_type="image/jpeg")
    (call,) = fake.calls
    answer = call.answer
    assert set(answer) == set(f.load_payload("evolution_send_text_response.json"))
    assert answer["messageType"] == "imageMessage" and set(answer["message"]) == {"imageMessage"}


def test_evolution_reaction_and_quoted_reply_answer_the_send_text_answers_keys(evo_live, fake):
    adapter = get_provider(evo_live)
    reacted = adapter.send_reaction(to="5511988887777", message_id="3EB0CLIENT", emoji="❤️")
    quoted = adapter.send_text(to="5511988887777", text="Sim", quote={"id": "3EB0CLIENT", "text": "Pode?"})
    reaction, text = (c.answer for c in fake.calls)
    for answer, result in ((reaction, reacted), (text, quoted)):
        assert set(answer) == set(f.load_payload("evolution_send_text_response.json"))
        assert result.provider_message_id == answer["key"]["id"] and answer["key"]["fromMe"] is True
    assert reaction["messageType"] == "reactionMessage"
    assert reaction["message"]["reactionMessage"]["key"] == {
        "remoteJid": "5511988887777@s.whatsapp.net",
        "fromMe": False,
        "id": "3EB0CLIENT",
    }
    assert text["messageType"] == "extendedTextMessage"
    assert text["contextInfo"]["stanzaId"] == "3EB0CLIENT"
    assert text["contextInfo"]["quotedMessage"] == {"conversation": "Pode?"}


def test_evolution_refuses_a_reaction_without_its_key(evo_live, fake):
    base = evo_live.api_base_url
    for body in ({"reaction": "👍"}, {"key": {"id": "3EB0", "fromMe": False}, "reaction": "👍"}, {"key": {}}):
        response = requests.post(f"{base}/message/sendReaction/demo", json=body, headers={"apikey": "k"})
        assert response.status_code == 400
        assert shape(response.json()) == {**EVOLUTION_ERROR, "response": {"message": [None]}}
    assert fake.reactions()[0]["message_id"] is None  # recorded as asked, refused as the gateway refuses it


EVOLUTION_ERROR = {"status": None, "error": None, "response": {"message": None}}


@pytest.mark.parametrize("mode, status", [("500", 500), ("400", 400), ("130429", 400)])
def test_evolution_failures_answer_evolution_v2s_error_shape(evo_live, fake, mode, status):
    fake.fail_next(mode)
    with pytest.raises(SendError):
        get_provider(evo_live).send_text(to="5511988887777", text="Olá")
    answer = fake.calls[0].answer
    assert shape(answer) == {**EVOLUTION_ERROR, "response": {"message": shape(answer["response"]["message"])}}
    assert answer["status"] == status and isinstance(answer["response"]["message"], list)
    assert answer["error"] == ("Internal Server Error" if status == 500 else "Bad Request")


def test_evolution_refusals_share_the_error_shape(evo_live, fake):
    base = evo_live.api_base_url
    for response in (
        requests.post(f"{base}/message/sendText/demo", json={"number": "1", "text": "x"}),  # no apikey
        requests.get(f"{base}/instance/connect/demo"),
        requests.post(f"{base}/chat/findMessages/demo", json={}),
        requests.post(f"{base}/chat/getBase64FromMediaMessage/demo", json={}),
    ):
        assert response.status_code == 401
        assert response.json() == {"status": 401, "error": "Unauthorized", "response": {"message": "Unauthorized"}}
    unknown = requests.post(f"{base}/message/sendPoll/demo", json={}, headers={"apikey": "k"})
    assert unknown.status_code == 404
    assert unknown.json() == {
        "status": 404,
        "error": "Not Found",
        "response": {"message": ["Cannot POST /message/sendPoll/demo"]},
    }
    missing = requests.post(
        f"{base}/chat/getBase64FromMediaMessage/demo",
        json={"message": {"key": {"id": "none"}}},
        headers={"apikey": "k"},
    )
    assert missing.status_code == 400 and set(missing.json()) == set(EVOLUTION_ERROR)
