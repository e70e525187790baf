"""The address rule holds on the connection actually made; answers are capped after decompression;
URLs the provider hands over are followed as given.

Every server here listens on 127.0.0.1. A test that needs a "public" host maps a made-up name to
addresses through a patched resolver, and a guard on the connect call fails the test before any
socket could reach an address outside the loopback range.
"""

from __future__ import annotations

import gzip
import socket
import threading
import tracemalloc
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from iaze.lib import outbound
from providers import SendError
from providers.base import get_bytes, get_json, post_json
from providers.url_guard import UnsafeURL, check_given_url, check_provider_url, check_shape

PUBLIC = "93.184.216.34"  # a global address; never connected to (see `no_wire_outside_loopback`)
MB = 1024 * 1024


class Answers:
    """A local HTTP server whose answer per path the test sets: (status, headers, body)."""

    def __init__(self):
        self.routes: dict[str, tuple[int, dict, bytes]] = {}
        self.seen: list[str] = []
        self.hosts: list[str] = []
        answers = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _answer(self):
                answers.seen.append(self.path)
                answers.hosts.append(self.headers.get("Host", ""))
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                status, headers, body = answers.routes.get(self.path.split("?", 1)[0], (404, {}, b"{}"))
                self.send_response(status)
                for name, value in {"Content-Length": str(len(body)), **headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def answers():
    with Answers() as server:
        yield server


@pytest.fixture
def private_refused(settings):
    settings.ALLOW_PRIVATE_PROVIDER_HOSTS = False


@pytest.fixture
def no_wire_outside_loopback(monkeypatch):
    """Fails the test at once if any connection is tried to an address outside 127.0.0.0/8."""
    real = outbound._connect
    tried: list[str] = []

    def guarded(family, sockaddr, timeout, options):
        tried.append(str(sockaddr[0]))
        assert str(sockaddr[0]).startswith("127."), f"a test tried to connect to {sockaddr[0]}"
        return real(family, sockaddr, timeout, options)

    monkeypatch.setattr(outbound, "_connect", guarded)
    return tried


def _resolver(monkeypatch, answers_by_call: list[str], *, name: str):
    """`name` resolves to answers_by_call[0] at the first lookup, [1] at the second, and so on."""
    real = socket.getaddrinfo
    calls = {"n": 0}

    def fake(host, port, *args, **kwargs):
        if host != name:
            return real(host, port, *args, **kwargs)
        address = answers_by_call[min(calls["n"], len(answers_by_call) - 1)]
        calls["n"] += 1
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return calls


# --- shapes -----------------------------------------------------------------------------------

LOOKASIDE = (
    "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1336154517487720&ext=1764938413"
    "&hash=ATuRQ1yZ0-Jm9LQ3wC6nAgX3hHqkp5tF0n8Wc7kQm2pZ0w"
)
NEXT_PAGE = (
    "https://graph.facebook.com/v21.0/102290129340398/message_templates?access_token=EAAJB...&fields=name%2Cstatus"
    "&limit=1&after=QVFIUkVrTEdJUWY5SmtfRW9MMZD"
)


@pytest.mark.parametrize("url", [LOOKASIDE, NEXT_PAGE])
def test_a_url_the_provider_hands_over_keeps_its_query_string(url):
    check_given_url(url)  # no exception
    with pytest.raises(UnsafeURL):
        check_shape(url)  # the rule for a typed API base still refuses it


@pytest.mark.parametrize(
    "url", ["ftp://lookaside.fbsbx.com/x?mid=1", "https://user:pw@lookaside.fbsbx.com/?mid=1", "/relative?mid=1"]
)
def test_a_given_url_still_needs_http_a_host_and_no_user_info(url):
    with pytest.raises(UnsafeURL):
        check_given_url(url)


def test_a_given_url_is_requested_exactly_as_given(answers):
    body = b'{"ok": true}'
    answers.routes["/whatsapp_business/attachments/"] = (200, {"Content-Type": "image/jpeg"}, body)
    url = f"http://127.0.0.1:{answers.port}/whatsapp_business/attachments/?mid=1336&ext=1764938413&hash=AT-x_y%2Bz"
    status, content, _ = get_bytes(url, headers={}, max_bytes=MB, given=True)
    assert (status, content) == (200, body)
    assert answers.seen == ["/whatsapp_business/attachments/?mid=1336&ext=1764938413&hash=AT-x_y%2Bz"]


# --- the address rule on the connection made ------------------------------------------------------


def test_a_loopback_media_url_is_refused_before_any_byte_is_sent(private_refused, answers):
    answers.routes["/whatsapp_business/attachments/"] = (200, {}, b"secret")
    url = f"http://127.0.0.1:{answers.port}/whatsapp_business/attachments/?mid=1&hash=x"
    with pytest.raises(SendError) as exc:
        get_bytes(url, headers={}, max_bytes=MB, given=True)
    assert exc.value.code == "unsafe_url" and not exc.value.retryable
    assert "interno" in exc.value.text
    assert answers.seen == []


def test_a_name_that_rebinds_to_loopback_after_the_check_is_refused(
    private_refused, answers, monkeypatch, no_wire_outside_loopback
):
    name = "rebind.iaze-test.example"
    calls = _resolver(monkeypatch, [PUBLIC, "127.0.0.1"], name=name)
    url = f"http://{name}:{answers.port}/v21.0/1/messages"
    check_provider_url(url)  # the form's check sees the public address and lets it through
    assert calls["n"] == 1
    with pytest.raises(SendError) as exc:
        post_json(url, json={"to": "5511"}, headers={})
    assert exc.value.code == "unsafe_url"
    assert calls["n"] == 2  # one lookup, made by the connection itself, and judged there
    assert answers.seen == [] and no_wire_outside_loopback == []


def test_a_name_with_one_internal_address_among_public_ones_is_refused(private_refused, monkeypatch):
    name = "mixed.iaze-test.example"
    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):
        if host != name:
            return real(host, port, *args, **kwargs)
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC, port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.5", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    with pytest.raises(outbound.AddressRefused):
        outbound.resolve(name, 443)


