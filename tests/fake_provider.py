"""A fake WhatsApp provider for tests, demos and benchmarks (Meta Cloud API + Evolution API).

It answers in the providers' real shapes (the samples in tests/payloads/, checked by
tests/providers/test_fake_shapes.py), records every call, and can be told to fail or to be slow.
What the real providers hand over as opaque URLs (a media `url`, a listing's `paging.next`) carries a
query string here too, because code that never met one in tests broke on the first real number.

In-process (tests):

    from tests.fake_provider import FakeProvider

    with FakeProvider() as fake:                  # binds 127.0.0.1 on a free port (or port=...)
        connection.api_base_url = fake.url        # Meta:      POST {url}/{phone_number_id}/messages
        ...                                       # Evolution: POST {url}/message/sendText/{instance}
        fake.fail_next("130429", times=2)         # then answers normally again
        fake.fail_always("500")                   # until fake.reset()
        fake.latency_ms = 50
        fake.calls                                # Call(provider, path, headers, json, status, at, query, answer)
        fake.texts()                              # the texts it was asked to send, in order
        fake.templates()                          # the templates (Meta type "template") it was asked to send
        fake.reactions()                          # the reactions: Meta type "reaction", Evolution sendReaction
        fake.quotes()                             # the quoted message ids of the sends that quote one

Sends that quote a message (Meta `context.message_id`, Evolution `quoted.key.id`) and reactions (Meta
`{"type": "reaction", "reaction": {"message_id", "emoji"}}`, Evolution POST {url}/message/sendReaction/{i}
with `{"key": {"remoteJid", "fromMe", "id"}, "reaction"}`) are checked as the providers check them (a
missing id or key is Graph's error 100 / Evolution's 400) and answered in their shapes: Meta's usual
answer; Evolution's message object, an `extendedTextMessage` with `contextInfo` for a quote and a
`reactionMessage` for a reaction.

Meta's template listing, GET {url}/{waba-id}/message_templates (Bearer header or `access_token=`):

        fake.message_templates = [...]            # the templates, in Graph's item shape (missing
                                                  #   parameter_format / id are filled in)
        fake.template_page_size = 1               # the default: every listing of two or more pages, so
                                                  #   paging is always exercised; None = the request's limit

    Each answer is one page, {"data": [...], "paging": {"cursors": {"before", "after"}, "next"}}; `next`
    is an absolute URL carrying access_token, fields, limit and after in its query, absent on the last page.

Evolution's pairing and history (tests of whatsapp.health / whatsapp.recovery):

        fake.connect_answer = {...}               # GET {url}/instance/connect/{instance} (default: a QR code)
        fake.history = [record, ...]              # POST {url}/chat/findMessages/{instance}: messages.upsert
        fake.history_endless = True               #   `data` records, filtered by where.messageTimestamp.gte,
                                                  #   paged by the body's page/offset (or a never-ending paging)

Evolution's instance management (the admin's "Conectar WhatsApp", whatsapp.connect):

        fake.gateway_key = "..."                  # the gateway's global key (default GATEWAY_KEY); another
                                                  #   `apikey` on instance/create is v2's 401 "Unauthorized"
        fake.instances = {name: token}            # instances that exist: POST {url}/instance/create answers
                                                  #   v2's 201 {instance, hash, webhook, settings, qrcode} for a
                                                  #   new name, its 403 'This name "x" is already in use.' for
                                                  #   a taken one; POST {url}/webhook/set/{instance} (global key
                                                  #   or the instance's token) stores fake.webhooks[instance]

Meta's phone-number node (the admin's "Testar conexão"):

        fake.phone_numbers = {id: {...}}          # GET {url}/{phone-number-id}?fields=display_phone_number,
                                                  #   verified_name → {display_phone_number, verified_name, id};
                                                  #   an unknown id is Graph's 400 code 100 "Unsupported get request"
        fake.graph_tokens = {"EAAG..."}           # the access tokens Graph accepts (None: any); another is its
                                                  #   401 code 190 "Invalid OAuth access token"

Failure modes (fail_next / fail_always; each applies to the next provider call of any kind):
"500" (HTTP 500), "401" (an expired access token; Evolution: a wrong apikey), "130429" (rate
limit), "131056" (pair rate limit), "131047" (24-hour window closed), "400" (bad request;
Evolution: the number is not on WhatsApp), "expired" (Meta's answer for a media id that no
longer exists), "timeout" (holds the request without answering for `hang_seconds`, default 30,
or until stop()). `fail_next(mode, after=n)` answers n calls normally
first (a listing's later page fails). Meta answers Graph's error body
{"error": {"message", "type", "code", "error_subcode"?, "error_data": {"messaging_product", "details"},
"fbtrace_id"}}; Evolution answers its v2 body {"status", "error", "response": {"message"}}.

One connection's provider hanging while the others answer (tenant B's gateway stuck, tenant A's fine):

        fake.hang("evo-b")                        # every call whose path contains "evo-b" (an instance, a
        fake.hang("token-of-b")                   #   phone id) or whose credential (Bearer token, `apikey`)
                                                  #   is exactly that, is held unanswered...
        fake.wait_held(2, match="evo-b")          # ...(True once two such calls are held at once)...
        fake.held("evo-b")                        # ...(how many are held now)...
        fake.release("evo-b")                     # ...until released (or fake.release(), reset(), stop()):
                                                  #   then answered normally, if the caller still waits

Media (the providers' media endpoints, docs/media.md):

    fake.add_media("1003383421387256", b"...", "image/jpeg")  # Meta: GET {url}/{media-id} → {url, mime_type, sha256,
                                                               # file_size, id, messaging_product}; the url is
                                                               # {fake.url}/whatsapp_business/attachments/
                                                               # ?mid=&ext=&hash=, and GET of it (Bearer) → the
                                                               # bytes, once
    fake.add_media("3EB0...", b"...", "audio/ogg")            # Evolution: POST /chat/getBase64FromMediaMessage/{i}
    fake.add_media(id, data, mime, sha256="...")               # announce another hash (a corrupted download)
    fake.expire_urls(1)                                        # the next download URL answers 404 (expired)
    fake.url_ttl_seconds = 300                                 # a download URL's life (its `ext`), as Meta's
    fake.fail_next("500") / fake.fail_next("expired")          # also apply to the media-id lookup
    fake.sent_media()                                          # files sent: uploads (Meta) and sendMedia (Evolution)
                                                               # and voice notes: Meta audio with `voice: true`,
                                                               # Evolution sendWhatsAppAudio ({"number", "audio"})

Standalone (other processes: `seed_demo --api-base http://127.0.0.1:P`):

    python -m tests.fake_provider --port P [--latency-ms 50] [--host 127.0.0.1]

and control it over HTTP (paths under /_fake/ are never provider endpoints; 400 on a bad body):

    GET  /_fake/calls                                       the calls, as a JSON list
    GET  /_fake/templates                                   {"templates": [...], "page_size": n}
    POST /_fake/fail      {"mode": "500", "times": 3}       times 0 = always; {"mode": null, "times": 0} stops
    POST /_fake/latency   {"ms": 50}
    POST /_fake/reset     {}                                failures, calls, latency, page size, pairing, history
    POST /_fake/media     {"id", "base64", "mime_type", "sha256"?}
    POST /_fake/expire    {"times": 1}                      the next download URLs answer as expired
    POST /_fake/hang      {"match": "evo-b"}                hold that connection's calls (see hang())
    POST /_fake/release   {"match": "evo-b"}                answer them; {} releases every hang
    GET  /_fake/held                                        {"held": {match: calls held now}}
    POST /_fake/templates {"templates": [...], "page_size": n}   either key; page_size null = no cap
"""

