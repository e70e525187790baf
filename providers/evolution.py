"""Evolution API (Baileys gateway): envelope {event, instance, data, apikey} and POST /message/sendText/{instance}."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
import uuid
from datetime import datetime

from django.utils.translation import gettext

from providers.base import (
    REFUSED_MIME,
    Provider,
    as_dict,
    as_list,
    as_str,
    base_mime,
    from_unix,
    get_json,
    http_error,
    post_json,
    sha256_hex,
    too_large,
)
from providers.types import (
    ConnectionStateUpdate,
    DownloadedMedia,
    HistoryPage,
    InboundMessage,
    MediaRule,
    MessageChange,
    MessageKind,
    Pairing,
    ParsedMessage,
    ParseResult,
    Sender,
    SendError,
    SendResult,
    StatusUpdate,
)

K = MessageKind
# WhatsApp's own per-message ceiling; Evolution passes the text through unchanged.
TEXT_LIMIT = 65536
MEDIA_KINDS = {
    "imageMessage": K.IMAGE,
    "videoMessage": K.VIDEO,
    "audioMessage": K.AUDIO,
    "documentMessage": K.DOCUMENT,
    "stickerMessage": K.STICKER,
    "ptvMessage": K.VIDEO,
}
WRAPPERS = (
    "ephemeralMessage",
    "viewOnceMessage",
    "viewOnceMessageV2",
    "viewOnceMessageV2Extension",
    "documentWithCaptionMessage",
    "editedMessage",
)
NOT_CONTENT = {"messageContextInfo", "base64", "senderKeyDistributionMessage"}
# Baileys ack names and numbers → our forward-only delivery states (PENDING and DELETED are not receipts).
ACKS = {
    "SERVER_ACK": "sent",
    "DELIVERY_ACK": "delivered",
    "READ": "read",
    "PLAYED": "read",
    "ERROR": "failed",
    "2": "sent",
    "3": "delivered",
    "4": "read",
    "5": "read",
    "0": "failed",
}
PERSONAL = ("@s.whatsapp.net", "@c.us")
MB = 1024 * 1024
# WhatsApp's own ceilings for what Evolution (Baileys) sends as each type.
LIMITS = {K.IMAGE: 16 * MB, K.AUDIO: 16 * MB, K.VIDEO: 16 * MB, K.DOCUMENT: 100 * MB}
# The envelope's `"apikey": "..."` member, read straight from the raw bytes (see apikeys_in_raw_body).
_APIKEY_NAME = b'"apikey"'
_APIKEY_MEMBER = re.compile(rb'"apikey"[ \t\r\n]*:[ \t\r\n]*"((?:[^"\\\x00-\x1f]|\\.){1,512})"')
# Evolution's envelope has one `apikey` member; a body with more `"apikey"` names than this is not one.
APIKEY_CANDIDATES = 16
# A QR image the gateway returns, before it reaches an <img src>: only PNG/JPEG base64, nothing else.
QR_DATA_URI = re.compile(r"^data:image/(png|jpeg);base64,([A-Za-z0-9+/=\s]+)$")


def _event_name(payload: dict) -> str:
    return as_str(payload.get("event")).lower().replace("_", ".")


def _iso(value) -> datetime | None:
    try:
        return datetime.fromisoformat(as_str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def _unwrap(message: dict) -> dict:
    for _ in range(4):
        wrapper = next((w for w in WRAPPERS if isinstance(message.get(w), dict)), None)
        if wrapper is None:
            return message
        message = as_dict(message[wrapper].get("message")) or message[wrapper]
    return message


def _content(mtype: str, message: dict) -> tuple[str, str, dict, str]:
    """(kind, text, media, reply_to) of a Baileys message."""
    body = as_dict(message.get(mtype))
    context = as_dict(body.get("contextInfo"))
    reply_to = as_str(context.get("stanzaId"))
    if mtype == "conversation":
        return K.TEXT, as_str(message.get("conversation")), {}, ""
    if mtype == "extendedTextMessage":
        return K.TEXT, as_str(body.get("text")), {}, reply_to
    if mtype in MEDIA_KINDS:
        media = {
            "mime_type": body.get("mimetype"),
            "caption": body.get("caption"),
            "filename": body.get("fileName"),
            "sha256": body.get("fileSha256"),
            "url": body.get("url"),
            "direct_path": body.get("directPath"),
            "seconds": body.get("seconds"),
            "voice": body.get("ptt"),
        }
        media = {k: v for k, v in media.items() if v not in (None, "")}
        return MEDIA_KINDS[mtype], as_str(body.get("caption")), media, reply_to
    if mtype in ("locationMessage", "liveLocationMessage"):
        media = {
            "latitude": body.get("degreesLatitude"),
            "longitude": body.get("degreesLongitude"),
            "name": body.get("name"),
            "address": body.get("address"),
        }
        text = " — ".join(as_str(body[k]) for k in ("name", "address") if body.get(k))
        return K.LOCATION, text, {k: v for k, v in media.items() if v is not None}, reply_to
    if mtype == "contactMessage":
        return K.CONTACTS, as_str(body.get("displayName")), {"contacts": [body]}, reply_to
    if mtype == "contactsArrayMessage":
        cards = as_list(body.get("contacts"))
        return K.CONTACTS, ", ".join(as_str(as_dict(c).get("displayName")) for c in cards), {"contacts": cards}, ""
    if mtype == "reactionMessage":
        emoji = as_str(body.get("text"))
        return K.REACTION, emoji, {"emoji": emoji, "removed": not emoji}, as_str(as_dict(body.get("key")).get("id"))
    if mtype == "buttonsResponseMessage":
        return (
            K.INTERACTIVE,
            as_str(body.get("selectedDisplayText")),
            {"type": "button_reply", "id": body.get("selectedButtonId", "")},
            reply_to,
        )
    if mtype == "listResponseMessage":
        row = as_str(as_dict(body.get("singleSelectReply")).get("selectedRowId"))
        return K.INTERACTIVE, as_str(body.get("title")), {"type": "list_reply", "id": row}, reply_to
    if mtype == "templateButtonReplyMessage":
        return (
            K.INTERACTIVE,
            as_str(body.get("selectedDisplayText")),
            {"type": "button", "id": body.get("selectedId", "")},
            reply_to,
        )
    if mtype == "protocolMessage":
        media = {"type": as_str(body.get("type")), "key": body.get("key")}
        edited = as_dict(body.get("editedMessage"))
        if edited:
            inner = _unwrap(edited)
            media["edited_text"] = _content(_message_type({}, inner), inner)[1]
        return K.SYSTEM, "", media, ""
    return K.UNSUPPORTED, "", {}, ""


def _message_type(data: dict, message: dict) -> str:
    declared = as_str(data.get("messageType"))
    if declared and (declared in message or (declared == "conversation" and "conversation" in message)):
        return declared
    return next((k for k in message if k not in NOT_CONTENT), declared or "unknown")


def _jid_number(jid: str) -> str:
    return jid.split("@", 1)[0].split(":", 1)[0] if jid.endswith(PERSONAL) else ""


def _sender(data: dict, key: dict, from_me: bool) -> tuple[Sender, bool]:
    remote = as_str(key.get("remoteJid"))
    lid = ""
    if remote.endswith("@lid"):
        lid = remote
        remote = next(
            (
                as_str(v)
                for v in (key.get("remoteJidAlt"), key.get("senderPn"), data.get("senderPn"), data.get("remoteJidAlt"))
                if v
            ),
            "",
        )
        if remote and "@" not in remote:
            remote += "@s.whatsapp.net"
    wa_id = _jid_number(remote)
    # pushName of a fromMe message is the business's own profile, never the client's.
    name = "" if from_me else as_str(data.get("pushName")).strip()
    return Sender(wa_id=wa_id, bsuid=lid, name=name, phone=wa_id), as_str(key.get("remoteJid")).endswith("@g.us")


def _synthetic_id(data: dict) -> str:
    """Some gateways omit key.id; a stable digest keeps replays and retries idempotent."""
    message = {k: v for k, v in as_dict(data.get("message")).items() if k != "base64"}
    basis = json.dumps(
        [as_dict(data.get("key")).get("remoteJid"), data.get("messageTimestamp"), message], sort_keys=True, default=str
    )
    return "evo-" + hashlib.sha256(basis.encode()).hexdigest()[:40]


def parse_upsert(data: dict) -> ParsedMessage | None:
    key = as_dict(data.get("key"))
    from_me = bool(key.get("fromMe"))
    sender, is_group = _sender(data, key, from_me)
    if not sender.identity and not is_group:
        return None
    envelope = as_dict(data.get("message"))
    message = _unwrap(envelope)
    mtype = _message_type(data, message)
    kind, text, media, reply_to = _content(mtype, message)
    if mtype in MEDIA_KINDS and isinstance(envelope.get("base64"), str) and envelope["base64"]:
        # The file travels in the body (webhook base64=true): the download job reads it from the journal.
        media = {**media, "inline_base64": True}
    reply_to = reply_to or as_str(as_dict(data.get("contextInfo")).get("stanzaId"))
    msg = InboundMessage(
        provider_message_id=as_str(key.get("id")) or _synthetic_id(data),
        kind=kind,
        text=text,
        raw_type=mtype,
        media=media,
        timestamp=from_unix(data.get("messageTimestamp")),
        reply_to_provider_id=reply_to,
    )
    return ParsedMessage(sender=sender, message=msg, from_me=from_me, is_group=is_group)


def parse_receipt(data: dict, at: datetime | None) -> StatusUpdate | None:
    update = as_dict(data.get("update"))
    raw = as_str(data.get("status") if data.get("status") is not None else update.get("status")).upper()
    pid = as_str(data.get("keyId") or as_dict(data.get("key")).get("id"))
    if not pid or raw not in ACKS:
        return None
    failed = ACKS[raw] == "failed"
    return StatusUpdate(
        provider_message_id=pid,
        status=ACKS[raw],
        timestamp=at,
        error_code="evolution_error" if failed else "",
        error_text=gettext("A Evolution API informou um erro na entrega.") if failed else "",
    )


def parse_deleted(data: dict, at: datetime | None) -> MessageChange | None:
    """messages.update with status DELETED: the client deleted (or, on some versions, edited) a message."""
    update = as_dict(data.get("update"))
    raw = as_str(data.get("status") if data.get("status") is not None else update.get("status")).upper()
    pid = as_str(data.get("keyId") or as_dict(data.get("key")).get("id"))
    if raw != "DELETED" or not pid or data.get("fromMe") is True:
        return None
    return MessageChange(provider_message_id=pid, action="deleted", timestamp=at)


def protocol_change(parsed: ParsedMessage) -> MessageChange | None:
    """A protocolMessage upsert that revokes (type REVOKE / 0) or edits (MESSAGE_EDIT / 14) an earlier message."""
    media = parsed.message.media or {}
    if parsed.from_me or parsed.message.kind != K.SYSTEM or parsed.message.raw_type != "protocolMessage":
        return None
    target = as_str(as_dict(media.get("key")).get("id"))
    kind = as_str(media.get("type")).upper()
    if not target:
        return None
    if kind in ("REVOKE", "0"):
        return MessageChange(provider_message_id=target, action="deleted", timestamp=parsed.message.timestamp)
    if kind in ("MESSAGE_EDIT", "14"):
        return MessageChange(
            provider_message_id=target,
            action="edited",
            text=as_str(media.get("edited_text")),
            timestamp=parsed.message.timestamp,
        )
    return None


def evolution_text_body(
    *, instance: str, apikey: str, sender: str, name: str, text: str, message_id: str = "", timestamp: int | None = None
) -> dict:
    """A client's text as Evolution posts it (the simulator's body), its API key in the envelope."""
    return {
        "event": "messages.upsert",
        "instance": instance,
        "data": {
            "key": {
                "remoteJid": f"{sender}@s.whatsapp.net",
                "fromMe": False,
                "id": message_id or uuid.uuid4().hex[:20].upper(),
            },
            "pushName": name,
            "message": {"conversation": text},
            "messageType": "conversation",
            "messageTimestamp": timestamp or int(time.time()),
            "source": "android",
        },
        "apikey": apikey,
    }


def apikeys_in_raw_body(raw: bytes):
    """The values of `"apikey": "..."` members in a raw body, found without parsing it.

    An unauthenticated body is never parsed (an 8 MB array of `{}` is hundreds of MB of Python objects):
    this looks for the member's name with bytes.find and reads at most 512 bytes after each of the first
    APIKEY_CANDIDATES. Inside a JSON string a quote is always escaped, so a message's text cannot fake
    the member. Only a body holding the right key is then parsed, and authenticated again on the decoded
    envelope's top-level `apikey`."""
    pos = raw.find(_APIKEY_NAME)
    for _ in range(APIKEY_CANDIDATES):
        if pos < 0:
            return
        match = _APIKEY_MEMBER.match(raw, pos)
        key = _json_string(match.group(1)) if match else None
        if key is not None:
            yield key
        pos = raw.find(_APIKEY_NAME, pos + len(_APIKEY_NAME))


