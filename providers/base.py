"""The one interface every WhatsApp provider adapter implements, and its normalised data.

Adapters turn a provider's raw webhook body into provider-neutral records and send texts.
They never touch the database: ingest (whatsapp.inbound) decides what to store.
"""

from __future__ import annotations

import base64
import binascii
import threading
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import requests
from django.conf import settings
from django.utils.translation import gettext
from urllib3 import exceptions as urllib3_errors

from iaze.lib import outbound
from providers.types import (
    OUTBOUND,
    DownloadedMedia,
    HistoryPage,
    MediaRule,
    Pairing,
    ParseResult,
    SendError,
    SendResult,
    TemplateInfo,
)
from providers.url_guard import UnsafeURL, check_given_url, check_shape

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


# The class attributes of Provider that say what an adapter can do (providers.providers_with).
CAPABILITIES = (
    "service_window",
    "has_templates",
    "recovers_gaps",
    "pairs_by_qr",
    "reports_connection_state",
    "signs_webhooks",
    "credential_in_body",
    "quotes",
    "reacts",
    "records_voice_notes",
)


class Provider:
    """Parse webhook bodies, authenticate them, send texts and files, and fetch the files of media messages.

    The class attributes below are the adapter's capabilities: code outside this package asks them
    (through `providers.capabilities` / `providers_with`) instead of naming a provider, so a
    new adapter brings its own rules with it. The defaults are "no": a capability is claimed only by an
    adapter that really has it.
    """

    max_text_length: int = 4096
    # The credential may travel inside the body (Evolution's envelope `apikey`): only then is a body
    # parsed before it is authenticated.
    credential_in_body: bool = False
    # Webhook bodies come signed (an HMAC of the raw bytes, Meta's X-Hub-Signature-256).
    signs_webhooks: bool = False
    # The customer-service window: free text and files may be sent only this long after the client's
    # latest message; after it, only an approved template (tickets.rules.window holds the rule). None: no
    # window, a client may be written to at any time.
    service_window: timedelta | None = None
    # Approved message templates: listed (list_templates, synced by sync_templates) and sent (send_template).
    has_templates: bool = False
    # Messages missed while the number was offline can be fetched again (find_messages): gap recovery.
    recovers_gaps: bool = False
    # The number is paired by scanning a QR code (pair).
    pairs_by_qr: bool = False
    # The provider reports the connection's state (open, connecting, close); otherwise its health is
    # judged by webhook silence.
    reports_connection_state: bool = False
    # What agents can send besides text, files and templates: a reply quoting an earlier message, a
    # reaction, a voice note recorded in the browser (sent as a voice message, not an audio file).
    # Inbound quotes and reactions are parsed by every adapter; these are about sending.
    quotes: bool = False
    reacts: bool = False
    records_voice_notes: bool = False

    def __init__(self, connection):
        self.connection = connection

    def authenticate(self, *, raw_body: bytes, headers, payload: dict | None) -> bool:
        raise NotImplementedError

    def credential_in_raw_body(self, raw_body: bytes) -> bool:
        """For credential_in_body adapters: may these raw bytes hold the right credential? Asked before a
        body is parsed to find it, so a body without it is refused before anything is built from it.
        Must not parse the body; True when the adapter cannot tell (the body is then parsed)."""
        return True

    def parse(self, payload) -> ParseResult:
        raise NotImplementedError

    def send_text(self, *, to: str, text: str, quote: dict | None = None) -> SendResult:
        """`quote` (adapters with `quotes`): the message the text replies to, {"id": its provider id,
        "from_me": the business sent it, "text": its text when it is a plain text}."""
        raise NotImplementedError

    def send_reaction(self, *, to: str, message_id: str, emoji: str, from_me: bool = False) -> SendResult:
        """React (adapters with `reacts`) to the message `message_id` of the chat with `to`; an empty
        `emoji` removes the reaction."""
        raise SendError("unsupported", gettext("Esta conexão não envia reações."), retryable=False)

    def media_rule(self, mime_type: str) -> MediaRule | None:
        """How a file of this type is sent (kind and size limit); None when the provider refuses the type."""
        raise NotImplementedError

    def send_media(
        self,
        *,
        to: str,
        kind: str,
        content: bytes,
        mime_type: str,
        filename: str = "",
        caption: str = "",
        quote: dict | None = None,
    ) -> SendResult:
        raise NotImplementedError

    def send_voice(self, *, to: str, content: bytes, mime_type: str, quote: dict | None = None) -> SendResult:
        """A voice note (adapters with `records_voice_notes`): OGG/Opus bytes the client's WhatsApp plays as a
        voice message, not as an audio file; `quote` as in send_text."""
        raise SendError("unsupported", gettext("Esta conexão não envia mensagens de voz."), retryable=False)

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

    def pair(self) -> Pairing:
        """Ask the provider to pair the number (pairs_by_qr): a QR code to scan, or the state when paired.
        Raises SendError."""
        raise NotImplementedError

    def find_messages(self, *, since: int, page: int, page_size: int) -> HistoryPage:
        """One page of the messages the provider kept since `since` (unix seconds), oldest pages first
        (recovers_gaps). Raises SendError."""
        raise NotImplementedError

    def simulated_text(
        self, *, sender: str, name: str, text: str, message_id: str = "", timestamp: int | None = None
    ) -> tuple[bytes, dict]:
        """A client's text as this provider posts it to our webhook, authenticated like the real thing:
        (raw body, headers). For the demo simulator (whatsapp.simulator), tests and benchmarks."""
        raise NotImplementedError

    def send_outbound(
        self,
        *,
        to: str,
        direction: str,
        text: str = "",
        template: dict | None = None,
        file: dict | None = None,
        quote: dict | None = None,
        reaction: dict | None = None,
    ) -> SendResult:
        """The outbox's one way in. Anything but an outbound message (an internal note, a client's
        message) is refused here, before any HTTP call, whatever path reached the adapter.

        `quote`: the message a text or file replies to (see send_text); `reaction`: {"message_id",
        "emoji", "from_me"}, a reaction instead of a message."""
        if direction != OUTBOUND:
            raise SendError(
                "not_outbound", gettext("Notas internas e mensagens recebidas nunca são enviadas."), retryable=False
            )
        if reaction is not None:
            return self.send_reaction(
                to=to,
                message_id=str(reaction.get("message_id", "")),
                emoji=str(reaction.get("emoji", "")),
                from_me=bool(reaction.get("from_me")),
            )
        if template is not None:
            return self.send_template(
                to=to,
                name=str(template.get("name", "")),
                language=str(template.get("language", "")),
                params=[str(p) for p in template.get("params") or []],
            )
        if file is not None and file.get("voice"):  # a recording: OGG/Opus, no caption
            return self.send_voice(to=to, content=file["content"], mime_type=file["mime_type"], quote=quote)
        if file is not None:  # {kind, content, mime_type, filename, voice}; the text is its caption
            return self.send_media(
                to=to,
                kind=file["kind"],
                content=file["content"],
                mime_type=file["mime_type"],
                filename=file.get("filename", ""),
                caption=text,
                quote=quote,
            )
        return self.send_text(to=to, text=text, quote=quote)