from __future__ import annotations

import argparse
import base64
import binascii
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
from urllib.parse import parse_qs, urlencode

META_PATH = re.compile(r"^(?:/[^/]+)*/(?P<phone>[^/]+)/messages$")
META_UPLOAD_PATH = re.compile(r"^(?:/[^/]+)*/(?P<phone>[^/]+)/media$")
EVOLUTION_SENDS = "sendText|sendMedia|sendReaction|sendWhatsAppAudio"
EVOLUTION_PATH = re.compile(rf"^(?:/[^/]+)*/message/(?P<what>{EVOLUTION_SENDS})/(?P<instance>[^/]+)$")
EVOLUTION_MEDIA_PATH = re.compile(r"^(?:/[^/]+)*/chat/getBase64FromMediaMessage/(?P<instance>[^/]+)$")
# Where Meta's media URLs point (lookaside.fbsbx.com); the file is named by the query string alone.
LOOKASIDE_PATH = "/whatsapp_business/attachments/"
TEMPLATES_PATH = re.compile(r"^(?:/[^/]+)*/(?P<waba>[^/]+)/message_templates$")
CONNECT_PATH = re.compile(r"^(?:/[^/]+)*/instance/connect/(?P<instance>[^/]+)$")
INSTANCE_CREATE_PATH = re.compile(r"^(?:/[^/]+)*/instance/create$")
WEBHOOK_SET_PATH = re.compile(r"^(?:/[^/]+)*/webhook/set/(?P<instance>[^/]+)$")
FIND_MESSAGES_PATH = re.compile(r"^(?:/[^/]+)*/chat/findMessages/(?P<instance>[^/]+)$")
# A Graph path starts with its version; anything else unknown is answered as Evolution would.
GRAPH_VERSION = re.compile(r"^/v\d+\.\d+(?:/|$)")
# A 1x1 PNG: what the gateway's `base64` field carries, a data: URI of the QR image.
QR_PNG = (
    "data:image/png;base64,"
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
GATEWAY_KEY = "fake-global-key"
DEFAULT_CONNECT = {"pairingCode": "WZYEH1YY", "code": "2@FAKEQRPAYLOAD,abc,def", "base64": QR_PNG, "count": 1}
# Graph's default page size when a listing names no `limit`.
GRAPH_DEFAULT_LIMIT = 25
CURSOR_PREFIX = "fake-cursor:"


@dataclass(frozen=True)
class GraphError:
    status: int
    code: int
    message: str
    details: str
    type: str = "OAuthException"
    subcode: int | None = None


META_ERRORS = {
    "130429": GraphError(
        400,
        130429,
        "(#130429) Rate limit hit",
        "Message failed to send because there were too many messages sent from this phone number "
        "in a short period of time",
        subcode=2494055,
    ),
    "131056": GraphError(
        400,
        131056,
        "(#131056) (Business Account, Consumer Account) pair rate limit hit",
        "Message failed to send because there were too many messages sent from this phone number "
        "to the same phone number in a short period of time",
    ),
    "131047": GraphError(
        400,
        131047,
        "(#131047) Re-engagement message",
        "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
    ),
    "500": GraphError(500, 1, "An unknown error has occurred.", "Service temporarily unavailable"),
    "401": GraphError(
        401,
        190,
        "Error validating access token: Session has expired on Monday, 07-Dec-26 03:00:00 PST.",
        "The access token has expired",
        subcode=463,
    ),
    "400": GraphError(400, 100, "(#100) Invalid parameter", "Parameter value is not valid"),
    "expired": GraphError(
        400,
        100,
        "Unsupported get request. Object with ID does not exist, cannot be loaded due to missing permissions, "
        "or does not support this operation. Please read the Graph API documentation at "
        "https://developers.facebook.com/docs/graph-api",
        "The media id has expired",
        type="GraphMethodException",
        subcode=33,
    ),
}
# Not failure modes: what Graph answers a call without a usable token, or with a bad cursor/limit.
NO_TOKEN = GraphError(
    401, 190, "Invalid OAuth access token - Cannot parse access token", "The access token is missing or malformed"
)
BAD_TOKEN = GraphError(
    401, 190, "Invalid OAuth access token - Cannot parse access token", "The access token is invalid"
)
BAD_PARAM = GraphError(400, 100, "(#100) Invalid parameter", "The cursor or limit of this request is not valid")
EVOLUTION_ERRORS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found"}
EXPIRED_BODY = b"URL signature expired"


def graph_error(error: GraphError) -> tuple[int, dict]:
    """(status, body) of a Graph error, in the shape of tests/payloads/meta_send_error_130429.json."""
    body: dict = {"message": error.message, "type": error.type, "code": error.code}
    if error.subcode is not None:
        body["error_subcode"] = error.subcode
    body["error_data"] = {"messaging_product": "whatsapp", "details": error.details}
    body["fbtrace_id"] = "A" + secrets.token_urlsafe(16)
    return error.status, {"error": body}


def evolution_error(status: int, message) -> tuple[int, dict]:
    """(status, body) as Evolution API v2's error handler answers: `message` is a list, or the word
    "Unauthorized" for a missing or wrong apikey."""
    error = EVOLUTION_ERRORS.get(status, "Internal Server Error")
    return status, {"status": status, "error": error, "response": {"message": message}}


def evolution_failure(mode: str, *, number: str = "") -> tuple[int, dict]:
    """A configured failure mode as Evolution answers it (it has no Meta codes: those are a 400)."""
    if mode == "500":
        return evolution_error(500, ["Error: Connection Closed"])
    if mode == "401":
        return evolution_error(401, "Unauthorized")
    if mode == "400" and number:
        # sendText/sendMedia to a number that is not on WhatsApp.
        return evolution_error(400, [{"jid": f"{number}@s.whatsapp.net", "exists": False, "number": number}])
    return evolution_error(400, [META_ERRORS[mode].message])


def encode_cursor(index: int) -> str:
    return base64.urlsafe_b64encode(f"{CURSOR_PREFIX}{index}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The item index a cursor names; ValueError for anything this fake did not hand out."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError(cursor) from exc
    if not text.startswith(CURSOR_PREFIX):
        raise ValueError(cursor)
    return int(text[len(CURSOR_PREFIX) :])


def _template_item(template: dict, index: int) -> dict:
    """One listing item in Graph's shape and key order; a test's short dict is completed."""
    item = {
        "name": template.get("name", ""),
        "parameter_format": template.get("parameter_format", "POSITIONAL"),
        "components": template.get("components", []),
        "language": template.get("language", ""),
        "status": template.get("status", ""),
        "category": template.get("category", ""),
        "id": str(template.get("id") or 1190000000000000 + index + 1),
    }
    return {**item, **{k: v for k, v in template.items() if k not in item}}


def _first(query: dict, name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


@dataclass
class Call:
    provider: str
    path: str
    headers: dict
    json: dict | None
    status: int = 0
    at: float = field(default_factory=time.time)
    # The raw query string, as sent: provider-given URLs must be followed exactly, query included.
    query: str = ""
    # The JSON it answered (None for a file or no answer): what the app had to understand.
    answer: dict | list | None = None


class FakeProvider:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, latency_ms: int = 0, hang_seconds: float = 30.0):
        self.latency_ms = latency_ms
        self.hang_seconds = hang_seconds
        self.calls: list[Call] = []
        # Meta's template listing (GET /{waba}/message_templates), in Meta's shape.
        self.message_templates: list[dict] = []
        self.template_page_size: int | None = 1
        # Where the lookaside URLs it hands out point (default: itself): a test of a provider that
        # hands over an internal address sets another host here.
        self.media_url_base: str | None = None
        self._lock = threading.Lock()
        self._failures: list[str] = []
        self._always: str | None = None
        self._ids = itertools.count(1)
        # Ids stay unique across restarts of the fake, like the real providers' ids.
        self._run = secrets.token_hex(4).upper()
        self._stopping = threading.Event()
        # hang(): match → the event that releases its calls; how many calls each holds right now.
        self._hangs: dict[str, threading.Event] = {}
        self._held: dict[str, int] = {}
        self._held_changed = threading.Condition(self._lock)
        # media id (Meta) or message id (Evolution) → (bytes, mime type, announced sha256)
        self.media: dict[str, tuple[bytes, str, str]] = {}
        # download URL's hash token → (media id, its ext: the unix time it stops working)
        self._tokens: dict[str, tuple[str, int]] = {}
        self._expire = 0
        self.url_ttl_seconds = 300
        self.uploads: dict[str, dict] = {}
        self._server = ThreadingHTTPServer((host, port), _handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None
        self.connect_answer: dict = dict(DEFAULT_CONNECT)
        self.history: list[dict] = []
        self.history_endless = False
        self.gateway_key = GATEWAY_KEY
        self.instances: dict[str, str] = {}
        self.webhooks: dict[str, dict] = {}
        self.phone_numbers: dict[str, dict] = {}
        self.graph_tokens: set[str] | None = None

    # --- control -------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def fail_next(self, mode: str, times: int = 1, *, after: int = 0) -> None:
        """The next `times` calls fail with `mode`, once `after` calls have been answered normally
        (after=1: a listing's second page fails, its first does not)."""
        self._check(mode)
        with self._lock:
            self._failures.extend([""] * after + [mode] * times)

    def fail_always(self, mode: str | None) -> None:
        if mode:
            self._check(mode)
        with self._lock:
            self._always = mode

    def hang(self, match: str) -> None:
        """Hold every call whose path contains `match`, or whose credential (the Bearer token or the `apikey`
        header) is `match`, without answering, until release(match), release(), reset() or stop()."""
        if not match:
            raise ValueError("hang needs a non-empty match")
        with self._lock:
            if match not in self._hangs or self._hangs[match].is_set():
                self._hangs[match] = threading.Event()

    def release(self, match: str | None = None) -> None:
        """Answer the calls held by hang(match) (every hang when None), and hold no more of them."""
        with self._lock:
            names = list(self._hangs) if match is None else [match]
            for name in names:
                event = self._hangs.pop(name, None)
                if event is not None:
                    event.set()

    def held(self, match: str | None = None) -> int:
        """How many calls are held right now (by hang(match), or by every hang)."""
        with self._lock:
            return self._held.get(match, 0) if match is not None else sum(self._held.values())

    def wait_held(self, n: int, *, match: str | None = None, timeout: float = 30.0) -> bool:
        """Wait until at least n calls are held at once (by hang(match), or by any); False after `timeout`."""
        with self._held_changed:
            return self._held_changed.wait_for(
                lambda: (self._held.get(match, 0) if match is not None else sum(self._held.values())) >= n, timeout
            )

    def _hold(self, path: str, credentials: tuple[str, ...]) -> None:
        """Block this request while a hang matches it (released, or the fake stops)."""
        with self._lock:
            match = next((m for m in self._hangs if m in path or m in credentials), None)
            if match is None:
                return
            event = self._hangs[match]
            self._held[match] = self._held.get(match, 0) + 1
            self._held_changed.notify_all()
        try:
            while not event.wait(0.05) and not self._stopping.is_set():
                pass
        finally:
            with self._lock:
                self._held[match] -= 1
                self._held_changed.notify_all()

    def reset(self) -> None:
        self.release()
        with self._lock:
            self._failures.clear()
            self._always = None
            self.calls.clear()
            self.latency_ms = 0
            self._expire = 0
            self.template_page_size = 1
            self.connect_answer = dict(DEFAULT_CONNECT)
            self.history = []
            self.history_endless = False
            self.gateway_key = GATEWAY_KEY
            self.instances = {}
            self.webhooks = {}
            self.phone_numbers = {}
            self.graph_tokens = None

    def add_media(self, media_id: str, content: bytes, mime_type: str, *, sha256: str | None = None) -> None:
        with self._lock:
            self.media[media_id] = (content, mime_type, sha256 or hashlib.sha256(content).hexdigest())

    def expire_urls(self, times: int = 1) -> None:
        with self._lock:
            self._expire += times

    def sent_media(self) -> list[dict]:
        """The files it was asked to send: {provider, type, caption, filename, mime_type, sha256, size, voice}.

        `voice`: Meta's audio object said `"voice": true`, or the file came through Evolution's sendWhatsAppAudio
        (played as a voice note, ptt)."""
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
                            "voice": part.get("voice") is True,
                            **upload,
                        }
                    )
                elif c.provider == "evolution" and "media" in body:
                    data = _b64(body["media"])
                    sent.append(
                        {
                            "provider": "evolution",
                            "type": body.get("mediatype"),
                            "caption": body.get("caption"),
                            "filename": body.get("fileName"),
                            "mime_type": body.get("mimetype"),
                            "sha256": hashlib.sha256(data).hexdigest(),
                            "size": len(data),
                            "voice": False,
                        }
                    )
                elif c.provider == "evolution" and c.path.rsplit("/", 2)[-2] == "sendWhatsAppAudio":
                    data = _b64(body.get("audio"))
                    sent.append(
                        {
                            "provider": "evolution",
                            "type": "audio",
                            "caption": "",
                            "filename": "",
                            "mime_type": "",
                            "sha256": hashlib.sha256(data).hexdigest(),
                            "size": len(data),
                            "voice": True,
                        }
                    )
        return sent

    def media_info(self, media_id: str) -> tuple[int, dict]:
        """GET {base}/{media-id}: tests/payloads/meta_media_url_response.json, with a fresh lookaside URL."""
        with self._lock:
            found = self.media.get(media_id)
            if found is None:
                return graph_error(META_ERRORS["expired"])
            token = secrets.token_urlsafe(33)
            ext = int(time.time()) + self.url_ttl_seconds
            self._tokens[token] = (media_id, ext)
        content, mime, sha = found
        query = urlencode({"mid": media_id, "ext": ext, "hash": token})
        return 200, {
            "url": f"{self.media_url_base or self.url}{LOOKASIDE_PATH}?{query}",
            "mime_type": mime,
            "sha256": sha,
            "file_size": len(content),
            "id": media_id,
            "messaging_product": "whatsapp",
        }

    def download(self, query: dict) -> tuple[int, bytes, str]:
        """GET of a lookaside URL: the file while its hash is valid for its mid and ext, once."""
        token = _first(query, "hash") or ""
        with self._lock:
            # A URL works once, like one that expires right after use.
            media_id, ext = self._tokens.pop(token, ("", 0))
            valid = bool(media_id) and _first(query, "mid") == media_id and _first(query, "ext") == str(ext)
            if valid and ext < time.time():
                valid = False
            if valid and self._expire:
                self._expire -= 1
                valid = False
            found = self.media.get(media_id) if valid else None
        if found is None:
            return 404, EXPIRED_BODY, "text/plain"
        return 200, found[0], found[1]

    def template_page(self, path: str, query: dict, token: str) -> tuple[int, dict]:
        """One page of GET {waba}/message_templates, in tests/payloads/meta_message_templates_page.json's shape."""
        try:
            limit = int(_first(query, "limit") or GRAPH_DEFAULT_LIMIT)
            after, before = _first(query, "after"), _first(query, "before")
            start = decode_cursor(after) + 1 if after else 0
            end_before = decode_cursor(before) if before else None
        except ValueError:
            return graph_error(BAD_PARAM)
        if limit < 1:
            return graph_error(BAD_PARAM)
        with self._lock:
            size = limit if self.template_page_size is None else min(limit, self.template_page_size)
            templates = list(self.message_templates)
        if end_before is not None:
            start = max(0, end_before - size)
        end = min(len(templates), start + size) if end_before is None else min(end_before, start + size)
        items = [_template_item(t, i) for i, t in enumerate(templates)][start:end]
        if not items:
            return 200, {"data": []}

        def link(**cursor) -> str:
            params = {"access_token": token}
            if _first(query, "fields") is not None:
                params["fields"] = _first(query, "fields") or ""
            params["limit"] = str(size)
            return f"{self.url}{path}?{urlencode({**params, **cursor})}"

        paging: dict = {"cursors": {"before": encode_cursor(start), "after": encode_cursor(end - 1)}}
        if start > 0:
            paging["previous"] = link(before=encode_cursor(start))
        if end < len(templates):
            paging["next"] = link(after=encode_cursor(end - 1))
        return 200, {"data": items, "paging": paging}

    def history_calls(self) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.provider == "evolution:findMessages"]

    def texts(self) -> list[str]:
        """The texts (and captions' sends) it was asked to send, reactions left out."""
        with self._lock:
            return [_text_of(c) for c in self.calls if c.provider in ("meta", "evolution") and not _is_reaction(c)]

    def reactions(self) -> list[dict]:
        """The reactions it was asked to send: {provider, message_id, emoji, to}, in order."""
        with self._lock:
            calls = list(self.calls)
        found = []
        for c in calls:
            body = c.json or {}
            if c.provider == "meta" and body.get("type") == "reaction":
                reaction = body.get("reaction") or {}
                found.append(
                    {
                        "provider": "meta",
                        "message_id": reaction.get("message_id"),
                        "emoji": reaction.get("emoji"),
                        "to": body.get("to"),
                    }
                )
            elif c.provider == "evolution" and c.path.rsplit("/", 2)[-2] == "sendReaction":
                key = body.get("key") or {}
                found.append(
                    {
                        "provider": "evolution",
                        "message_id": key.get("id"),
                        "emoji": body.get("reaction"),
                        "to": key.get("remoteJid"),
                    }
                )
        return found

    def quotes(self) -> list[str]:
        """The ids of the messages the sends quoted, in order."""
        with self._lock:
            bodies = [c.json or {} for c in self.calls if c.provider in ("meta", "evolution")]
        return [
            (b.get("context") or {}).get("message_id") or ((b.get("quoted") or {}).get("key") or {}).get("id")
            for b in bodies
            if b.get("context") or b.get("quoted")
        ]

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
        self.release()
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
                return self._failures.pop(0) or None  # "": a call answered normally before the failure
            return self._always

    def _hang(self) -> None:
        self._stopping.wait(self.hang_seconds)

    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    def answer(self, provider: str, body: dict, *, what: str = "sendText") -> tuple[int, dict | None]:
        """(status, JSON) for one send; None means hang without answering."""
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)
        failure = self._next_failure()
        if failure == "timeout":
            self._hang()
            return 0, None
        if failure:
            if provider == "meta":
                return graph_error(META_ERRORS[failure])
            return evolution_failure(failure, number=str(body.get("number", "")))
        refused = _refused(provider, body, what)
        if refused is not None:
            return refused
        n = next(self._ids)
        if provider == "meta":
            return 200, {
                "messaging_product": "whatsapp",
                "contacts": [{"input": body.get("to", ""), "wa_id": str(body.get("to", "")).lstrip("+")}],
                "messages": [{"id": f"wamid.FAKE{self._run}{n:08d}"}],
            }
        number = str(body.get("number", ""))
        if what == "sendReaction":
            number = str(body["key"]["remoteJid"]).split("@", 1)[0]
        key = {"remoteJid": f"{number}@s.whatsapp.net", "fromMe": True, "id": f"3EB0FAKE{self._run}{n:08X}"}
        message_type, message = _evolution_sent_message(body, what)
        context = message.get("extendedTextMessage", {}).get("contextInfo")
        return 201, {
            "key": key,
            "pushName": "Você",
            "status": "PENDING",
            "message": message,
            "contextInfo": context,
            "messageType": message_type,
            "messageTimestamp": int(time.time()),
            "instanceId": "00000000-0000-4000-8000-00000000fake",
            "source": "unknown",
        }

    def failure_answer(self) -> tuple[int, dict] | None:
        """A configured failure for the pairing/history endpoints (Evolution's error shape), or None.

        "timeout" is not answered here: the caller hangs (see the handler's _evolution_failed)."""
        failure = self._next_failure()
        if not failure:
            return None
        if failure == "timeout":
            self._hang()
            return 0, {}
        return evolution_failure(failure)

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


