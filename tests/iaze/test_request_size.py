"""Request bodies are capped per route and refused with 413 before they are read (iaze.lib.request_size).

Security round three: a 100 MB anonymous POST to the login page was received and spooled, and three slow
clients held every sync worker. The real server is in tests/ops/test_request_limits.py; here the
whole Django stack runs on a WSGI environ whose body counts the bytes read from it.
"""

import io
import json
import urllib.parse

import pytest
from django.conf import settings as django_settings
from django.test import RequestFactory
from django.test.client import ClientHandler

from tests import factories as f
from tickets.models import Message
from whatsapp.models import WebhookEvent

pytestmark = pytest.mark.django_db

MB = 1024 * 1024
LOGIN = "/accounts/login/"


class CountingBody(io.RawIOBase):
    """A body of `size` bytes that is never built: it counts what is read from it."""

    def __init__(self, size: int, fill: bytes = b"a"):
        super().__init__()
        self.size, self.fill, self.read_bytes = size, fill, 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        left = self.size - self.read_bytes
        n = left if n is None or n < 0 else min(n, left)
        self.read_bytes += n
        return self.fill * n


def _text(response) -> str:
    return response.content.decode().replace("\xa0", " ")  # sizes are written with a no-break space


def _handle(path: str, body, *, length: int | None, method: str = "POST", headers=None, **environ):
    """Django's full request handling (the test client's handler, CSRF checks off) for this raw body.
    length None: no Content-Length, the stream ended by the server, as gunicorn hands over a chunked body."""
    env = RequestFactory()._base_environ(
        PATH_INFO=path, REQUEST_METHOD=method, CONTENT_TYPE="application/x-www-form-urlencoded", **(headers or {})
    )
    env.pop("CONTENT_LENGTH", None)
    if length is not None:
        env["CONTENT_LENGTH"] = str(length)
    else:
        env["wsgi.input_terminated"] = True
    env["wsgi.input"] = body
    env.update(environ)
    return ClientHandler(enforce_csrf_checks=False)(env)


def test_a_100_mb_anonymous_post_to_the_login_is_413_and_never_read():
    """As multipart, the body Django streams to a temporary file whatever the view (CSRF reads the form)."""
    body = CountingBody(100 * MB)
    response = _handle(LOGIN, body, length=100 * MB, CONTENT_TYPE="multipart/form-data; boundary=xyz")
    assert response.status_code == 413
    assert body.read_bytes == 0
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert _text(response) == "O envio tem 100,0 MB; este endereço aceita até 1,0 MB."


def test_the_reason_follows_the_browsers_language():
    response = _handle(LOGIN, CountingBody(100 * MB), length=100 * MB, headers={"HTTP_ACCEPT_LANGUAGE": "en"})
    assert response.status_code == 413
    assert _text(response) == "The upload is 100.0 MB; this address takes at most 1.0 MB."


def test_a_chunked_body_over_the_cap_is_413_after_at_most_cap_plus_one_bytes():
    cap = django_settings.REQUEST_MAX_BYTES
    body = CountingBody(100 * MB)
    response = _handle(LOGIN, body, length=None)
    assert response.status_code == 413
    assert body.read_bytes == cap + 1
    assert _text(response) == "O envio passa de 1,0 MB, o limite deste endereço."


def test_a_chunked_body_within_the_cap_is_the_requests_body(agent1):
    """Django alone reads a body without Content-Length as empty: the spooled copy is handed to it."""
    form = urllib.parse.urlencode({"username": agent1.email, "password": f.PASSWORD}).encode()
    response = _handle(LOGIN, io.BytesIO(form), length=None)
    assert response.status_code == 302 and response["Location"] == "/tickets/"
    # A GET through gunicorn (an ended, empty stream) is left as it is.
    assert _handle(LOGIN, io.BytesIO(b""), length=None, method="GET").status_code == 200


def test_a_body_at_the_cap_is_read_normally(settings, agent1):
    form = urllib.parse.urlencode({"username": agent1.email, "password": f.PASSWORD}).encode()
    settings.REQUEST_MAX_BYTES = len(form)
    assert _handle(LOGIN, io.BytesIO(form), length=len(form)).status_code == 302
    assert _handle(LOGIN, io.BytesIO(form + b"&x=1"), length=len(form) + 4).status_code == 413


def test_the_longest_note_fits_the_form_cap(client, agent1, meta_conn):
    """A 50,000-character note (its limit) of 4-byte characters is 600 KB once form-encoded: under 1 MB."""
    ticket = f.make_ticket(meta_conn, agent=agent1)
    client.force_login(agent1)
    text = "😀" * 50_000
    assert len(urllib.parse.urlencode({"text": text})) < django_settings.REQUEST_MAX_BYTES
    response = client.post(f"/tickets/{ticket.pk}/nota/", {"text": text})
    assert response.status_code in (302, 303)
    assert Message.objects.get(ticket=ticket, direction="note").text == text


def _pdf(size: int) -> io.BytesIO:
    upload = io.BytesIO(b"%PDF-1.4\n" + b"0" * (size - 9))
    upload.name = "boleto.pdf"
    return upload


def test_the_reply_takes_a_file_under_its_cap_and_refuses_one_over_it(client, settings, agent1, meta_conn):
    """The reply (an attachment route) has REQUEST_MAX_UPLOAD_BYTES; the note, a form, REQUEST_MAX_BYTES."""
    settings.REQUEST_MAX_BYTES = 100 * 1024
    settings.REQUEST_MAX_UPLOAD_BYTES = 1 * MB
    ticket = f.make_ticket(meta_conn, agent=agent1)
    client.force_login(agent1)
    reply = f"/tickets/{ticket.pk}/responder/"

    response = client.post(reply, {"text": "segue o boleto", "file": _pdf(300 * 1024)})
    assert response.status_code == 303
    sent = Message.objects.get(ticket=ticket, direction="out")
    assert sent.kind == "document" and sent.media_file.size == 300 * 1024

    # The same 300 KB is over the cap of a route that takes no file.
    response = client.post(f"/tickets/{ticket.pk}/nota/", {"text": "x", "file": _pdf(300 * 1024)})
    assert response.status_code == 413 and not Message.objects.filter(direction="note").exists()

    response = client.post(reply, {"text": "grande demais", "file": _pdf(MB + 1)})
    assert response.status_code == 413
    reason = _text(response)
    assert reason.startswith("O envio tem 1,0 MB;") and reason.endswith("este endereço aceita até 1,0 MB.")
    assert Message.objects.filter(ticket=ticket, direction="out").count() == 1


def test_the_webhook_keeps_its_own_cap_and_answers(client, settings, meta_conn):
    """Above every route cap, the webhook's body is its view's to read; its 413 and its 404 are as before."""
    settings.REQUEST_MAX_BYTES = 1024
    settings.WHATSAPP_WEBHOOK_MAX_BYTES = 10_000
    url = f"/whatsapp/webhook/{meta_conn.key}/"
    body = CountingBody(20_000, fill=b" ")
    response = _handle(url, body, length=20_000, CONTENT_TYPE="application/json")
    assert response.status_code == 413 and json.loads(response.content) == {"error": "body too large"}
    assert body.read_bytes == 0 and WebhookEvent.objects.count() == 0
    # An unknown key is still a 404, whatever the body says it weighs.
    assert _handle("/whatsapp/webhook/nope/", CountingBody(20_000), length=20_000).status_code == 404
    # A body between REQUEST_MAX_BYTES and the webhook's cap reaches the view (401: not signed).
    assert _handle(url, io.BytesIO(b" " * 5000), length=5000, CONTENT_TYPE="application/json").status_code == 401
