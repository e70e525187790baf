"""A fake WhatsApp provider for tests, demos and benchmarks (Meta Cloud API + Evolution API sends).

It answers with the providers' real response shapes, records every call, and can be
told to fail or to be slow.

In-process (tests):

    from tests.fake_provider import FakeProvider

    with FakeProvider() as fake:                  # binds 127.0.0.1 on a free port (or port=...)
        connection.api_base_url = fake.url        # Meta:      POST {url}/{phone_number_id}/messages
        ...                                       # Evolution: POST {url}/message/sendText/{instance}
        fake.fail_next("130429", times=2)         # then answers normally again
        fake.fail_always("500")                   # until fake.reset()
        fake.latency_ms = 50
        fake.calls                                # list of Call(provider, path, headers, json, status, at)
        fake.texts()                              # the texts it was asked to send, in order
        fake.templates()                          # the templates (Meta type "template") it was asked to send
        fake.message_templates = [...]            # what GET {url}/{waba-id}/message_templates lists

Evolution's pairing and history (tests of whatsapp.health / whatsapp.recovery):

        fake.connect_answer = {...}               # GET {url}/instance/connect/{instance} (default: a QR code)
        fake.history = [record, ...]              # POST {url}/chat/findMessages/{instance}: messages.upsert
        fake.history_endless = True               #   `data` records, filtered by where.messageTimestamp.gte,
                                                  #   paged by the body's page/offset (or a never-ending paging)

Failure modes: "500" (HTTP 500), "130429" (rate limit), "131056" (pair rate limit), "131047"
(24-hour window closed), "400" (Evolution-style bad request), "expired" (Meta's answer for a media
id that no longer exists), "timeout" (holds the request without answering for `hang_seconds`,
default 30, or until stop()).

Media (the providers' media endpoints, docs/media.md):

    fake.add_media("1003383421387256", b"...", "image/jpeg")  # Meta: GET {url}/{media-id} → {url, mime_type, sha256,
                                                               # file_size}, then GET that url (Bearer) → the bytes
    fake.add_media("3EB0...", b"...", "audio/ogg")            # Evolution: POST /chat/getBase64FromMediaMessage/{i}
    fake.add_media(id, data, mime, sha256="...")               # announce another hash (a corrupted download)
    fake.expire_urls(1)                                        # the next download URL answers 404 (expired)
    fake.fail_next("500") / fake.fail_next("expired")          # also apply to the media-id lookup
    fake.sent_media()                                          # files sent: uploads (Meta) and sendMedia (Evolution)

Standalone (other processes: `seed_demo --api-base http://127.0.0.1:P`):

    python -m tests.fake_provider --port P [--latency-ms 50] [--host 127.0.0.1]

and control it over HTTP: GET /_fake/calls (JSON list), POST /_fake/fail {"mode": "500", "times": 3}
(times 0 = always), POST /_fake/latency {"ms": 50}, POST /_fake/reset.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import itertools
import json
import re
import secrets
import threading
import time
from dataclasses import asdict, dataclass, field
from email.parser import BytesParser
from email.policy import default as email_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

META_PATH = re.compile(r"^(?:/[^/]+)*/(?P<phone>[^/]+)/messages$")
META_UPLOAD_PATH = re.compile(r"^(?:/[^/]+)*/(?P<phone>[^/]+)/media$")
EVOLUTION_PATH = re.compile(r"^(?:/[^/]+)*/message/(?P<what>sendText|sendMedia)/(?P<instance>[^/]+)$")
EVOLUTION_MEDIA_PATH = re.compile(r"^(?:/[^/]+)*/chat/getBase64FromMediaMessage/(?P<instance>[^/]+)$")
DOWNLOAD_PATH = re.compile(r"^/_media/(?P<token>[A-Za-z0-9_-]+)$")
TEMPLATES_PATH = re.compile(r"^(?:/[^/]+)*/(?P<waba>[^/]+)/message_templates$")
CONNECT_PATH = re.compile(r"^(?:/[^/]+)*/instance/connect/(?P<instance>[^/]+)$")
FIND_MESSAGES_PATH = re.compile(r"^(?:/[^/]+)*/chat/findMessages/(?P<instance>[^/]+)$")
# A 1x1 PNG: what the gateway's `base64` field carries, a data: URI of the QR image.
QR_PNG = (
    "data:image/png;base64,"
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
DEFAULT_CONNECT = {"pairingCode": "WZYEH1YY", "code": "2@FAKEQRPAYLOAD,abc,def", "base64": QR_PNG, "count": 1}

META_ERRORS = {
    "130429": (
        400,
        130429,
        "(#130429) Rate limit hit",
        "Message failed to send because there were too many messages sent from this phone number "
        "in a short period of time",
    ),
    "131056": (
        400,
        131056,
        "(#131056) (Business Account, Consumer Account) pair rate limit hit",
        "Message failed to send because there were too many messages sent from this phone number "
        "to the same phone number in a short period of time",
    ),
    "131047": (
        400,
        131047,
        "(#131047) Re-engagement message",
        "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
    ),
    "500": (500, 1, "An unknown error occurred", "Service temporarily unavailable"),
    "400": (400, 100, "(#100) Invalid parameter", "Parameter value is not valid"),
    "expired": (
        400,
        100,
        "Unsupported get request. Object with ID does not exist, cannot be loaded due to missing permissions, "
        "or does not support this operation.",
        "The media id has expired",
    ),
}


@dataclass
class Call:
    provider: str
    path: str
    headers: dict
    json: dict | None
    status: int = 0
    at: float = field(default_factory=time.time)


class FakeProvider:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, latency_ms: int = 0, hang_seconds: float = 30.0):
        self.latency_ms = latency_ms
        self.hang_seconds = hang_seconds
        self.calls: list[Call] = []
        # Meta's template listing (GET /{waba}/message_templates), in Meta's shape.
        self.message_templates: list[dict] = []
        self._lock = threading.Lock()
        self._failures: list[str] = []
        self._always: str | None = None
        self._ids = itertools.count(1)
        # Ids stay unique across restarts of the fake, like the real providers' ids.
        self._run = secrets.token_hex(4).upper()
        self._stopping = threading.Event()
        # media id (Meta) or message id (Evolution) → (bytes, mime type, announced sha256)
        self.media: dict[str, tuple[bytes, str, str]] = {}
        self._tokens: dict[str, str] = {}
        self._expire = 0
        self.uploads: dict[str, dict] = {}
        self._server = ThreadingHTTPServer((host, port), _handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None
        self.connect_answer: dict = dict(DEFAULT_CONNECT)
        self.history: list[dict] = []
        self.history_endless = False

    # --- control -------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def fail_next(self, mode: str, times: int = 1) -> None:
        self._check(mode)
        with self._lock:
            self._failures.extend([mode] * times)

    def fail_always(self, mode: str | None) -> None:
        if mode:
            self._check(mode)
        with self._lock:
            self._always = mode

    def reset(self) -> None:
        with self._lock:
            self._failures.clear()
            self._always = None
            self.calls.clear()
            self.latency_ms = 0
            self._expire = 0
            self.connect_answer = dict(DEFAULT_CONNECT)
            self.history = []
            self.history_endless = False

    def add_media(self, media_id: str, content: bytes, mime_type: str, *, sha256: str | None = None) -> None:
        with self._lock:
            self.media[media_id] = (content, mime_type, sha256 or hashlib.sha256(content).hexdigest())

    def expire_urls(self, times: int = 1) -> None:
        with self._lock:
            self._expire += times

    def sent_media(self) -> list[dict]:
        """The files it was asked to send: {provider, type, caption, filename, mime_type, sha256, size}."""
        sent = []
        with self._lock:
            for c in self.calls:
                body = c.json or {}
                if c.provider == "meta" and body.get("type") in ("image", "audio", "video", "document", "sticker"):
                    part = body.get(body["type"]) or {}
                    upload = self.uploads.get(part.get("id", ""), {})
                    sent.append(
                        {
                            "provider": "meta",
                            "type": body["type"],
                            "caption": part.get("caption", ""),
                            "filename": part.get("filename", ""),
                            **upload,
                        }
                    )
                elif c.provider == "evolution" and "media" in body:
                    data = base64.b64decode(body["media"])
                    sent.append(
                        {
                            "provider": "evolution",
                            "type": body.get("mediatype"),
                            "caption": body.get("caption"),
                            "filename": body.get("fileName"),
                            "mime_type": body.get("mimetype"),
                            "sha256": hashlib.sha256(data).hexdigest(),
                            "size": len(data),
                        }
                    )
        return sent

    def media_info(self, media_id: str) -> tuple[int, dict]:
        failure = self._next_failure()
        if failure and failure != "timeout":
            status, code, message, details = META_ERRORS[failure]
            return status, {
                "error": {
                    "message": message,
                    "type": "OAuthException",
                    "code": code,
                    "error_data": {"details": details},
                    "fbtrace_id": "AFakeTrace",
                }
            }
        with self._lock:
            found = self.media.get(media_id)
            if found is None:
                status, code, message, details = META_ERRORS["expired"]
                return 400, {"error": {"message": message, "type": "GraphMethodException", "code": code}}
            token = secrets.token_urlsafe(12)
            self._tokens[token] = media_id
        content, mime, sha = found
        return 200, {
            "url": f"{self.url}/_media/{token}",
            "mime_type": mime,
            "sha256": sha,
            "file_size": len(content),
            "id": media_id,
            "messaging_product": "whatsapp",
        }

    def download(self, token: str) -> tuple[int, bytes, str]:
        with self._lock:
            media_id = self._tokens.pop(token, None)  # a URL works once, like an expiring one
            if media_id is not None and self._expire:
                self._expire -= 1
                media_id = None
            found = self.media.get(media_id or "")
        if found is None:
            return 404, b"URL signature expired", "text/plain"
        return 200, found[0], found[1]

    def history_calls(self) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.provider == "evolution:findMessages"]

    def texts(self) -> list[str]:
        with self._lock:
            return [_text_of(c) for c in self.calls if c.provider in ("meta", "evolution")]

    def templates(self) -> list[dict]:
        """The `template` objects of the Meta template sends, in order."""
        with self._lock:
            return [c.json["template"] for c in self.calls if c.json and c.json.get("type") == "template"]

    # --- lifecycle -----------------------------------------------------------------------
    def start(self) -> FakeProvider:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-provider", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # --- internals -----------------------------------------------------------------------
    @staticmethod
    def _check(mode: str) -> None:
        if mode != "timeout" and mode not in META_ERRORS:  # "expired" included
            raise ValueError(f"unknown failure mode {mode!r}")

    def _next_failure(self) -> str | None:
        with self._lock:
            if self._failures:
                return self._failures.pop(0)
            return self._always

    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    def answer(self, provider: str, body: dict) -> tuple[int, dict | None]:
        """(status, JSON) for one send; None means hang without answering."""
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)
        failure = self._next_failure()
        if failure == "timeout":
            self._stopping.wait(self.hang_seconds)
            return 0, None
        if failure:
            status, code, message, details = META_ERRORS[failure]
            if provider == "meta":
                return status, {
                    "error": {
                        "message": message,
                        "type": "OAuthException",
                        "code": code,
                        "error_data": {"messaging_product": "whatsapp", "details": details},
                        "fbtrace_id": "AFakeTrace",
                    }
                }
            return status, {
                "status": status,
                "error": "Internal Server Error" if status >= 500 else "Bad Request",
                "response": {"message": [f"{message}: {details}"]},
            }
        n = next(self._ids)
        if provider == "meta":
            return 200, {
                "messaging_product": "whatsapp",
                "contacts": [{"input": body.get("to", ""), "wa_id": str(body.get("to", "")).lstrip("+")}],
                "messages": [{"id": f"wamid.FAKE{self._run}{n:08d}"}],
            }
        number = str(body.get("number", ""))
        key = {"remoteJid": f"{number}@s.whatsapp.net", "fromMe": True, "id": f"3EB0FAKE{self._run}{n:08X}"}
        return 201, {
            "key": key,
            "pushName": "Você",
            "status": "PENDING",
            "message": {"conversation": body.get("text", "")},
            "contextInfo": None,
            "messageType": "conversation",
            "messageTimestamp": int(time.time()),
            "instanceId": "00000000-0000-4000-8000-00000000fake",
            "source": "unknown",
        }

    def failure_answer(self) -> tuple[int, dict] | None:
        """A configured failure for the pairing/history endpoints (Evolution's error shape), or None."""
        failure = self._next_failure()
        if not failure or failure == "timeout":
            return None
        status, _code, message, details = META_ERRORS[failure]
        error = "Internal Server Error" if status >= 500 else "Bad Request"
        return status, {"status": status, "error": error, "response": {"message": [f"{message}: {details}"]}}

    def find_messages(self, body: dict) -> tuple[int, dict]:
        """Evolution v2's findMessages answer: {"messages": {"total", "pages", "currentPage", "records"}}."""
        failed = self.failure_answer()
        if failed:
            return failed
        where = (body.get("where") or {}).get("messageTimestamp") or {}
        gte = int(where.get("gte") or 0)
        page = max(1, int(body.get("page") or 1))
        size = max(1, int(body.get("offset") or 50))
        with self._lock:
            records = [r for r in self.history if int(r.get("messageTimestamp") or 0) >= gte]
        if self.history_endless:  # a gateway whose paging never ends: always one more page, same records
            return 200, {
                "messages": {"total": 10**9, "pages": page + 1, "currentPage": page, "records": records[:size]}
            }
        pages = max(1, -(-len(records) // size))
        chunk = records[(page - 1) * size : page * size]
        return 200, {"messages": {"total": len(records), "pages": pages, "currentPage": page, "records": chunk}}


def _text_of(call: Call) -> str:
    body = call.json or {}
    return (body.get("text") or {}).get("body", "") if call.provider == "meta" else body.get("text", "")


def _handler(fake: FakeProvider):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes; with Nagle on, keep-alive clients stall ~40 ms per call.
        disable_nagle_algorithm = True

        def log_message(self, *args):  # keep test output clean
            pass

        def _json_body(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                return json.loads(raw) if raw else None
            except ValueError:
                return None

        def _send(self, status: int, body) -> None:
            data = json.dumps(body, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _send_bytes(self, status: int, data: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _bearer(self) -> bool:
            return (self.headers.get("Authorization") or "").startswith("Bearer ")

        def do_GET(self):
            path = self.path.split("?", 1)[0]
            if path.rstrip("/") == "/_fake/calls":
                with fake._lock:
                    return self._send(200, [asdict(c) for c in fake.calls])
            if TEMPLATES_PATH.match(self.path.split("?", 1)[0]):
                if not (self.headers.get("Authorization") or "").startswith("Bearer "):
                    return self._send(401, {"error": {"message": "Missing access token", "code": 190}})
                return self._send(200, {"data": fake.message_templates, "paging": {}})
            if CONNECT_PATH.match(path):
                call = Call(provider="evolution:connect", path=path, headers=dict(self.headers), json=None)
                fake._record(call)
                if not self.headers.get("apikey"):
                    call.status = 401
                    return self._send(401, {"status": 401, "error": "Unauthorized"})
                call.status, answer = fake.failure_answer() or (200, fake.connect_answer)
                return self._send(call.status, answer)
            download = DOWNLOAD_PATH.match(path)
            call = Call(provider="meta", path=path, headers=dict(self.headers), json=None)
            fake._record(call)
            if not self._bearer():
                call.status = 401
                return self._send(401, {"error": {"message": "Missing access token", "code": 190}})
            if download:
                status, data, mime = fake.download(download.group("token"))
                call.status = status
                return self._send_bytes(status, data, mime)
            # GET {base}/{media-id}: the file's metadata and a fresh URL.
            call.status, answer = fake.media_info(path.rstrip("/").rsplit("/", 1)[-1])
            self._send(call.status, answer)

        def _multipart(self) -> dict:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            head = f"Content-Type: {self.headers.get('Content-Type', '')}\r\n\r\n".encode()
            message = BytesParser(policy=email_policy).parsebytes(head + raw)
            fields, file = {}, {}
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                data = part.get_payload(decode=True) or b""
                if part.get_filename() is not None:
                    file = {
                        "name": name,
                        "filename": part.get_filename(),
                        "mime_type": part.get_content_type(),
                        "sha256": hashlib.sha256(data).hexdigest(),
                        "size": len(data),
                    }
                else:
                    fields[name] = data.decode()
            return {"fields": fields, "file": file}

        def _upload(self, path):
            form = self._multipart()
            call = Call(provider="meta", path=path, headers=dict(self.headers), json=form)
            fake._record(call)
            if not self._bearer():
                call.status = 401
                return self._send(401, {"error": {"message": "Missing access token", "code": 190}})
            failure = fake._next_failure()
            if failure and failure != "timeout":
                status, code, message, _details = META_ERRORS[failure]
                call.status = status
                return self._send(status, {"error": {"message": message, "code": code}})
            media_id = f"{next(fake._ids)}{fake._run}".lower()
            with fake._lock:
                fake.uploads[media_id] = {**form["file"], "upload_type": form["fields"].get("type", "")}
            call.status = 200
            self._send(200, {"id": media_id})

        def _evolution_media(self, path, body):
            call = Call(provider="evolution", path=path, headers=dict(self.headers), json=body)
            fake._record(call)
            if not self.headers.get("apikey"):
                call.status = 401
                return self._send(
                    401, {"status": 401, "error": "Unauthorized", "response": {"message": "Unauthorized"}}
                )
            failure = fake._next_failure()
            if failure and failure != "timeout":
                call.status = 500 if failure == "500" else 400
                return self._send(
                    call.status,
                    {"status": call.status, "error": "Internal Server Error", "response": {"message": [failure]}},
                )
            message_id = (((body or {}).get("message") or {}).get("key") or {}).get("id", "")
            found = fake.media.get(message_id)
            if found is None:
                call.status = 400
                return self._send(
                    400, {"status": 400, "error": "Bad Request", "response": {"message": ["Message not found"]}}
                )
            call.status = 201
            self._send(
                201,
                {
                    "mediaType": "document",
                    "fileName": None,
                    "size": {"fileLength": len(found[0])},
                    "mimetype": found[1],
                    "base64": base64.b64encode(found[0]).decode(),
                },
            )

        def do_POST(self):
            path = self.path.split("?", 1)[0]
            if META_UPLOAD_PATH.match(path):
                return self._upload(path)
            body = self._json_body()
            if path.startswith("/_fake/"):
                return self._control(path, body or {})
            if EVOLUTION_MEDIA_PATH.match(path):
                return self._evolution_media(path, body)
            if FIND_MESSAGES_PATH.match(path):
                call = Call(provider="evolution:findMessages", path=path, headers=dict(self.headers), json=body)
                fake._record(call)
                if not self.headers.get("apikey"):
                    call.status = 401
                    return self._send(401, {"status": 401, "error": "Unauthorized"})
                call.status, answer = fake.find_messages(body or {})
                return self._send(call.status, answer)
            evo = EVOLUTION_PATH.match(path)
            provider = "evolution" if evo else "meta" if META_PATH.match(path) else None
            if provider is None:
                return self._send(404, {"error": "not found"})
            call = Call(provider=provider, path=path, headers=dict(self.headers), json=body)
            fake._record(call)
            if provider == "meta" and not (self.headers.get("Authorization") or "").startswith("Bearer "):
                call.status = 401
                return self._send(401, {"error": {"message": "Missing access token", "code": 190}})
            if provider == "evolution" and not self.headers.get("apikey"):
                call.status = 401
                return self._send(
                    401, {"status": 401, "error": "Unauthorized", "response": {"message": "Unauthorized"}}
                )
            status, answer = fake.answer(provider, body or {})
            call.status = status
            if answer is None:
                self.close_connection = True
                return
            self._send(status, answer)

        def _control(self, path, body):
            if path == "/_fake/fail":
                times = int(body.get("times", 1))
                fake.fail_always(body.get("mode")) if times == 0 else fake.fail_next(body["mode"], times)
            elif path == "/_fake/latency":
                fake.latency_ms = int(body.get("ms", 0))
            elif path == "/_fake/reset":
                fake.reset()
            elif path == "/_fake/media":
                fake.add_media(body["id"], base64.b64decode(body["base64"]), body.get("mime_type", ""))
            else:
                return self._send(404, {"error": "not found"})
            self._send(200, {"ok": True})

    return Handler


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Fake Meta / Evolution send API")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18100)
    parser.add_argument("--latency-ms", type=int, default=0)
    args = parser.parse_args(argv)
    fake = FakeProvider(host=args.host, port=args.port, latency_ms=args.latency_ms)
    print(f"fake provider on {fake.url} (latency {args.latency_ms} ms)", flush=True)
    try:
        fake._server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        fake._server.server_close()


if __name__ == "__main__":
    main()