def _b64(value) -> bytes:
    """sendMedia's `media` is base64 or a URL: the decoded bytes, or b"" for a URL."""
    try:
        return base64.b64decode(value or "", validate=False)
    except (binascii.Error, ValueError):
        return b""


def _is_reaction(call: Call) -> bool:
    body = call.json or {}
    return body.get("type") == "reaction" or call.path.rsplit("/", 2)[-2:-1] == ["sendReaction"]


def _refused(provider: str, body: dict, what: str) -> tuple[int, dict] | None:
    """A quote or reaction the provider would refuse, as it answers it; None when the request is whole."""
    if provider == "meta":
        context = body.get("context")
        bad_context = context is not None and not (isinstance(context, dict) and _text(context.get("message_id")))
        reaction = body.get("reaction") if body.get("type") == "reaction" else {}
        bad_reaction = body.get("type") == "reaction" and not (
            isinstance(reaction, dict) and _text(reaction.get("message_id")) and isinstance(reaction.get("emoji"), str)
        )
        return graph_error(META_ERRORS["400"]) if bad_context or bad_reaction else None
    quoted = body.get("quoted")
    if quoted is not None and not (isinstance(quoted, dict) and _text((quoted.get("key") or {}).get("id"))):
        return evolution_error(400, ["quoted.key.id is required"])
    if what == "sendReaction":
        key = body.get("key")
        whole = (
            isinstance(key, dict)
            and _text(key.get("id"))
            and _text(key.get("remoteJid"))
            and isinstance(key.get("fromMe"), bool)
            and isinstance(body.get("reaction"), str)
        )
        if not whole:
            return evolution_error(400, ["key.remoteJid, key.fromMe, key.id and reaction are required"])
    if what == "sendWhatsAppAudio" and not (_text(body.get("number")) and _text(body.get("audio"))):
        return evolution_error(400, ["number and audio are required"])
    return None


