"""Request limits on a real gunicorn (gunicorn.conf.py, iaze.lib.request_size), over raw sockets.

Security round three: a 100 MB anonymous POST to the login page was received and spooled, and three slow
clients stopped every sync worker. Here two workers face three clients that each declare 100 MB and
send none of it: each is answered 413 at once, and the app still serves.
"""

import socket

import pytest
import requests

from tests.ops.helpers import App, scratch

pytestmark = pytest.mark.slow

MB = 1024 * 1024
# A generous deadline for an answer that comes at once; a worker waiting for the body would hold the
# connection until gunicorn's worker timeout (60 s), past it.
ANSWER_DEADLINE = 20


def _connect(app: App) -> socket.socket:
    return socket.create_connection(("127.0.0.1", app.port), timeout=ANSWER_DEADLINE)


def _answer(sock: socket.socket) -> tuple[int, bytes]:
    """Read until the server closes: (status, body)."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def _headers(path: str, extra: str) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=xyz\r\n{extra}\r\n"
    ).encode()


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with scratch(tmp_path_factory.mktemp("limits"), "sqlite") as db:
        db.manage("migrate", "--noinput")
        served = App(db, workers=2).start()
        try:
            yield served
        finally:
            served.stop_quietly()


def test_three_clients_declaring_100_mb_get_413_at_once_and_the_app_still_serves(app):
    clients = [_connect(app) for _ in range(3)]
    for sock in clients:
        sock.sendall(_headers("/accounts/login/", f"Content-Length: {100 * MB}\r\n"))
    # Not one byte of the bodies is sent: the answers come anyway, from two workers.
    answers = [_answer(sock) for sock in clients]
    for sock in clients:
        sock.close()
    assert [status for status, _ in answers] == [413, 413, 413]
    assert answers[0][1].decode().replace("\xa0", " ") == "O envio tem 100,0 MB; este endereço aceita até 1,0 MB."
    assert requests.get(f"{app.base}/healthz", timeout=ANSWER_DEADLINE).status_code == 200


def test_a_chunked_body_over_the_cap_is_413(app):
    sock = _connect(app)
    sock.sendall(_headers("/accounts/login/", "Transfer-Encoding: chunked\r\n"))
    # Exactly the cap plus one byte, then the last chunk: the server reads all that was sent (so it
    # closes cleanly, with nothing unread) and refuses the body.
    left, piece = MB + 1, 64 * 1024
    while left:
        n = min(piece, left)
        sock.sendall(f"{n:x}\r\n".encode() + b"a" * n + b"\r\n")
        left -= n
    sock.sendall(b"0\r\n\r\n")
    status, body = _answer(sock)
    sock.close()
    assert status == 413 and body.decode().replace("\xa0", " ") == "O envio passa de 1,0 MB, o limite deste endereço."


def test_gunicorn_conf_limits_the_request_line_and_headers(app):
    """gunicorn.conf.py is what serves: 64 headers at most (gunicorn alone allows 100), 4094-byte lines."""
    many = "".join(f"X-Filler-{i}: 1\r\n" for i in range(70))
    sock = _connect(app)
    sock.sendall(f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n{many}\r\n".encode())
    status, _ = _answer(sock)
    sock.close()
    assert status == 431  # Request Header Fields Too Large
    sock = _connect(app)
    sock.sendall(f"GET /healthz?{'q' * 5000} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    status, _ = _answer(sock)
    sock.close()
    assert status == 400  # gunicorn's answer to a request line over limit_request_line
    assert requests.get(f"{app.base}/healthz", timeout=ANSWER_DEADLINE).status_code == 200