def _json_string(value: bytes) -> str | None:
    """The text of a JSON string's raw content (escapes decoded); None when it is not valid."""
    try:
        return json.loads(b'"' + value + b'"') if b"\\" in value else value.decode()
    except ValueError:
        return None


class EvolutionProvider(Provider):
    max_text_length = TEXT_LIMIT
    credential_in_body = True
    # Capabilities (see Provider). Evolution speaks as a phone: no customer-service window and no
    # templates; the number is paired by QR code, the gateway reports the connection's state, and the
    # messages missed while it was offline are fetched again (chat/findMessages).
    recovers_gaps = True
    pairs_by_qr = True
    reports_connection_state = True
    # A reply carries the gateway's `quoted`; a reaction is POST /message/sendReaction/{instance}.
    quotes = True
    reacts = True
    records_voice_notes = True

    def authenticate(self, *, raw_body: bytes, headers, payload=None) -> bool:
        """Evolution does not sign: its API key travels in the envelope or in an `apikey` header."""
        candidates = [headers.get("apikey") or ""]
        if isinstance(payload, dict):
            candidates.append(as_str(payload.get("apikey")))
        return self._any_is_the_key(candidates)

    def credential_in_raw_body(self, raw_body: bytes) -> bool:
        return self._any_is_the_key(apikeys_in_raw_body(raw_body))

    def _any_is_the_key(self, candidates) -> bool:
        expected = (self.connection.api_key or "").encode("utf-8", "replace")
        if not expected:
            return False
        return any(c and hmac.compare_digest(as_str(c).encode("utf-8", "replace"), expected) for c in candidates)

    def pair(self) -> Pairing:
        return evolution_connect(self.connection)

    def find_messages(self, *, since: int, page: int, page_size: int) -> HistoryPage:
        return evolution_find_messages(self.connection, since=since, page=page, page_size=page_size)

    def simulated_text(self, *, sender, name, text, message_id="", timestamp=None) -> tuple[bytes, dict]:
        body = evolution_text_body(
            instance=self.connection.instance_name,
            apikey=self.connection.api_key,
            sender=sender,
            name=name,
            text=text,
            message_id=message_id,
            timestamp=timestamp,
        )
        return json.dumps(body, ensure_ascii=False).encode(), {"Content-Type": "application/json"}

    def parse(self, payload) -> ParseResult:
        payload = as_dict(payload)
        event = _event_name(payload)
        result = ParseResult(event_type=f"evolution:{event}" if event else "evolution")
        items = payload.get("data")
        items = [d for d in (items if isinstance(items, list) else [items]) if isinstance(d, dict)]
        at = _iso(payload.get("date_time"))
        if event in ("messages.upsert", "send.message"):
            for data in items:
                parsed = parse_upsert(data)
                change = protocol_change(parsed) if parsed else None
                if change is not None:
                    result.changes.append(change)
                    continue
                result.messages.append(parsed) if parsed else result.skipped.append("message without sender")
        elif event == "messages.update":
            for data in items:
                change = parse_deleted(data, at)
                if change is not None:
                    result.changes.append(change)
                    continue
                status = parse_receipt(data, at)
                result.statuses.append(status) if status else result.skipped.append(
                    f"receipt {data.get('status')!r} is not a delivery state"
                )
        elif event == "connection.update":
            for data in items:
                if data.get("state"):
                    result.states.append(
                        ConnectionStateUpdate(
                            state=as_str(data["state"]), timestamp=at, reason=as_str(data.get("statusReason"))
                        )
                    )
        else:
            result.skipped.append(f"event {event!r} is not handled" if event else "not an Evolution API envelope")
        return result

    def send_text(self, *, to: str, text: str, quote: dict | None = None) -> SendResult:
        conn = self.connection
        url = f"{conn.api_base_url.rstrip('/')}/message/sendText/{conn.instance_name}"
        body = _quoting({"number": to, "text": text}, to, quote)
        response = post_json(url, json=body, headers={"apikey": conn.api_key})
        return self._sent(response)

    def send_reaction(self, *, to: str, message_id: str, emoji: str, from_me: bool = False) -> SendResult:
        """POST /message/sendReaction/{instance}: the reacted message's key and the emoji ("" removes it)."""
        body = {"key": {"remoteJid": chat_jid(to), "fromMe": from_me, "id": message_id}, "reaction": emoji}
        response = post_json(self._url("message/sendReaction"), json=body, headers={"apikey": self.connection.api_key})
        return self._sent(response)

    def _sent(self, response) -> SendResult:
        try:
            data = as_dict(response.json())
        except ValueError:
            data = {}
        if response.status_code < 300:
            message_id = as_str(as_dict(data.get("key")).get("id"))
            if message_id:
                return SendResult(provider_message_id=message_id)
            raise SendError(
                "bad_response", gettext("A Evolution API aceitou a mensagem sem informar o ID dela."), retryable=False
            )
        # The answer's own text is never stored: it is shown to agents, and the base URL is the reseller's.
        # Two answers are recognised by their shape and told in our words (providers.error_texts).
        refused = http_error(response.status_code)
        messages = as_dict(data.get("response")).get("message")
        for item in messages if isinstance(messages, list) else []:
            if isinstance(item, dict) and item.get("exists") is False:
                text = gettext("Este número não tem WhatsApp.")
                raise SendError("not_on_whatsapp", text, retryable=False)
            if isinstance(item, str) and "connection closed" in item.lower():
                text = gettext("O WhatsApp da conexão está desconectado.")
                raise SendError("connection_closed", text, retryable=refused.retryable)
        raise refused

    # --- media ------------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        conn = self.connection
        return f"{conn.api_base_url.rstrip('/')}/{path}/{conn.instance_name}"

    def event_media_base64(self, payload, provider_message_id: str) -> str | None:
        payload = as_dict(payload)
        items = payload.get("data")
        for data in items if isinstance(items, list) else [items]:
            data = as_dict(data)
            key_id = as_str(as_dict(data.get("key")).get("id")) or _synthetic_id(data)
            if key_id == provider_message_id:
                found = as_dict(data.get("message")).get("base64")
                return found if isinstance(found, str) and found else None
        return None

    def download_media(self, *, media, provider_message_id, inline_base64=None, max_bytes) -> DownloadedMedia:
        """The event's own base64 when it had one and it checks out, else POST /chat/getBase64FromMediaMessage.

        Either way the bytes must be strict base64 and, when the message names its `fileSha256`
        (base64 or hex), hash to it: a truncated or altered file is never stored as the client's."""
        mime = as_str(media.get("mime_type"))
        if inline_base64:
            try:
                return DownloadedMedia(content=_verified(inline_base64, media, max_bytes), mime_type=mime)
            except SendError as exc:
                if exc.code == "too_large":
                    raise
                # The event's copy is bad (cut short by a proxy, a logger, a buggy gateway): ask the gateway.
        response = post_json(
            self._url("chat/getBase64FromMediaMessage"),
            json={"message": {"key": {"id": provider_message_id}}},
            headers={"apikey": self.connection.api_key},
            # The file travels in base64 inside the JSON: a third larger, plus the envelope.
            max_bytes=max_bytes * 4 // 3 + (1 << 16),
        )
        try:
            data = as_dict(response.json())
        except ValueError:
            data = {}
        if response.status_code >= 300:
            refused = http_error(response.status_code)
            raise SendError(refused.code, refused.text, retryable=True)
        text = as_str(data.get("base64"))
        mime = as_str(data.get("mimetype")) or mime
        if not text:
            raise SendError("bad_response", gettext("A Evolution API não devolveu o arquivo."), retryable=True)
        return DownloadedMedia(content=_verified(text, media, max_bytes), mime_type=mime)

    def media_rule(self, mime_type: str) -> MediaRule | None:
        mime = base_mime(mime_type)
        if not mime or mime in REFUSED_MIME:
            return None
        if mime in ("image/jpeg", "image/png", "image/webp"):
            kind = K.IMAGE
        elif mime.startswith("audio/"):
            kind = K.AUDIO
        elif mime in ("video/mp4", "video/3gpp"):
            kind = K.VIDEO
        else:
            kind = K.DOCUMENT
        return MediaRule(kind=kind, max_bytes=LIMITS[kind])

    def send_media(self, *, to, kind, content, mime_type, filename="", caption="", quote=None) -> SendResult:
        body = {
            "number": to,
            "mediatype": kind,
            "mimetype": base_mime(mime_type),
            "caption": caption,
            "media": base64.b64encode(content).decode("ascii"),
            "fileName": filename or "arquivo",
        }
        body = _quoting(body, to, quote)
        response = post_json(self._url("message/sendMedia"), json=body, headers={"apikey": self.connection.api_key})
        return self._sent(response)

    def send_voice(self, *, to: str, content: bytes, mime_type: str, quote: dict | None = None) -> SendResult:
        """POST /message/sendWhatsAppAudio/{instance} {"number", "audio": base64}: the gateway sends it as a
        voice note (ptt), not as an audio file as sendMedia would."""
        body = _quoting({"number": to, "audio": base64.b64encode(content).decode("ascii")}, to, quote)
        response = post_json(
            self._url("message/sendWhatsAppAudio"), json=body, headers={"apikey": self.connection.api_key}
        )
        return self._sent(response)


