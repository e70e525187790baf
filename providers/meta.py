"""Meta WhatsApp Cloud API: signed webhooks (entry → changes → value) and POST /{phone-number-id}/messages."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.utils.translation import gettext, gettext_lazy

from providers.base import (
    REFUSED_MIME,
    Provider,
    as_dict,
    as_list,
    as_str,
    base_mime,
    from_unix,
    get_bytes,
    get_json,
    http_error,
    post_json,
    post_multipart,
    sha256_hex,
    too_large,
)
from providers.types import (
    DownloadedMedia,
    InboundMessage,
    MediaRule,
    MessageKind,
    ParsedMessage,
    ParseResult,
    Sender,
    SendError,
    SendResult,
    StatusUpdate,
    TemplateInfo,
)

K = MessageKind
MEDIA_KINDS = {"image": K.IMAGE, "audio": K.AUDIO, "video": K.VIDEO, "document": K.DOCUMENT, "sticker": K.STICKER}
MEDIA_FIELDS = ("id", "mime_type", "sha256", "caption", "filename", "voice", "animated", "url")
STATUS_MAP = {"sent": "sent", "delivered": "delivered", "read": "read", "played": "read", "failed": "failed"}
# Throughput and transient platform errors; everything else Meta answers is final for that text.
RETRYABLE_CODES = {"1", "2", "4", "80007", "130429", "131000", "131016", "131056", "133004"}
TEXT_LIMIT = 4096
# What an agent reads when Meta refuses a send: our words, never the answer's own text (the base
# URL is the reseller's choice, so the answer may come from anywhere).
SEND_REASONS = {
    "130429": gettext_lazy("Limite de envio do número atingido; nova tentativa em breve."),
    "131056": gettext_lazy("Muitas mensagens para este cliente em pouco tempo; nova tentativa em breve."),
    "131047": gettext_lazy(
        "Passaram-se mais de 24 horas desde a última mensagem do cliente; só um modelo aprovado pode ser enviado."
    ),
    "131026": gettext_lazy("A mensagem não pôde ser entregue a este número."),
    "131049": gettext_lazy("A Meta não entregou a mensagem para manter o engajamento saudável do ecossistema."),
    "190": gettext_lazy("O token de acesso da conexão expirou ou é inválido."),
    "100": gettext_lazy("A Meta recusou um parâmetro da mensagem."),
}

MB = 1024 * 1024
# What the Cloud API takes as each message type, and up to which size (larger or other types: refused).
IMAGE_TYPES = {"image/jpeg", "image/png"}
AUDIO_TYPES = {"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"}
VIDEO_TYPES = {"video/mp4", "video/3gpp"}
DOCUMENT_TYPES = {
    "text/plain",
    "text/csv",
    "application/pdf",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
LIMITS = {K.IMAGE: 5 * MB, K.AUDIO: 16 * MB, K.VIDEO: 16 * MB, K.DOCUMENT: 100 * MB}
# A business account has at most a few hundred templates: pages past this mean a broken paging.
MAX_TEMPLATE_PAGES = 1000
# The file's URL answers these once it has expired (5 minutes): fetch a fresh one.
EXPIRED_URL = {401, 403, 404, 410}


def _error_text(error: dict) -> str:
    title = as_str(error.get("title") or error.get("message"))
    details = as_str(as_dict(error.get("error_data")).get("details"))
    return f"{title} — {details}" if details and details != title else title


def _content(mtype: str, m: dict) -> tuple[str, str, dict, str]:
    """(kind, text, media, reply_to) of one message body, whatever its type."""
    body = as_dict(m.get(mtype))
    if mtype == "text":
        return K.TEXT, as_str(body.get("body")), {}, ""
    if mtype in MEDIA_KINDS:
        media = {k: body[k] for k in MEDIA_FIELDS if k in body and body[k] not in (None, "")}
        return MEDIA_KINDS[mtype], as_str(body.get("caption")), media, ""
    if mtype == "location":
        media = {k: body[k] for k in ("latitude", "longitude", "name", "address", "url") if k in body}
        text = " — ".join(as_str(body[k]) for k in ("name", "address") if body.get(k))
        return K.LOCATION, text, media, ""
    if mtype == "contacts":
        cards = as_list(m.get("contacts"))
        names = [as_str(as_dict(c.get("name")).get("formatted_name")) for c in cards if isinstance(c, dict)]
        return K.CONTACTS, ", ".join(n for n in names if n), {"contacts": cards}, ""
    if mtype == "interactive":
        itype = as_str(body.get("type"))
        reply = as_dict(body.get(itype))
        media = {"type": itype, **{k: reply[k] for k in ("id", "title", "description", "response_json") if k in reply}}
        return K.INTERACTIVE, as_str(reply.get("title") or reply.get("body")), media, ""
    if mtype == "button":  # quick-reply button of a template
        return K.INTERACTIVE, as_str(body.get("text")), {"type": "button", "payload": body.get("payload", "")}, ""
    if mtype == "reaction":
        emoji = as_str(body.get("emoji"))
        return K.REACTION, emoji, {"emoji": emoji, "removed": not emoji}, as_str(body.get("message_id"))
    if mtype == "system":
        return K.SYSTEM, as_str(body.get("body")), {k: v for k, v in body.items() if k != "body"}, ""
    if mtype == "edit":
        inner = as_dict(body.get("message"))
        kind, text, media, _ = _content(as_str(inner.get("type")), inner)
        return kind, text, {**media, "edit": True}, as_str(body.get("original_message_id"))
    # "unsupported" (Meta names the real type inside) and any type this code does not know yet.
    media = {"errors": m["errors"]} if m.get("errors") else {}
    return K.UNSUPPORTED, "", media, ""


def _raw_type(mtype: str, m: dict) -> str:
    if mtype == "unsupported":
        return as_str(as_dict(m.get("unsupported")).get("type")) or "unsupported"
    return mtype or "unknown"


def _sender(m: dict, contacts: list[dict]) -> Sender:
    wa_id, user_id = as_str(m.get("from")), as_str(m.get("from_user_id"))
    contact = None
    if wa_id:
        contact = next((c for c in contacts if as_str(c.get("wa_id")) == wa_id), None)
    elif user_id:
        contact = next((c for c in contacts if as_str(c.get("user_id")) == user_id), None)
    elif len(contacts) == 1:
        contact = contacts[0]
    contact = contact or {}
    wa_id = wa_id or as_str(contact.get("wa_id"))
    user_id = user_id or as_str(contact.get("user_id"))
    name = as_str(as_dict(contact.get("profile")).get("name")).strip()
    return Sender(wa_id=wa_id, bsuid=user_id, name=name, phone=wa_id)


def parse_message(m: dict, contacts: list[dict], phone_number_id: str = "") -> ParsedMessage | None:
    pid = as_str(m.get("id"))
    sender = _sender(m, contacts)
    if not pid or not sender.identity:
        return None
    mtype = as_str(m.get("type"))
    kind, text, media, reply_to = _content(mtype, m)
    context = as_dict(m.get("context"))
    reply_to = reply_to or as_str(context.get("id"))
    if context.get("forwarded") or context.get("frequently_forwarded"):
        media = {**media, "forwarded": True}
    msg = InboundMessage(
        provider_message_id=pid,
        kind=kind,
        text=text,
        raw_type=_raw_type(mtype, m),
        media=media,
        timestamp=from_unix(m.get("timestamp")),
        reply_to_provider_id=reply_to,
    )
    return ParsedMessage(sender=sender, message=msg, phone_number_id=phone_number_id)


def parse_status(s: dict) -> StatusUpdate | None:
    raw = as_str(s.get("status"))
    pid = as_str(s.get("id"))
    if not pid or raw not in STATUS_MAP:
        return None
    error = as_dict((as_list(s.get("errors")) or [{}])[0])
    return StatusUpdate(
        provider_message_id=pid,
        status=STATUS_MAP[raw],
        timestamp=from_unix(s.get("timestamp")),
        error_code=as_str(error.get("code")),
        error_text=_error_text(error),
    )


def _quoting(body: dict, quote: dict | None) -> dict:
    """A message body that replies to `quote` (its wamid in `context`), or the body as it is."""
    quoted_id = as_str((quote or {}).get("id"))
    return {**body, "context": {"message_id": quoted_id}} if quoted_id else body


def signature_header(app_secret: str, raw_body: bytes) -> str:
    """The `X-Hub-Signature-256` value Meta sends with a body (the simulator and tests sign with it)."""
    return "sha256=" + hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()


def meta_text_body(
    *, phone_number_id: str, sender: str, name: str, text: str, message_id: str = "", timestamp: int | None = None
) -> dict:
    """A client's text as Meta posts it (the simulator's body)."""
    message_id = message_id or f"wamid.SIM{uuid.uuid4().hex.upper()}"
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "0",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"display_phone_number": phone_number_id, "phone_number_id": phone_number_id},
                            "contacts": [{"profile": {"name": name}, "wa_id": sender}],
                            "messages": [
                                {
                                    "from": sender,
                                    "id": message_id,
                                    "timestamp": str(timestamp or int(time.time())),
                                    "type": "text",
                                    "text": {"body": text},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }


class MetaProvider(Provider):
    max_text_length = TEXT_LIMIT
    # Capabilities (see Provider). Meta signs its webhooks, keeps the 24-hour customer-service window
    # (outside it only an approved template), lists and sends templates, and retries failed webhooks
    # itself (no gap recovery); it has no pairing and reports no connection state.
    signs_webhooks = True
    service_window = timedelta(hours=24)
    has_templates = True
    # A reply names the message it quotes (`context.message_id`); a reaction is a message of type "reaction".
    quotes = True
    reacts = True
    records_voice_notes = True

    def authenticate(self, *, raw_body: bytes, headers, payload=None) -> bool:
        """HMAC-SHA256 of the raw bytes as sent: re-serialised JSON would escape non-ASCII differently."""
        secret = self.connection.app_secret
        given = headers.get("X-Hub-Signature-256") or ""
        if not secret or not given.startswith("sha256="):
            return False
        expected = hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest().encode()
        # Bytes on both sides: a non-ASCII header is simply a wrong signature, never an error.
        return hmac.compare_digest(expected, given[len("sha256=") :].strip().lower().encode("utf-8", "replace"))

    def simulated_text(self, *, sender, name, text, message_id="", timestamp=None) -> tuple[bytes, dict]:
        body = meta_text_body(
            phone_number_id=self.connection.phone_number_id,
            sender=sender,
            name=name,
            text=text,
            message_id=message_id,
            timestamp=timestamp,
        )
        raw = json.dumps(body, ensure_ascii=False).encode()
        return raw, {
            "Content-Type": "application/json",
            "X-Hub-Signature-256": signature_header(self.connection.app_secret, raw),
        }

    def parse(self, payload) -> ParseResult:
        result = ParseResult(event_type="meta")
        payload = as_dict(payload)
        if payload.get("object") != "whatsapp_business_account" or not isinstance(payload.get("entry"), list):
            result.skipped.append("not a WhatsApp Business Account webhook body")
            return result
        fields = set()
        for entry in as_list(payload.get("entry")):
            for change in as_list(as_dict(entry).get("changes")):
                change = as_dict(change)
                fields.add(as_str(change.get("field")))
                if change.get("field") != "messages":
                    result.skipped.append(f"field {change.get('field')!r} is not handled")
                    continue
                value = as_dict(change.get("value"))
                phone_id = as_str(as_dict(value.get("metadata")).get("phone_number_id"))
                contacts = [c for c in as_list(value.get("contacts")) if isinstance(c, dict)]
                for m in as_list(value.get("messages")):
                    parsed = parse_message(m, contacts, phone_id) if isinstance(m, dict) else None
                    if parsed:
                        result.messages.append(parsed)
                    else:
                        result.skipped.append("message without id or sender")
                for s in as_list(value.get("statuses")):
                    status = parse_status(s) if isinstance(s, dict) else None
                    if status:
                        result.statuses.append(status)
                    else:
                        result.skipped.append(f"status {as_dict(s).get('status')!r} is not handled")
        result.event_type = "meta:" + ",".join(sorted(f for f in fields if f)) if fields else "meta"
        return result

    def send_text(self, *, to: str, text: str, quote: dict | None = None) -> SendResult:
        base = (self.connection.api_base_url or settings.META_GRAPH_BASE_URL).rstrip("/")
        url = f"{base}/{self.connection.phone_number_id}/messages"
        body = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": "text",
            "text": {"preview_url": False, "body": text},
        }
        return self._send_message(url, _quoting(body, quote))

    def send_reaction(self, *, to: str, message_id: str, emoji: str, from_me: bool = False) -> SendResult:
        """POST /{phone-number-id}/messages with type "reaction"; an empty emoji removes the reaction."""
        body = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": "reaction",
            "reaction": {"message_id": message_id, "emoji": emoji},
        }
        return self._send_message(f"{self._base()}/{self.connection.phone_number_id}/messages", body)

    def _send_message(self, url: str, body: dict) -> SendResult:
        response = post_json(url, json=body, headers={"Authorization": f"Bearer {self.connection.access_token}"})
        try:
            data = response.json()
        except ValueError:
            data = {}
        data = as_dict(data)
        if response.status_code < 300:
            message_id = as_str(as_dict((as_list(data.get("messages")) or [{}])[0]).get("id"))
            if message_id:
                return SendResult(provider_message_id=message_id)
            raise SendError(
                "bad_response", gettext("A Meta aceitou a mensagem sem informar o ID dela."), retryable=False
            )
        raise self._refusal(response)

    def _refusal(self, response, *, download: bool = False) -> SendError:
        """Meta's refusal of any call, in our words: the answer's own text is never stored or shown
        (the base URL is the reseller's choice, so the answer may come from anywhere)."""
        try:
            error = as_dict(as_dict(response.json()).get("error"))
        except ValueError:
            error = {}
        code = as_str(error.get("code"))
        if not (code.isdigit() and len(code) <= 10):
            return http_error(response.status_code)
        retryable = code in RETRYABLE_CODES or response.status_code >= 500 or response.status_code == 429
        if download and code == "100":
            gone = gettext("O arquivo não está mais disponível na Meta (o ID da mídia expirou ou não existe).")
            return SendError(code, gone, retryable=retryable)
        reason = SEND_REASONS.get(code) or (
            gettext("O provedor está indisponível no momento; nova tentativa em breve.")
            if retryable
            else gettext("A Meta recusou a mensagem (código %(code)s).") % {"code": code}
        )
        return SendError(code, str(reason), retryable=retryable)

    # --- media ------------------------------------------------------------------------------

    def _base(self) -> str:
        return (self.connection.api_base_url or settings.META_GRAPH_BASE_URL).rstrip("/")

    def _auth(self) -> dict:
        return {"Authorization": f"Bearer {self.connection.access_token}"}

    def download_media(self, *, media, provider_message_id, inline_base64=None, max_bytes) -> DownloadedMedia:
        """GET {base}/{media-id} → {url, mime_type, sha256, file_size}; GET url with the same token.

        Media ids expire after 7 days and URLs after 5 minutes: a URL that answers as expired is
        replaced by a fresh one at once. Every failure is retryable (an expired id included: the job
        retries a bounded number of times, then shows the reason) except a file over the limit."""
        media_id = as_str(media.get("id"))
        if not media_id:
            raise SendError("no_media_id", gettext("A mensagem não traz o ID da mídia."), retryable=False)
        for fresh_url in (False, True):
            info_response = get_json(f"{self._base()}/{media_id}", headers=self._auth())
            if info_response.status_code >= 300:
                error = self._refusal(info_response, download=True)
                raise SendError(error.code, error.text, retryable=True)
            try:
                info = as_dict(info_response.json())
            except ValueError:
                info = {}
            url = as_str(info.get("url"))
            if not url:
                raise SendError("bad_response", gettext("A Meta não informou a URL do arquivo."), retryable=True)
            try:
                declared = int(info.get("file_size") or 0)
            except (TypeError, ValueError):
                declared = 0
            if declared > max_bytes:
                raise too_large(max_bytes)
            # Meta's lookaside URL carries its own query string (mid, ext, hash): followed as given.
            status, content, content_type = get_bytes(url, headers=self._auth(), max_bytes=max_bytes, given=True)
            if status in EXPIRED_URL and not fresh_url:
                continue  # the URL expired between the two requests: ask for a fresh one
            if status >= 300:
                raise SendError(
                    "url_expired" if status in EXPIRED_URL else f"http_{status}",
                    gettext("O download do arquivo falhou (HTTP %(status)s).") % {"status": status},
                    retryable=True,
                )
            got = hashlib.sha256(content).hexdigest()
            for expected in (sha256_hex(info.get("sha256")), sha256_hex(media.get("sha256"))):
                if expected and expected != got:
                    raise SendError(
                        "sha256_mismatch",
                        gettext("O arquivo recebido não confere com o SHA-256 informado pela Meta."),
                        retryable=True,
                    )
            mime = as_str(info.get("mime_type")) or as_str(media.get("mime_type")) or content_type
            return DownloadedMedia(content=content, mime_type=mime)
        raise SendError("url_expired", gettext("A URL do arquivo expirou."), retryable=True)  # pragma: no cover

    def media_rule(self, mime_type: str) -> MediaRule | None:
        mime = base_mime(mime_type)
        if mime in IMAGE_TYPES:
            kind = K.IMAGE
        elif mime in AUDIO_TYPES:
            kind = K.AUDIO
        elif mime in VIDEO_TYPES:
            kind = K.VIDEO
        elif mime in DOCUMENT_TYPES and mime not in REFUSED_MIME:
            kind = K.DOCUMENT
        else:
            return None
        return MediaRule(kind=kind, max_bytes=LIMITS[kind])

    def send_media(self, *, to, kind, content, mime_type, filename="", caption="", quote=None) -> SendResult:
        """Upload (POST /{phone-number-id}/media), then send the message naming the uploaded id."""
        base = f"{self._base()}/{self.connection.phone_number_id}"
        media_id = self._upload(base, content=content, mime_type=mime_type, filename=filename)
        body: dict = {"id": media_id}
        if caption and kind in (K.IMAGE, K.VIDEO, K.DOCUMENT):
            body["caption"] = caption
        if filename and kind == K.DOCUMENT:
            body["filename"] = filename
        message = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": kind, kind: body}
        return self._send_message(f"{base}/messages", _quoting(message, quote))

    def send_voice(self, *, to: str, content: bytes, mime_type: str, quote: dict | None = None) -> SendResult:
        """An audio message with `"voice": true` (Cloud API "Audio messages": an .ogg file with the Opus codec,
        shown as a voice message with the business's picture, downloaded automatically and transcribable)."""
        base = f"{self._base()}/{self.connection.phone_number_id}"
        media_id = self._upload(base, content=content, mime_type=mime_type, filename="audio.ogg")
        message = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": K.AUDIO,
            K.AUDIO: {"id": media_id, "voice": True},
        }
        return self._send_message(f"{base}/messages", _quoting(message, quote))

    def _upload(self, base: str, *, content: bytes, mime_type: str, filename: str) -> str:
        """The media id of the bytes uploaded to the number (POST /{phone-number-id}/media)."""
        upload = post_multipart(
            f"{base}/media",
            data={"messaging_product": "whatsapp", "type": base_mime(mime_type)},
            files={"file": (filename or "arquivo", content, base_mime(mime_type))},
            headers=self._auth(),
        )
        if upload.status_code >= 300:
            raise self._refusal(upload)
        try:
            media_id = as_str(as_dict(upload.json()).get("id"))
        except ValueError:
            media_id = ""
        if not media_id:
            raise SendError("bad_response", gettext("A Meta aceitou o arquivo sem informar o ID dele."), retryable=True)
        return media_id

    # --- message templates ------------------------------------------------------------------

    def send_template(self, *, to: str, name: str, language: str, params: list[str]) -> SendResult:
        """POST /{phone-number-id}/messages with type "template": the body's {{n}} filled by `params`."""
        template: dict = {"name": name, "language": {"code": language}}
        if params:
            template["components"] = [{"type": "body", "parameters": [{"type": "text", "text": p} for p in params]}]
        body = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": "template",
            "template": template,
        }
        url = f"{self._base()}/{self.connection.phone_number_id}/messages"
        return self._send_message(url, body)

    def list_templates(self) -> list[TemplateInfo]:
        """GET /{business-account-id}/message_templates, every page; raises SendError unless all were read."""
        url = f"{self._base()}/{self.connection.business_account_id}/message_templates"
        params: dict | None = {"limit": 100, "fields": "name,language,status,category,components"}
        found: list[TemplateInfo] = []
        for page in range(MAX_TEMPLATE_PAGES):
            # The first URL is built on the API base; each next one is Graph's own `paging.next`,
            # followed as given (it carries `after=`, `limit=` and `access_token=`).
            response = get_json(url, headers=self._auth(), params=params, given=page > 0)
            try:
                data = as_dict(response.json())
            except ValueError:
                data = {}
            if response.status_code >= 300:
                refused = self._refusal(response)
                raise SendError(refused.code, refused.text, retryable=False)
            for t in as_list(data.get("data")):
                t = as_dict(t)
                components = [as_dict(c) for c in as_list(t.get("components"))]
                body = next((as_str(c.get("text")) for c in components if c.get("type") == "BODY"), "")
                found.append(
                    TemplateInfo(
                        name=as_str(t.get("name")),
                        language=as_str(t.get("language")),
                        status=as_str(t.get("status")).upper(),
                        category=as_str(t.get("category")),
                        body=body,
                    )
                )
            url = as_str(as_dict(data.get("paging")).get("next"))
            params = None  # the next URL carries them
            if not url:
                return [t for t in found if t.name]
        # A listing that never ends is not a listing we can trust as whole (sync would mark the
        # templates past the last page inactive).
        raise SendError(
            "paging",
            gettext("A Meta devolveu páginas demais de modelos; a lista não foi lida até o fim."),
            retryable=False,
        )
