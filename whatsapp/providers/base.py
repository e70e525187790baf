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

from .types import ParseResult, SendError, SendResult


class Provider:
    """Parse webhook bodies, authenticate them, and send texts for one connection."""

    max_text_length: int = 4096

    def __init__(self, connection):
        self.connection = connection

    def authenticate(self, *, raw_body: bytes, headers, payload: dict | None) -> bool:
        raise NotImplementedError

    def parse(self, payload) -> ParseResult:
        raise NotImplementedError

    def send_text(self, *, to: str, text: str) -> SendResult:
        raise NotImplementedError


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


def get_json(url: str, *, headers: dict, params: dict | None = None) -> requests.Response:
    """GET with the same timeouts and errors as post_json (provider status pages, pairing codes)."""
    try:
        return http_session().get(url, params=params, headers=headers, timeout=http_timeout())
    except requests.Timeout as exc:
        raise SendError(
            "timeout", gettext("O provedor não respondeu a tempo; nova tentativa em breve."), retryable=True
        ) from exc
    except requests.ConnectionError as exc:
        raise SendError(
            "connection", gettext("Não foi possível conectar ao provedor; nova tentativa em breve."), retryable=True
        ) from exc


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
