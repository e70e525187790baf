"""The one interface every WhatsApp provider adapter implements, and its normalised data.

Adapters turn a provider's raw webhook body into provider-neutral records and send texts.
They never touch the database: ingest (whatsapp.inbound) decides what to store.
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime

import requests
from django.conf import settings
from django.utils.translation import gettext

from .types import DownloadedMedia, MediaRule, ParseResult, SendError, SendResult

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


_local = threading.local()


def http_session() -> requests.Session:
    """One pooled session per process (and thread: Session is not thread-safe); rebuilt after fork."""
    session = getattr(_local, "session", None)
    if session is None or getattr(_local, "pid", None) != os.getpid():
        session = requests.Session()
        session.headers["User-Agent"] = "IAZE/1.0"
        _local.session, _local.pid = session, os.getpid()
    return session


def http_timeout() -> tuple[float, float]:
    total = float(getattr(settings, "WHATSAPP_HTTP_TIMEOUT", 15.0))
    return (min(5.0, total), total)


def post_json(url: str, *, json: dict, headers: dict) -> requests.Response:
    """POST with timeouts; a timeout or a dropped connection is a retryable SendError."""
    try:
        return http_session().post(url, json=json, headers=headers, timeout=http_timeout())
    except requests.Timeout as exc:
        raise SendError(
            "timeout", gettext("O provedor não respondeu a tempo; nova tentativa em breve."), retryable=True
        ) from exc
    except requests.ConnectionError as exc:
        raise SendError(
            "connection", gettext("Não foi possível conectar ao provedor; nova tentativa em breve."), retryable=True
        ) from exc


def _transport_error(exc: Exception) -> SendError:
    if isinstance(exc, requests.Timeout):
        return SendError(
            "timeout", gettext("O provedor não respondeu a tempo; nova tentativa em breve."), retryable=True
        )
    return SendError(
        "connection", gettext("Não foi possível conectar ao provedor; nova tentativa em breve."), retryable=True
    )


def get_json(url: str, *, headers: dict) -> requests.Response:
    """GET with timeouts (a provider's JSON answer); transport failures are retryable SendErrors."""
    try:
        return http_session().get(url, headers=headers, timeout=http_timeout())
    except (requests.Timeout, requests.ConnectionError) as exc:
        raise _transport_error(exc) from exc


def get_bytes(url: str, *, headers: dict, max_bytes: int) -> tuple[int, bytes, str]:
    """GET a file, streamed, refusing more than max_bytes. Returns (status, bytes, content type)."""
    try:
        with http_session().get(url, headers=headers, timeout=http_timeout(), stream=True) as response:
            declared = int(response.headers.get("Content-Length") or 0)
            if response.status_code < 300 and declared > max_bytes:
                raise too_large(max_bytes)
            chunks, size = [], 0
            for chunk in response.iter_content(chunk_size=1 << 16):
                size += len(chunk)
                if size > max_bytes:
                    raise too_large(max_bytes)
                chunks.append(chunk)
            return response.status_code, b"".join(chunks), response.headers.get("Content-Type", "")
    except (requests.Timeout, requests.ConnectionError) as exc:
        raise _transport_error(exc) from exc


def post_multipart(url: str, *, data: dict, files: dict, headers: dict) -> requests.Response:
    """POST multipart/form-data (a file upload) with timeouts; transport failures are retryable SendErrors."""
    try:
        return http_session().post(url, data=data, files=files, headers=headers, timeout=http_timeout())
    except (requests.Timeout, requests.ConnectionError) as exc:
        raise _transport_error(exc) from exc


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
