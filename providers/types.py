"""The channel's shared vocabulary: what adapters produce from a webhook body and answer to a send.

Provider-neutral records only; nothing here touches the database or another app, so
every layer above (tickets, whatsapp ingest) can import it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db import models
from django.utils.translation import gettext_lazy as _


class MessageKind(models.TextChoices):
    TEXT = "text", _("Texto")
    IMAGE = "image", _("Imagem")
    AUDIO = "audio", _("Áudio")
    VIDEO = "video", _("Vídeo")
    DOCUMENT = "document", _("Documento")
    LOCATION = "location", _("Localização")
    CONTACTS = "contacts", _("Contatos")
    STICKER = "sticker", _("Figurinha")
    REACTION = "reaction", _("Reação")
    INTERACTIVE = "interactive", _("Resposta interativa")
    UNSUPPORTED = "unsupported", _("Não suportada")
    SYSTEM = "system", _("Sistema")
    # An approved message template (Meta), the only thing a business may send outside the 24-hour window.
    TEMPLATE = "template", _("Modelo")


# The only direction an adapter sends (tickets' Message.Direction.OUT); internal notes and
# inbound messages are refused by every adapter (Provider.send_outbound).
OUTBOUND = "out"


@dataclass(frozen=True)
class InboundMessage:
    """A provider-neutral inbound message, as the adapters produce it."""

    provider_message_id: str
    kind: str = MessageKind.TEXT
    text: str = ""
    raw_type: str = ""
    media: dict | None = None
    timestamp: datetime | None = None
    reply_to_provider_id: str = ""


@dataclass(frozen=True)
class Sender:
    """Who wrote: the phone-based wa_id and/or the business-scoped user id (bsuid)."""

    wa_id: str = ""
    bsuid: str = ""
    name: str = ""
    phone: str = ""

    @property
    def identity(self) -> str:
        return self.wa_id or self.bsuid


@dataclass(frozen=True)
class ParsedMessage:
    sender: Sender
    message: InboundMessage
    # The business itself sent it (Evolution fromMe): outbound, never opens a ticket.
    from_me: bool = False
    # Group chats are journaled but never routed to a client ticket.
    is_group: bool = False
    # Meta: the business number that received it (one app may serve several numbers).
    phone_number_id: str = ""


@dataclass(frozen=True)
class StatusUpdate:
    provider_message_id: str
    # Normalised: sent, delivered, read, failed ("played" arrives as read).
    status: str
    timestamp: datetime | None = None
    error_code: str = ""
    error_text: str = ""


@dataclass(frozen=True)
class ConnectionStateUpdate:
    state: str
    timestamp: datetime | None = None
    reason: str = ""


@dataclass(frozen=True)
class MessageChange:
    """What a client did to a message already sent: "edited" (new `text`) or "deleted" (for everyone).

    Evolution reports an edit with the same DELETED status it uses for deletes; see docs/whatsapp.md.
    """

    provider_message_id: str
    action: str
    text: str = ""
    timestamp: datetime | None = None


@dataclass(frozen=True)
class TemplateInfo:
    """A message template as the provider lists it (Meta: GET /{business-account-id}/message_templates)."""

    name: str
    language: str
    status: str
    category: str = ""
    body: str = ""


@dataclass
class ParseResult:
    event_type: str = ""
    messages: list[ParsedMessage] = field(default_factory=list)
    statuses: list[StatusUpdate] = field(default_factory=list)
    states: list[ConnectionStateUpdate] = field(default_factory=list)
    changes: list[MessageChange] = field(default_factory=list)
    # Why parts of the body were skipped (not the provider's shape, unknown field...).
    skipped: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.messages or self.statuses or self.states or self.changes)


@dataclass
class HistoryPage:
    """One page of a provider's stored messages (Evolution chat/findMessages), parsed like webhook records."""

    messages: list[ParsedMessage] = field(default_factory=list)
    records: int = 0  # records on the page, parsed or not
    unparsed: int = 0
    page: int = 1
    pages: int = 1  # the total the provider announced


@dataclass(frozen=True)
class Pairing:
    """What the gateway answers to a pairing request: a QR image, a pairing code, or "already connected"."""

    state: str = ""  # "open" when the number is already connected
    qr_data_uri: str = ""  # data:image/png;base64,... (validated)
    pairing_code: str = ""
    code: str = ""  # the raw QR payload, for a client-side renderer


@dataclass(frozen=True)
class SendResult:
    provider_message_id: str


@dataclass(frozen=True)
class DownloadedMedia:
    """The bytes of a media message as its provider gave them."""

    content: bytes
    mime_type: str = ""


@dataclass(frozen=True)
class MediaRule:
    """How a provider takes an outbound file of this type: as which message type, up to how many bytes."""

    kind: str
    max_bytes: int


class SendError(Exception):
    """A send the provider refused or that never got an answer."""

    def __init__(self, code: str, text: str, *, retryable: bool):
        super().__init__(f"{code}: {text}")
        self.code = str(code)
        self.text = text
        self.retryable = retryable
