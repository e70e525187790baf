"""The one interface every WhatsApp provider adapter implements, and its normalised data.

Adapters turn a provider's raw webhook body into provider-neutral records and send texts.
They never touch the database: ingest (whatsapp.inbound) decides what to store.
"""

from __future__ import annotations

import os
import socket
import threading
from contextlib import contextmanager, suppress
from datetime import UTC, datetime

import requests
from django.conf import settings
from django.utils.translation import gettext
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from .types import OUTBOUND, DownloadedMedia, MediaRule, ParseResult, SendError, SendResult, TemplateInfo
from .urls import UnsafeURL, check_provider_url

# Formats no provider should carry for a helpdesk: programs and scripts.
REFUSED_MIME = {
    "application/x-msdownload",
    "application/x-msdos-program",
    "application/x-executable",
    "application/x-sh",
    "application/x-bat",
    "application/vnd.microsoft.portable-executable",
    "application/java-archive",
}


class Provider:
    """Parse webhook bodies, authenticate them, send texts and files, and fetch the files of media messages."""

    max_text_length: int = 4096
    # The credential may travel inside the body (Evolution's envelope `apikey`): only then is a body
    # parsed before it is authenticated.
    credential_in_body: bool = False

    def __init__(self, connection):
        self.connection = connection

    def authenticate(self, *, raw_body: bytes, headers, payload: dict | None) -> bool:
        raise NotImplementedError

    def parse(self, payload) -> ParseResult:
        raise NotImplementedError

    def send_text(self, *, to: str, text: str) -> SendResult:
        raise NotImplementedError

    def media_rule(self, mime_type: str) -> MediaRule | None:
        """How a file of this type is sent (kind and size limit); None when the provider refuses the type."""
        raise NotImplementedError

    def send_media(
        self, *, to: str, kind: str, content: bytes, mime_type: str, filename: str = "", caption: str = ""
    ) -> SendResult:
        raise NotImplementedError

    def download_media(
        self, *, media: dict, provider_message_id: str, inline_base64: str | None = None, max_bytes: int
    ) -> DownloadedMedia:
        """The bytes of an inbound media message. Raises SendError (retryable or not)."""
        raise NotImplementedError

    def event_media_base64(self, payload, provider_message_id: str) -> str | None:
        """The file a webhook body itself carries for this message (Evolution's base64), if any."""
        return None

    def send_template(self, *, to: str, name: str, language: str, params: list[str]) -> SendResult:
        raise SendError(
            "unsupported", gettext("Esta conexão não envia modelos de mensagem (só a Meta)."), retryable=False
        )

    def list_templates(self) -> list[TemplateInfo]:
        raise SendError(
            "unsupported", gettext("Esta conexão não tem modelos de mensagem (só a Meta)."), retryable=False
        )

    def send_outbound(
        self, *, to: str, direction: str, text: str = "", template: dict | None = None, file: dict | None = None
    ) -> SendResult:
        """The outbox's one way in. Anything but an outbound message (an internal note, a client's
        message) is refused here, before any HTTP call, whatever path reached the adapter."""
        if direction != OUTBOUND:
            raise SendError(
                "not_outbound", gettext("Notas internas e mensagens recebidas nunca são enviadas."), retryable=False
            )
        if template is not None:
            return self.send_template(
                to=to,
                name=str(template.get("name", "")),
                language=str(template.get("language", "")),
                params=[str(p) for p in template.get("params") or []],
            )
        if file is not None:  # {kind, content, mime_type, filename}; the text is its caption
            return self.send_media(
                to=to,
                kind=file["kind"],
                content=file["content"],
                mime_type=file["mime_type"],
                filename=file.get("filename", ""),
                caption=text,
            )
        return self.send_text(to=to, text=text)


_local = threading.local()


class _Watch:
    """The total deadline of one call: when it passes, the call's socket is shut down.

    `requests`' timeouts are per socket read, so a server dripping one byte at a time would never
    time out; shutting the socket down from a timer ends any blocking read at once, whether it is
    waiting for the status line, the headers or the body."""

    def __init__(self, seconds: float):
        self.expired = False
        self._conns: list = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def watch(self, conn) -> None:
        with self._lock:
            self._conns.append(conn)
            expired = self.expired
        if expired:
            self._shutdown(conn)

    def _fire(self) -> None:
        with self._lock:
            self.expired = True
            conns = list(self._conns)
        for conn in conns:
            self._shutdown(conn)

    @staticmethod
    def _shutdown(conn) -> None:
        sock = getattr(conn, "sock", None)
        if sock is None:
            return
        with suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)

    def __enter__(self):
        _local.watch = self
        self._timer.start()
        return self

    def __exit__(self, *exc):
        self._timer.cancel()
        _local.watch = None
        return False


def _register(conn):
    watch = getattr(_local, "watch", None)
    if watch is not None:
        watch.watch(conn)
    return conn


class _WatchedHTTPPool(HTTPConnectionPool):
    def _get_conn(self, timeout=None):
        return _register(super()._get_conn(timeout))


class _WatchedHTTPSPool(HTTPSConnectionPool):
    def _get_conn(self, timeout=None):
        return _register(super()._get_conn(timeout))


class _WatchedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _WatchedHTTPPool,
            "https": _WatchedHTTPSPool,
        }


def http_session() -> requests.Session:
    """One pooled session per process (and thread: Session is not thread-safe); rebuilt after fork."""
    session = getattr(_local, "session", None)
    if session is None or getattr(_local, "pid", None) != os.getpid():
        session = requests.Session()
        session.headers["User-Agent"] = "IAZE/1.0"
        adapter = _WatchedAdapter()
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        _local.session, _local.pid = session, os.getpid()
    return session