_local = threading.local()


def http_session() -> requests.Session:
    """The outbound session (iaze.lib.outbound): pinned, checked addresses; no proxies, no redirects."""
    return outbound.session()


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


def admin_call_seconds() -> float:
    """The budget of a provider call made while an admin page is answered: a gateway that hangs holds the
    page's web worker this long at most, not the full WHATSAPP_HTTP_TIMEOUT (three pairing pages at once once
    kept /healthz waiting 14 s)."""
    return float(getattr(settings, "WHATSAPP_ADMIN_CALL_SECONDS", 3.0))


def admin_call_budget():
    """call_budget(admin_call_seconds()): wrap every provider call an admin page makes."""
    return call_budget(admin_call_seconds())


def _timeout_error() -> SendError:
    return SendError("timeout", gettext("O provedor não respondeu a tempo; nova tentativa em breve."), retryable=True)


def answer_cap() -> int:
    """Bytes a provider's JSON answer may take once decompressed (files have their own cap)."""
    return int(getattr(settings, "WHATSAPP_ANSWER_MAX_BYTES", 8 * 1024 * 1024))


def _checked(url: str, *, given: bool) -> None:
    """The URL's shape: an API base we built on (`given=False`) or a URL the provider handed over."""
    try:
        check_given_url(url) if given else check_shape(url)
    except UnsafeURL as exc:
        raise SendError("unsafe_url", exc.text, retryable=False) from exc