def _text(value) -> bool:
    return isinstance(value, str) and bool(value)


def _evolution_sent_message(body: dict, what: str) -> tuple[str, dict]:
    """The `messageType` and `message` of Evolution's answer to sendText / sendMedia / sendReaction."""
    if what == "sendReaction":
        reaction = {"key": body["key"], "text": body["reaction"], "senderTimestampMs": str(int(time.time() * 1000))}
        return "reactionMessage", {"reactionMessage": reaction}
    if what == "sendWhatsAppAudio":  # Evolution answers with a voice note (ptt), encoded as Opus in OGG
        audio = {"url": "https://mmg.whatsapp.net/o1/v/t62.7117-24/fake.enc?ccb=11-4", "ptt": True}
        audio.update(mimetype="audio/ogg; codecs=opus", fileLength=str(len(_b64(body.get("audio")))))
        return "audioMessage", {"audioMessage": audio}
    if what != "sendMedia":
        quoted = body.get("quoted")
        if not quoted:
            return "conversation", {"conversation": body.get("text", "")}
        key = quoted["key"]
        context = {
            "stanzaId": key["id"],
            "participant": key.get("remoteJid", ""),
            "quotedMessage": quoted.get("message") or {},
        }
        return "extendedTextMessage", {"extendedTextMessage": {"text": body.get("text", ""), "contextInfo": context}}
    message_type = f"{body.get('mediatype') or 'document'}Message"
    part: dict = {
        "url": "https://mmg.whatsapp.net/o1/v/t62.7118-24/fake.enc?ccb=11-4",
        "mimetype": body.get("mimetype", ""),
        "fileLength": str(len(_b64(body.get("media")))),
    }
    if body.get("caption"):
        part["caption"] = body["caption"]
    if message_type == "documentMessage":
        part["fileName"] = body.get("fileName", "")
    return message_type, {message_type: part}