def chat_jid(to: str) -> str:
    """The chat of a recipient as the gateway keys its messages: a number gets WhatsApp's user domain."""
    return to if "@" in to else f"{to}@s.whatsapp.net"


def _quoting(body: dict, to: str, quote: dict | None) -> dict:
    """A send body that replies to `quote`, or the body as it is.

    The gateway builds the quote from `quoted.message` when it is given, and otherwise looks the key up in
    its own store (and sends no quote when it does not find it): a plain text travels with its text, so its
    quote never depends on that store; a file is left to the store, which shows its preview."""
    quote = quote or {}
    quoted_id = as_str(quote.get("id"))
    if not quoted_id:
        return body
    quoted: dict = {"key": {"remoteJid": chat_jid(to), "fromMe": bool(quote.get("from_me")), "id": quoted_id}}
    if as_str(quote.get("text")):
        quoted["message"] = {"conversation": as_str(quote.get("text"))}
    return {**body, "quoted": quoted}


def _json_of(response) -> dict:
    try:
        return as_dict(response.json())
    except ValueError:
        return {}


def qr_data_uri(value) -> str:
    """The gateway's QR image as a safe data: URI ("" when it is not a PNG/JPEG in base64)."""
    text = as_str(value).strip()
    if not text:
        return ""
    if not text.startswith("data:"):
        text = "data:image/png;base64," + text
    match = QR_DATA_URI.match(text)
    if not match:
        return ""
    try:
        base64.b64decode("".join(match.group(2).split()), validate=True)
    except (binascii.Error, ValueError):
        return ""
    return text