def test_the_connection_is_made_to_the_address_checked_keeping_the_host_header(
    settings, answers, monkeypatch, no_wire_outside_loopback
):
    settings.ALLOW_PRIVATE_PROVIDER_HOSTS = True  # the address is loopback; here only the pinning is looked at
    name = "pinned.iaze-test.example"
    answers.routes["/v"] = (200, {"Content-Type": "application/json"}, b"{}")
    calls = _resolver(monkeypatch, ["127.0.0.1"], name=name)
    response = get_json(f"http://{name}:{answers.port}/v", headers={})
    assert response.status_code == 200 and calls["n"] == 1
    assert answers.hosts == [f"{name}:{answers.port}"] and no_wire_outside_loopback == ["127.0.0.1"]


def test_a_redirect_in_a_media_download_is_answered_not_followed(answers):
    answers.routes["/file"] = (302, {"Location": f"http://127.0.0.1:{answers.port}/internal"}, b"")
    status, content, _ = get_bytes(f"http://127.0.0.1:{answers.port}/file?mid=1", headers={}, max_bytes=MB, given=True)
    assert status == 302 and content == b""
    assert answers.seen == ["/file?mid=1"]


# --- bounded answers --------------------------------------------------------------------------------


def _gzip_bomb(inflated: int) -> bytes:
    return gzip.compress(b"\0" * inflated, compresslevel=9)


