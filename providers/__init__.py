"""Provider adapters: the only code that speaks HTTP to WhatsApp providers.

They import no app: the channel's records live in `types`, and a connection is
passed in as an object, chosen here by its `provider` value.

What a provider can do (a customer-service window, templates, gap recovery, QR pairing…) is a
class attribute of its adapter (see `Provider`); code outside this package asks `capabilities()`
or filters by `providers_with()` and never compares a connection's provider with a name.
"""

from providers.base import CAPABILITIES, Provider
from providers.evolution import EvolutionProvider
from providers.meta import MetaProvider
from providers.types import (
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
    "CAPABILITIES",
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
    "capabilities",
    "get_provider",
    "providers_with",
]

# Keyed by Connection.provider's stored values ("meta", "evolution").
ADAPTERS: dict[str, type[Provider]] = {"meta": MetaProvider, "evolution": EvolutionProvider}


def capabilities(provider: object) -> type[Provider]:
    """The adapter class of a connection (or of a stored `provider` value), to ask what it can do.

    A value no adapter claims answers with the base `Provider`, whose capabilities are all "no":
    asking never fails a page; sending through it does (get_provider).
    """
    value = provider if isinstance(provider, str) else getattr(provider, "provider", "")
    return ADAPTERS.get(value, Provider)


def providers_with(capability: str) -> list[str]:
    """The stored `provider` values whose adapter has the capability, for a queryset filter:
    `.filter(provider__in=providers_with("recovers_gaps"))`."""
    if capability not in CAPABILITIES:
        raise AttributeError(f"providers have no capability {capability!r}")
    return sorted(value for value, adapter in ADAPTERS.items() if getattr(adapter, capability))


def get_provider(connection) -> Provider:
    try:
        return ADAPTERS[connection.provider](connection)
    except KeyError:
        raise ValueError(f"unknown WhatsApp provider {connection.provider!r}") from None