def _request(
    method: str,
    url: str,
    *,
    deadline: float | None = None,
    max_bytes: int | None = None,
    given: bool = False,
    **kwargs,
):
    """Every provider call: a checked URL, a checked address, no redirects, one total deadline, a capped body.

    `given`: the URL came in a provider's answer (Meta's media `url`, `paging.next`) and is followed
    exactly as given, query string included. The address rule is applied by the connection itself
    (iaze.lib.outbound), on the address it really connects to. A refused URL or address is a final
    SendError with a mapped reason; a timeout or a dropped connection is a retryable one. The body
    is read while the deadline still applies, capped after decompression."""
    _checked(url, given=given)
    limit = http_deadline() if deadline is None else deadline
    budget = getattr(_local, "budget", None)
    watch = outbound.Watch(min(limit, budget) if budget else limit)
    cap = answer_cap() if max_bytes is None else max_bytes
    try:
        with watch:
            response = http_session().request(
                method, url, timeout=http_timeout(), allow_redirects=False, stream=True, **kwargs
            )
            _read_capped(response, cap, file=max_bytes is not None)
    except outbound.AddressRefused as exc:
        text = (
            gettext("O provedor informou um endereço interno ou reservado; ele não foi acessado.")
            if given
            else gettext("A URL base aponta para um endereço interno ou reservado; ela não é permitida.")
        )
        raise SendError("unsafe_url", text, retryable=False) from exc
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


def _read_capped(response: requests.Response, max_bytes: int, *, file: bool) -> None:
    """Read a streamed body into response._content, refusing more than max_bytes once decompressed."""
    try:
        response._content = outbound.read_capped(response, max_bytes)
    except outbound.AnswerTooLarge:
        if file:
            raise too_large(max_bytes) from None
        raise SendError(
            "answer_too_large",
            gettext("A resposta do provedor passou do tamanho permitido e foi descartada."),
            retryable=False,
        ) from None
    except outbound.AnswerUnreadable:
        raise SendError(
            "answer_unreadable",
            gettext("A resposta do provedor veio em um formato que não pode ser lido."),
            retryable=True,
        ) from None
    except (OSError, urllib3_errors.HTTPError) as exc:
        raise requests.ConnectionError(str(exc)) from exc


def post_json(url: str, *, json: dict, headers: dict, max_bytes: int | None = None) -> requests.Response:
    """POST JSON; `max_bytes` raises the answer's cap (Evolution answers a file in base64)."""
    return _request("POST", url, json=json, headers=headers, max_bytes=max_bytes)


def get_json(url: str, *, headers: dict, params: dict | None = None, given: bool = False) -> requests.Response:
    """GET JSON; `given` for a URL the provider handed over (a listing's `paging.next`)."""
    return _request("GET", url, headers=headers, params=params, given=given)


def transfer_deadline() -> float:
    """Files take longer than JSON: downloads and uploads get their own total deadline."""
    return float(getattr(settings, "WHATSAPP_FILE_TIMEOUT", 120.0))


def get_bytes(url: str, *, headers: dict, max_bytes: int, given: bool = False) -> tuple[int, bytes, str]:
    """GET a file, refusing more than max_bytes. Returns (status, bytes, content type)."""
    response = _request("GET", url, headers=headers, max_bytes=max_bytes, deadline=transfer_deadline(), given=given)
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


# Provider timestamps past this (2100-01-01) are not real: ignored, like a missing one.
LATEST_TIMESTAMP = 4_102_444_800


def from_unix(value) -> datetime | None:
    """Provider timestamps: seconds since the epoch, as int or str (Baileys: {"low": n}).

    None (the caller then uses the time of arrival) for anything that is not a plausible moment: not a
    number, zero or negative, past 2100, or too long to be one ("99999999999999999999", 5,000 digits,
    1e300, infinity). Never raises: a bad timestamp must not make the whole event fail."""
    if isinstance(value, dict):
        value = value.get("low")
    if isinstance(value, str) and len(value.strip()) > 20:
        return None  # int() of thousands of digits is slow, then refused; no moment has that many
    try:
        seconds = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if seconds <= 0:
        return None
    if seconds > 10**11:  # milliseconds
        seconds //= 1000
    if seconds > LATEST_TIMESTAMP:
        return None
    return datetime.fromtimestamp(seconds, tz=UTC)


def as_dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def as_list(value) -> list:
    return value if isinstance(value, list) else []


def as_str(value) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def sha256_hex(value) -> str:
    """Meta gives a file's SHA-256 as hex or as base64: the hex form of either, or "" when neither."""
    text = as_str(value).strip()
    if len(text) == 64 and all(c in "0123456789abcdefABCDEF" for c in text):
        return text.lower()
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=False)
    except (binascii.Error, ValueError):
        return ""
    return raw.hex() if len(raw) == 32 else ""