def test_a_gzip_answer_that_inflates_past_the_cap_is_refused_with_bounded_memory(settings, answers):
    settings.WHATSAPP_ANSWER_MAX_BYTES = 1 * MB
    bomb = _gzip_bomb(200 * MB)
    assert len(bomb) < 300 * 1024  # a small answer on the wire
    answers.routes["/bomb"] = (200, {"Content-Encoding": "gzip", "Content-Type": "application/json"}, bomb)
    tracemalloc.start()
    try:
        with pytest.raises(SendError) as exc:
            get_json(f"http://127.0.0.1:{answers.port}/bomb", headers={})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert exc.value.code == "answer_too_large" and not exc.value.retryable
    assert peak < 4 * MB, f"peak {peak / MB:.1f} MB while refusing a 200 MB inflation past a 1 MB cap"


def test_a_file_that_inflates_past_its_limit_is_too_large(answers):
    answers.routes["/file"] = (200, {"Content-Encoding": "gzip"}, _gzip_bomb(8 * MB))
    with pytest.raises(SendError) as exc:
        get_bytes(f"http://127.0.0.1:{answers.port}/file", headers={}, max_bytes=2 * MB, given=True)
    assert exc.value.code == "too_large"


@pytest.mark.parametrize(
    "encoding,encode",
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, as some servers send it
        ("", lambda data: data),
    ],
)
def test_answers_within_the_cap_are_decoded(answers, encoding, encode):
    body = b'{"messaging_product": "whatsapp", "messages": [{"id": "wamid.X"}]}'
    headers = {"Content-Type": "application/json", **({"Content-Encoding": encoding} if encoding else {})}
    answers.routes["/ok"] = (200, headers, encode(body))
    response = get_json(f"http://127.0.0.1:{answers.port}/ok", headers={})
    assert response.json() == {"messaging_product": "whatsapp", "messages": [{"id": "wamid.X"}]}


def test_an_encoding_we_cannot_inflate_is_refused(answers):
    answers.routes["/br"] = (200, {"Content-Encoding": "br"}, b"\x1b\x00\x00")
    with pytest.raises(SendError) as exc:
        get_json(f"http://127.0.0.1:{answers.port}/br", headers={})
    assert exc.value.code == "answer_unreadable"


def test_a_plain_answer_over_the_cap_is_refused(settings, answers):
    settings.WHATSAPP_ANSWER_MAX_BYTES = 1024
    answers.routes["/big"] = (200, {"Content-Type": "application/json"}, b"[" + b"1," * 4000 + b"1]")
    with pytest.raises(SendError) as exc:
        get_json(f"http://127.0.0.1:{answers.port}/big", headers={})
    assert exc.value.code == "answer_too_large"


# --- TLS: the certificate is checked against the URL's name, not the pinned address -------------------


@pytest.fixture
def tls_server(tmp_path):
    """An HTTPS server on 127.0.0.1 whose self-signed certificate names only `tls.iaze-test.example`."""
    import shutil
    import ssl
    import subprocess

    if not shutil.which("openssl"):
        pytest.fail("openssl is needed to make the test certificate")
    name = "tls.iaze-test.example"
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={name}",
         "-addext", f"subjectAltName=DNS:{name}", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    server = Answers()
    server.routes["/v"] = (200, {"Content-Type": "application/json"}, b'{"ok": true}')
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.server.socket = context.wrap_socket(server.server.socket, server_side=True)
    with server:
        yield name, server, str(cert)


def test_tls_to_a_pinned_address_verifies_the_certificate_against_the_urls_name(
    settings, tls_server, monkeypatch, no_wire_outside_loopback
):
    settings.ALLOW_PRIVATE_PROVIDER_HOSTS = True  # the test server is on loopback
    name, server, cert = tls_server
    _resolver(monkeypatch, ["127.0.0.1"], name=name)
    response = outbound.session().get(f"https://{name}:{server.port}/v", verify=cert, timeout=10, stream=True)
    assert outbound.read_capped(response, MB) == b'{"ok": true}'
    assert server.hosts == [f"{name}:{server.port}"]
    # The same server reached by its address: the certificate does not name it, so TLS refuses.
    import requests

    with pytest.raises(requests.exceptions.SSLError):
        outbound.session().get(f"https://127.0.0.1:{server.port}/v", verify=cert, timeout=10)
