"""A misbehaving HTTP server on 127.0.0.1 for the outbound-safety tests.

Modes:
- "drip": answers one byte of a valid response every `interval` seconds, for up to `seconds`
  (a per-read timeout never fires against it);
- "redirect": answers 302 to `location`;
- "leak": answers 400 with a body an agent must never see.
Every request line it receives is recorded in `requests`.
"""

from __future__ import annotations

import json
import socket
import threading
import time

LEAK_TEXT = "INTERNAL purge done: db password is hunter2"


class SlowServer:
    def __init__(self, mode: str = "drip", *, seconds: float = 60.0, interval: float = 0.2, location: str = ""):
        self.mode, self.seconds, self.interval, self.location = mode, seconds, interval, location
        self.requests: list[str] = []
        self._stop = threading.Event()
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.1)
        self._thread = threading.Thread(target=self._serve, daemon=True, name="slow-server")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _read_request(self, conn) -> None:
        conn.settimeout(5)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                return
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(rest) < length:
            chunk = conn.recv(4096)
            if not chunk:
                break
            rest += chunk
        self.requests.append(head.split(b"\r\n", 1)[0].decode("latin-1"))

    def _answer(self, conn):
        try:
            self._read_request(conn)
            if self.mode == "redirect":
                conn.sendall(f"HTTP/1.1 302 Found\r\nLocation: {self.location}\r\nContent-Length: 0\r\n\r\n".encode())
            elif self.mode == "leak":
                body = json.dumps({"error": LEAK_TEXT, "message": LEAK_TEXT}).encode()
                conn.sendall(
                    b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
            else:
                response = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
                response += b" " * 100000
                started = time.monotonic()
                for i in range(len(response)):
                    if self._stop.is_set() or time.monotonic() - started > self.seconds:
                        break
                    conn.sendall(response[i : i + 1])
                    time.sleep(self.interval)
        except OSError:
            pass
        finally:
            conn.close()