def _evolution_media_type(mime: str) -> str:
    kind = mime.split("/", 1)[0]
    return f"{kind}Message" if kind in ("image", "audio", "video") else "documentMessage"


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

        # --- plumbing ----------------------------------------------------------------------
        def _split(self) -> tuple[str, str, dict]:
            path, _, raw_query = self.path.partition("?")
            return path, raw_query, parse_qs(raw_query, keep_blank_values=True)

        def _read(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _json_body(self):
            raw = self._read()
            try:
                return json.loads(raw) if raw else None
            except ValueError:
                return None

        def _send(self, status: int, body) -> None:
            data = json.dumps(body, ensure_ascii=False).encode()
            self._send_bytes(status, data, "application/json")

        def _send_bytes(self, status: int, data: bytes, content_type: str) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the caller gave up waiting (a released hang)

        def _held(self, path: str) -> None:
            credentials = tuple(c for c in (self._bearer(), self.headers.get("apikey") or "") if c)
            fake._hold(path, credentials)

        def _answer(self, call: Call, status: int, body) -> None:
            call.status, call.answer = status, body
            self._send(status, body)

        def _hang_up(self) -> None:
            """A "timeout" failure: the request was held; the client gave up or the fake stopped."""
            self.close_connection = True

        def _bearer(self) -> str:
            auth = self.headers.get("Authorization") or ""
            return auth[len("Bearer ") :].strip() if auth.startswith("Bearer ") else ""

        def _graph_token(self, query: dict) -> str:
            """Graph takes the token as a Bearer header or as an access_token parameter."""
            return self._bearer() or (_first(query, "access_token") or "").strip()

        def _graph_failed(self, call: Call) -> bool:
            """Answer a configured failure in Graph's shape; True when the request is done."""
            failure = fake._next_failure()
            if failure == "timeout":
                fake._hang()
                self._hang_up()
                return True
            if failure:
                self._answer(call, *graph_error(META_ERRORS[failure]))
                return True
            return False

        def _evolution_failed(self, call: Call, *, number: str = "") -> bool:
            failure = fake._next_failure()
            if failure == "timeout":
                fake._hang()
                self._hang_up()
                return True
            if failure:
                self._answer(call, *evolution_failure(failure, number=number))
                return True
            return False

        def _evolution_unauthorized(self, call: Call) -> bool:
            if self.headers.get("apikey"):
                return False
            self._answer(call, *evolution_error(401, "Unauthorized"))
            return True

        def _not_found(self, method: str, path: str) -> None:
            if GRAPH_VERSION.match(path):
                status, body = graph_error(
                    GraphError(400, 2500, f"Unknown path components: {path}", "No such Graph endpoint")
                )
                return self._send(status, body)
            self._send(*evolution_error(404, [f"Cannot {method} {self.path}"]))

        # --- GET ---------------------------------------------------------------------------
        def do_GET(self):
            path, raw_query, query = self._split()
            # Control first: no provider route may ever shadow it.
            if path.startswith("/_fake/"):
                return self._control_get(path)
            self._held(path)
            if path == LOOKASIDE_PATH or path == LOOKASIDE_PATH.rstrip("/"):
                return self._lookaside(path, raw_query, query)
            if TEMPLATES_PATH.match(path):
                return self._templates(path, raw_query, query)
            if CONNECT_PATH.match(path):
                return self._connect(path, raw_query)
            # Any other GET is Graph's GET {base}/{media-id}: the base may carry a version or not.
            self._media_info(path, raw_query, query)

        def _lookaside(self, path, raw_query, query):
            call = Call(provider="meta", path=path, headers=dict(self.headers), json=None, query=raw_query)
            fake._record(call)
            # Lookaside takes the token as a header only: a URL alone must never open a file.
            if not self._bearer():
                return self._answer(call, *graph_error(NO_TOKEN))
            status, data, mime = fake.download(query)
            call.status = status
            self._send_bytes(status, data, mime)

        def _templates(self, path, raw_query, query):
            call = Call(provider="meta:templates", path=path, headers=dict(self.headers), json=None, query=raw_query)
            fake._record(call)
            token = self._graph_token(query)
            if not token:
                return self._answer(call, *graph_error(NO_TOKEN))
            if self._graph_failed(call):
                return
            self._answer(call, *fake.template_page(path, query, token))

        def _connect(self, path, raw_query):
            call = Call(provider="evolution:connect", path=path, headers=dict(self.headers), json=None, query=raw_query)
            fake._record(call)
            if self._evolution_unauthorized(call) or self._evolution_failed(call):
                return
            self._answer(call, 200, fake.connect_answer)

        def _media_info(self, path, raw_query, query):
            """GET {base}/{media-id}: the file's metadata and a fresh URL."""
            call = Call(provider="meta", path=path, headers=dict(self.headers), json=None, query=raw_query)
            fake._record(call)
            if not self._graph_token(query):
                return self._answer(call, *graph_error(NO_TOKEN))
            if fake.graph_tokens is not None and self._graph_token(query) not in fake.graph_tokens:
                return self._answer(call, *graph_error(BAD_TOKEN))
            if self._graph_failed(call):
                return
            node = path.rstrip("/").rsplit("/", 1)[-1]
            if node in fake.phone_numbers:  # a phone-number node (any other id is a media id)
                wanted = (_first(query, "fields") or "").split(",")
                number = {k: v for k, v in fake.phone_numbers[node].items() if k in wanted}
                return self._answer(call, 200, {**number, "id": node})
            self._answer(call, *fake.media_info(node))

        # --- POST --------------------------------------------------------------------------
        def do_POST(self):
            path, raw_query, query = self._split()
            # Control first: /_fake/media would otherwise be taken for Meta's upload route.
            if path.startswith("/_fake/"):
                return self._control(path, self._json_body())
            self._held(path)
            if META_UPLOAD_PATH.match(path):
                return self._upload(path, raw_query, query)
            body = self._json_body()
            if EVOLUTION_MEDIA_PATH.match(path):
                return self._evolution_media(path, raw_query, body)
            if INSTANCE_CREATE_PATH.match(path):
                return self._instance_create(path, raw_query, body)
            hook = WEBHOOK_SET_PATH.match(path)
            if hook:
                return self._webhook_set(path, raw_query, body, hook.group("instance"))
            if FIND_MESSAGES_PATH.match(path):
                call = Call(
                    provider="evolution:findMessages",
                    path=path,
                    headers=dict(self.headers),
                    json=body,
                    query=raw_query,
                )
                fake._record(call)
                if self._evolution_unauthorized(call):
                    return
                status, answer = fake.find_messages(body or {})
                if status == 0:
                    return self._hang_up()
                return self._answer(call, status, answer)
            evo = EVOLUTION_PATH.match(path)
            provider = "evolution" if evo else "meta" if META_PATH.match(path) else None
            if provider is None:
                return self._not_found("POST", path)
            call = Call(provider=provider, path=path, headers=dict(self.headers), json=body, query=raw_query)
            fake._record(call)
            if provider == "meta" and not self._graph_token(query):
                return self._answer(call, *graph_error(NO_TOKEN))
            if provider == "evolution" and self._evolution_unauthorized(call):
                return
            status, answer = fake.answer(provider, body or {}, what=evo.group("what") if evo else "sendText")
            if answer is None:
                return self._hang_up()
            self._answer(call, status, answer)

        def _instance_create(self, path, raw_query, body):
            """POST /instance/create, as Evolution API v2's instance controller and guard answer it."""
            call = Call(provider="evolution:create", path=path, headers=dict(self.headers), json=body, query=raw_query)
            fake._record(call)
            if (self.headers.get("apikey") or "") != fake.gateway_key:
                return self._answer(call, *evolution_error(401, "Unauthorized"))
            if self._evolution_failed(call):
                return
            body = body if isinstance(body, dict) else {}
            name = str(body.get("instanceName") or "")
            if not name:
                return self._answer(call, *evolution_error(400, ["instanceName is required"]))
            with fake._lock:
                if name in fake.instances:
                    taken = True
                else:
                    taken = False
                    token = str(body.get("token") or "") or secrets.token_hex(16).upper()
                    fake.instances[name] = token
                    hook = body.get("webhook") if isinstance(body.get("webhook"), dict) else {}
                    if hook.get("url"):
                        fake.webhooks[name] = dict(hook)
            if taken:
                return self._answer(call, *evolution_error(403, [f'This name "{name}" is already in use.']))
            hook = body.get("webhook") if isinstance(body.get("webhook"), dict) else {}
            qrcode = dict(fake.connect_answer) if body.get("qrcode") else {}
            self._answer(
                call,
                201,
                {
                    "instance": {
                        "instanceName": name,
                        "instanceId": f"{fake._run.lower()}-{next(fake._ids):04d}",
                        "integration": body.get("integration") or "WHATSAPP-BAILEYS",
                        "webhookWaBusiness": None,
                        "accessTokenWaBusiness": "",
                        "status": "connecting" if qrcode else "close",
                    },
                    "hash": token,
                    "webhook": {
                        "webhookUrl": hook.get("url"),
                        "webhookHeaders": hook.get("headers"),
                        "webhookByEvents": hook.get("byEvents"),
                        "webhookBase64": hook.get("base64"),
                    },
                    "websocket": {},
                    "rabbitmq": {},
                    "nats": {},
                    "sqs": {},
                    "settings": {"rejectCall": False, "groupsIgnore": False, "alwaysOnline": False},
                    "qrcode": qrcode,
                },
            )

        def _webhook_set(self, path, raw_query, body, name):
            """POST /webhook/set/{instance}: the stored webhook row, as v2's webhook controller returns it."""
            call = Call(provider="evolution:webhook", path=path, headers=dict(self.headers), json=body, query=raw_query)
            fake._record(call)
            key = self.headers.get("apikey") or ""
            if name not in fake.instances:
                return self._answer(call, *evolution_error(404, [f'The "{name}" instance does not exist']))
            if key not in (fake.gateway_key, fake.instances[name]):
                return self._answer(call, *evolution_error(401, "Unauthorized"))
            if self._evolution_failed(call):
                return
            hook = (body or {}).get("webhook") if isinstance((body or {}).get("webhook"), dict) else {}
            with fake._lock:
                fake.webhooks[name] = dict(hook)
            self._answer(
                call,
                201,
                {
                    "id": secrets.token_hex(12),
                    "url": hook.get("url"),
                    "headers": hook.get("headers"),
                    "enabled": bool(hook.get("enabled")),
                    "events": hook.get("events") or [],
                    "webhookByEvents": bool(hook.get("byEvents")),
                    "webhookBase64": bool(hook.get("base64")),
                    "instanceId": name,
                },
            )

        def _multipart(self) -> dict:
            raw = self._read()
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

        def _upload(self, path, raw_query, query):
            form = self._multipart()
            call = Call(provider="meta", path=path, headers=dict(self.headers), json=form, query=raw_query)
            fake._record(call)
            if not self._graph_token(query):
                return self._answer(call, *graph_error(NO_TOKEN))
            if self._graph_failed(call):
                return
            # Meta's media ids are digits.
            media_id = f"{next(fake._ids)}{int(fake._run, 16):010d}"
            with fake._lock:
                fake.uploads[media_id] = {**form["file"], "upload_type": form["fields"].get("type", "")}
            self._answer(call, 200, {"id": media_id})

        def _evolution_media(self, path, raw_query, body):
            call = Call(provider="evolution", path=path, headers=dict(self.headers), json=body, query=raw_query)
            fake._record(call)
            if self._evolution_unauthorized(call) or self._evolution_failed(call):
                return
            message_id = (((body or {}).get("message") or {}).get("key") or {}).get("id", "")
            found = fake.media.get(message_id)
            if found is None:
                return self._answer(call, *evolution_error(400, ["Message not found"]))
            self._answer(
                call,
                201,
                {
                    "mediaType": _evolution_media_type(found[1]),
                    "fileName": None,
                    "caption": None,
                    "size": {"fileLength": len(found[0])},
                    "mimetype": found[1],
                    "base64": base64.b64encode(found[0]).decode(),
                },
            )

        # --- control -----------------------------------------------------------------------
        def _control_get(self, path):
            what = path.rstrip("/")
            if what == "/_fake/calls":
                with fake._lock:
                    return self._send(200, [asdict(c) for c in fake.calls])
            if what == "/_fake/templates":
                with fake._lock:
                    return self._send(
                        200, {"templates": list(fake.message_templates), "page_size": fake.template_page_size}
                    )
            if what == "/_fake/held":
                with fake._lock:
                    return self._send(200, {"held": dict(fake._held)})
            self._send(404, {"error": f"unknown control path {path}"})

        def _control(self, path, body):
            body = body if isinstance(body, dict) else {}
            what = path.rstrip("/")
            try:
                if what == "/_fake/fail":
                    times = int(body.get("times", 1))
                    fake.fail_always(body.get("mode")) if times == 0 else fake.fail_next(body["mode"], times)
                elif what == "/_fake/latency":
                    fake.latency_ms = int(body.get("ms", 0))
                elif what == "/_fake/reset":
                    fake.reset()
                elif what == "/_fake/media":
                    content = base64.b64decode(body["base64"], validate=True)
                    fake.add_media(str(body["id"]), content, body.get("mime_type", ""), sha256=body.get("sha256"))
                elif what == "/_fake/expire":
                    fake.expire_urls(int(body.get("times", 1)))
                elif what == "/_fake/hang":
                    fake.hang(str(body["match"]))
                elif what == "/_fake/release":
                    fake.release(str(body["match"]) if body.get("match") else None)
                elif what == "/_fake/templates":
                    with fake._lock:
                        if "templates" in body:
                            if not isinstance(body["templates"], list):
                                raise ValueError("templates must be a list")
                            fake.message_templates = list(body["templates"])
                        if "page_size" in body:
                            size = body["page_size"]
                            fake.template_page_size = None if size is None else max(1, int(size))
                else:
                    return self._send(404, {"error": f"unknown control path {path}"})
            except (KeyError, TypeError, ValueError, binascii.Error) as exc:
                return self._send(400, {"error": f"bad control body: {exc!r}"})
            self._send(200, {"ok": True})

    return Handler


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Fake Meta / Evolution API")
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
