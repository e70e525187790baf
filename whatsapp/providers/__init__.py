"""Provider adapters: the only code that speaks HTTP to WhatsApp providers.

They import no app: the channel's records live in `types`, and a connection is
passed in as an object, chosen here by its `provider` value.
"""

from .base import Provider
from .evolution import EvolutionProvider
from .meta import MetaProvider
from .types import (
    ConnectionStateUpdate,
    HistoryPage,
    InboundMessage,
    MessageChange,
    MessageKind,
    Pairing,
    ParsedMessage,
    ParseResult,
    Sender,
    SendError,
    SendResult,
    StatusUpdate,
    TemplateInfo,
)

__all__ = [
    "ConnectionStateUpdate",
    "HistoryPage",
    "InboundMessage",
    "MessageChange",
    "MessageKind",
    "Pairing",
    "ParseResult",
    "ParsedMessage",
    "Provider",
    "SendError",
    "SendResult",
    "Sender",
    "StatusUpdate",
    "TemplateInfo",
    "get_provider",
]

# Keyed by Connection.provider's stored values ("meta", "evolution").
ADAPTERS: dict[str, type[Provider]] = {"meta": MetaProvider, "evolution": EvolutionProvider}


def get_provider(connection) -> Provider:
    try:
        return ADAPTERS[connection.provider](connection)
    except KeyError:
        raise ValueError(f"unknown WhatsApp provider {connection.provider!r}") from None
