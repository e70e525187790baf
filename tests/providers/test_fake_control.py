"""The fake provider's HTTP control API (/_fake/...), what a standalone fake (`python -m tests.fake_provider`)
is driven by: control paths are routed before any provider route, so none can shadow them."""

import base64

import requests

JPEG = b"\xff\xd8\xff\xe0fake jpeg"
BEARER = {"Authorization": "Bearer t"}


def control(fake, path, body=None):
    if body is None:
        return requests.get(f"{fake.url}/_fake/{path}")
    return requests.post(f"{fake.url}/_fake/{path}", json=body)


def test_posting_media_is_a_control_call_not_metas_upload_route(fake):
    answer = control(fake, "media", {"id": "123", "base64": base64.b64encode(JPEG).decode(), "mime_type": "image/jpeg"})
    assert (answer.status_code, answer.json()) == (200, {"ok": True})
    assert fake.calls == []  # nothing recorded as a provider call
    info = requests.get(f"{fake.url}/v21.0/123", headers=BEARER).json()
    assert info["mime_type"] == "image/jpeg" and info["file_size"] == len(JPEG)
    assert requests.get(info["url"], headers=BEARER).content == JPEG


def test_expire_control_makes_the_next_download_url_answer_expired(fake):
    fake.add_media("9", JPEG, "image/jpeg")
    assert control(fake, "expire", {"times": 1}).status_code == 200
    url = requests.get(f"{fake.url}/v21.0/9", headers=BEARER).json()["url"]
    assert requests.get(url, headers=BEARER).status_code == 404
    url = requests.get(f"{fake.url}/v21.0/9", headers=BEARER).json()["url"]
    assert requests.get(url, headers=BEARER).status_code == 200


def test_templates_and_page_size_are_set_and_read_over_http(fake):
    templates = [{"name": f"t{n}", "language": "pt_BR", "status": "APPROVED", "components": []} for n in range(5)]
    assert control(fake, "templates", {"templates": templates, "page_size": 2}).status_code == 200
    assert control(fake, "templates").json() == {"templates": templates, "page_size": 2}
    page = requests.get(f"{fake.url}/v21.0/555/message_templates", headers=BEARER).json()
    names = [t["name"] for t in page["data"]]
    while "next" in page["paging"]:
        page = requests.get(page["paging"]["next"]).json()
        names += [t["name"] for t in page["data"]]
        assert len(page["data"]) <= 2
    assert names == [t["name"] for t in templates]
    assert control(fake, "templates", {"page_size": None}).status_code == 200
    assert fake.template_page_size is None and len(fake.message_templates) == 5  # only what was named changes
    control(fake, "reset", {})
    assert fake.template_page_size == 1


def test_fail_latency_and_calls_over_http(fake):
    assert control(fake, "fail", {"mode": "130429", "times": 1}).status_code == 200
    refused = requests.post(f"{fake.url}/v21.0/1/messages", json={"to": "5511"}, headers=BEARER)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == 130429
    assert control(fake, "latency", {"ms": 1}).status_code == 200 and fake.latency_ms == 1
    (call,) = control(fake, "calls").json()
    assert call["path"] == "/v21.0/1/messages" and call["status"] == 400 and call["answer"]["error"]["code"] == 130429
    assert control(fake, "fail", {"mode": "500", "times": 0}).status_code == 200  # always, until reset
    assert requests.post(f"{fake.url}/v21.0/1/messages", json={}, headers=BEARER).status_code == 500
    assert requests.post(f"{fake.url}/v21.0/1/messages", json={}, headers=BEARER).status_code == 500
    control(fake, "reset", {})
    assert requests.post(f"{fake.url}/v21.0/1/messages", json={}, headers=BEARER).status_code == 200


def test_bad_control_bodies_and_unknown_paths_are_refused_plainly(fake):
    assert control(fake, "fail", {"mode": "no-such-mode"}).status_code == 400
    assert control(fake, "media", {"id": "1", "base64": "%%%"}).status_code == 400
    assert control(fake, "media", {"base64": ""}).status_code == 400
    assert control(fake, "templates", {"templates": "not a list"}).status_code == 400
    assert control(fake, "nothing", {}).status_code == 404
    assert control(fake, "nothing").status_code == 404
    assert fake.calls == []


def test_hang_holds_one_connections_calls_while_the_others_answer(fake):
    """Tenant B's gateway stuck, tenant A's fine: the calls of B's instance (or B's credential) are held until
    released, then answered; everybody else's are answered at once."""
    import threading

    fake.add_media("7", JPEG, "image/jpeg")
    assert control(fake, "hang", {"match": "evo-b"}).status_code == 200
    fake.hang("token-of-b")
    answers = {}

    def call(name, method, path, **kw):
        answers[name] = requests.request(method, f"{fake.url}{path}", timeout=30, **kw)

    held = [
        threading.Thread(
            target=call, args=("b-connect", "GET", "/instance/connect/evo-b"), kwargs={"headers": {"apikey": "k"}}
        ),
        threading.Thread(
            target=call, args=("b-media", "GET", "/v21.0/7"), kwargs={"headers": {"Authorization": "Bearer token-of-b"}}
        ),
    ]
    for thread in held:
        thread.start()
    assert fake.wait_held(2, timeout=30)
    assert fake.held("evo-b") == 1 and fake.held("token-of-b") == 1
    assert control(fake, "held").json() == {"held": {"evo-b": 1, "token-of-b": 1}}
    # Tenant A: another instance, another token, answered while B's calls are held.
    a = requests.get(f"{fake.url}/instance/connect/evo-a", headers={"apikey": "k"}, timeout=30)
    assert a.status_code == 200 and "b-connect" not in answers
    assert requests.get(f"{fake.url}/v21.0/7", headers=BEARER, timeout=30).json()["mime_type"] == "image/jpeg"
    assert "b-media" not in answers and fake.held() == 2

    assert control(fake, "release", {"match": "evo-b"}).status_code == 200
    held[0].join(30)
    assert answers["b-connect"].status_code == 200 and fake.held("evo-b") == 0 and fake.held("token-of-b") == 1
    control(fake, "release", {})
    held[1].join(30)
    assert answers["b-media"].json()["mime_type"] == "image/jpeg" and fake.held() == 0
    # Released means no longer hung: the next call of B is answered at once.
    assert requests.get(f"{fake.url}/instance/connect/evo-b", headers={"apikey": "k"}, timeout=30).status_code == 200