def parse_connect(data: dict) -> Pairing:
    """GET /instance/connect/{instance}: {base64, code, pairingCode, count} or, when connected, {instance: {state}}."""
    state = as_str(as_dict(data.get("instance")).get("state") or data.get("state"))
    return Pairing(
        state=state,
        qr_data_uri=qr_data_uri(data.get("base64")),
        pairing_code=as_str(data.get("pairingCode"))[:32],
        code=as_str(data.get("code"))[:1024],
    )


def parse_history_page(data: dict, *, page: int) -> HistoryPage:
    """POST /chat/findMessages/{instance}: {"messages": {"total", "pages", "currentPage", "records": [...]}}.

    Each record has the shape of a messages.upsert `data`, so it goes through the same parser.
    """
    box = data.get("messages")
    if isinstance(box, list):  # older gateways answer a bare list
        box = {"records": box, "pages": 1, "currentPage": page}
    box = as_dict(box)
    records = [r for r in as_list(box.get("records")) if isinstance(r, dict)]
    result = HistoryPage(records=len(records), page=page)
    try:
        result.pages = max(1, int(box.get("pages") or 1))
    except (TypeError, ValueError):
        result.pages = 1
    for record in records:
        parsed = parse_upsert(record)
        if parsed is None:
            result.unparsed += 1
        else:
            result.messages.append(parsed)
    return result


