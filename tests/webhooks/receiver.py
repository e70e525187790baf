"""A webhook receiver for tests and the bench: a local HTTP server that records every delivery.

    with Receiver() as rx:                 # 127.0.0.1, a free port
        rx.url("/hook?token=abc")          # http://127.0.0.1:<port>/hook?token=abc
        rx.mode = "ok" | "500" | "redirect" | "hang"
        rx.calls                           # [Call(path, headers, body)], in arrival order

"hang" holds the request without answering until release() or stop() (no sleeping: the sender's own deadline
is what ends the call). "redirect" answers 302 to /elsewhere, which records a call there if ever followed.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Call:
    path: str
    headers: dict
    body: bytes


class Receiver:
    def __init__(self, *, record: bool = True):
        self.mode = "ok"
        self.calls: list[Call] = []
        self.count = 0
        self.record = record
        self._lock = threading.Lock()
        self._release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall each

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.count += 1
                    if receiver.record:
                        receiver.calls.append(Call(self.path, dict(self.headers), body))
                    mode = receiver.mode
                if mode == "hang" and not self.path.startswith("/elsewhere"):
                    receiver._release.wait(30)
                    return
                if mode == "500":
                    self._answer(500, b"erro")
                elif mode == "redirect" and not self.path.startswith("/elsewhere"):
                    self.send_response(302)
                    self.send_header("Location", "/elsewhere")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                else:
                    self._answer(200, b"ok")

            def _answer(self, code, body):
                self.send_response(code)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def release(self) -> None:
        self._release.set()

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