def http_deadline() -> float:
    """Seconds one provider call may take in total: the setting, or less inside call_budget()."""
    total = float(getattr(settings, "WHATSAPP_HTTP_TIMEOUT", 15.0))
    budget = getattr(_local, "budget", None)
    return min(total, budget) if budget else total


def http_timeout() -> tuple[float, float]:
    total = http_deadline()
    return (min(5.0, total), total)


@contextmanager
def call_budget(seconds: float):
    """Calls made inside wait at most `seconds` in total (a web request's inline send)."""
    previous = getattr(_local, "budget", None)
    _local.budget = min(seconds, previous) if previous else seconds
    try:
        yield
    finally:
        _local.budget = previous


def _timeout_error() -> SendError:
    return SendError("timeout", gettext("O provedor não respondeu a tempo; nova tentativa em breve."), retryable=True)


def _request(method: str, url: str, *, deadline: float | None = None, max_bytes: int | None = None, **kwargs):
    """Every provider call: a checked URL, no redirects, one total deadline (not per read).

    A refused URL is a final SendError with a mapped reason; a timeout or a dropped connection is
    a retryable one. The body is read while the deadline still applies (`max_bytes` caps it)."""
    try:
        check_provider_url(url)
    except UnsafeURL as exc:
        if exc.unresolved:
            raise SendError("connection", exc.text, retryable=True) from exc
        raise SendError("unsafe_url", exc.text, retryable=False) from exc
    limit = http_deadline() if deadline is None else deadline
    budget = getattr(_local, "budget", None)
    watch = _Watch(min(limit, budget) if budget else limit)
    try:
        with watch:
            response = http_session().request(
                method, url, timeout=http_timeout(), allow_redirects=False, stream=max_bytes is not None, **kwargs
            )
            if max_bytes is None:
                _ = response.content
            else:
                _read_capped(response, max_bytes)
    except requests.Timeout as exc:
        raise _timeout_error() from exc
    except requests.RequestException as exc:
        if watch.expired:
            raise _timeout_error() from exc
        raise SendError(
            "connection", gettext("Não foi possível conectar ao provedor; nova tentativa em breve."), retryable=True
        ) from exc
    if watch.expired:
        raise _timeout_error()
    return response


def _read_capped(response: requests.Response, max_bytes: int) -> None:
    """Read a streamed body into response._content, refusing more than max_bytes."""
    try:
        declared = int(response.headers.get("Content-Length") or 0)
    except ValueError:
        declared = 0
    if response.status_code < 300 and declared > max_bytes:
        response.close()
        raise too_large(max_bytes)
    chunks, size = [], 0
    for chunk in response.iter_content(chunk_size=1 << 16):
        size += len(chunk)
        if size > max_bytes:
            response.close()
            raise too_large(max_bytes)
        chunks.append(chunk)
    response._content = b"".join(chunks)


def post_json(url: str, *, json: dict, headers: dict) -> requests.Response:
    return _request("POST", url, json=json, headers=headers)


def get_json(url: str, *, headers: dict, params: dict | None = None) -> requests.Response:
    return _request("GET", url, headers=headers, params=params)


def transfer_deadline() -> float:
    """Files take longer than JSON: downloads and uploads get their own total deadline."""
    return float(getattr(settings, "WHATSAPP_FILE_TIMEOUT", 120.0))


def get_bytes(url: str, *, headers: dict, max_bytes: int) -> tuple[int, bytes, str]:
    """GET a file, refusing more than max_bytes. Returns (status, bytes, content type)."""
    response = _request("GET", url, headers=headers, max_bytes=max_bytes, deadline=transfer_deadline())
    return response.status_code, response.content, response.headers.get("Content-Type", "")


def post_multipart(url: str, *, data: dict, files: dict, headers: dict) -> requests.Response:
    """POST multipart/form-data (a file upload)."""
    return _request("POST", url, data=data, files=files, headers=headers, deadline=transfer_deadline())


def http_error(status: int) -> SendError:
    """A provider's refusal, told in our words: the answer's own text is never stored or shown."""
    if status in (401, 403):
        return SendError(f"http_{status}", gettext("O provedor recusou as credenciais da conexão."), retryable=False)
    if 300 <= status < 400:
        return SendError(
            f"http_{status}",
            gettext("O provedor respondeu com um redirecionamento, que não é seguido."),
            retryable=False,
        )
    if status >= 500 or status in (408, 429):
        return SendError(
            f"http_{status}",
            gettext("O provedor está indisponível no momento; nova tentativa em breve."),
            retryable=True,
        )
    return SendError(
        f"http_{status}",
        gettext("O provedor recusou a mensagem (HTTP %(status)d).") % {"status": status},
        retryable=False,
    )


def too_large(limit: int) -> SendError:
    return SendError(
        "too_large",
        gettext("O arquivo passa do limite de %(mb)s MB.") % {"mb": f"{limit / 1024 / 1024:g}"},
        retryable=False,
    )


def base_mime(mime_type: str) -> str:
    return (mime_type or "").split(";", 1)[0].strip().lower()


def from_unix(value) -> datetime | None:
    """Provider timestamps: seconds since the epoch, as int or str (Baileys: {"low": n})."""
    if isinstance(value, dict):
        value = value.get("low")
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        return None
    if seconds <= 0:
        return None
    if seconds > 10**11:  # milliseconds
        seconds //= 1000
    return datetime.fromtimestamp(seconds, tz=UTC)


def as_dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def as_list(value) -> list:
    return value if isinstance(value, list) else []


def as_str(value) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)