def _evolution_url(connection, path: str) -> str:
    return f"{connection.api_base_url.rstrip('/')}/{path}/{connection.instance_name}"


def evolution_connect(connection) -> Pairing:
    """Ask the gateway to pair the number (GET /instance/connect/{instance}); SendError on failure."""
    response = get_json(_evolution_url(connection, "instance/connect"), headers={"apikey": connection.api_key})
    data = _json_of(response)
    if response.status_code >= 300:
        raise http_error(response.status_code)  # the gateway's own text is never shown
    return parse_connect(data)


def evolution_find_messages(connection, *, since: int, page: int, page_size: int) -> HistoryPage:
    """One page of the messages the gateway stored since `since` (unix seconds); SendError on failure."""
    body = {"where": {"messageTimestamp": {"gte": int(since)}}, "page": page, "offset": page_size}
    response = post_json(
        _evolution_url(connection, "chat/findMessages"), json=body, headers={"apikey": connection.api_key}
    )
    data = _json_of(response)
    if response.status_code >= 300:
        raise http_error(response.status_code)  # the gateway's own text is never shown
    return parse_history_page(data, page=page)


def _verified(text: str, media: dict, max_bytes: int) -> bytes:
    """The bytes of a base64 file (a data: URI too), refusing bad base64, an oversize file or a wrong hash."""
    if text.startswith("data:") and "," in text[:200]:
        text = text.split(",", 1)[1]
    text = "".join(text.split())
    if len(text) * 3 // 4 > max_bytes + 3:
        raise too_large(max_bytes)
    try:
        content = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise SendError("bad_base64", gettext("A Evolution API devolveu um arquivo inválido."), retryable=True)
    if len(content) > max_bytes:
        raise too_large(max_bytes)
    expected = sha256_hex(media.get("sha256"))
    if expected and hashlib.sha256(content).hexdigest() != expected:
        raise SendError(
            "sha256_mismatch",
            gettext("O arquivo recebido não confere com o SHA-256 informado pelo WhatsApp."),
            retryable=True,
        )
    return content
