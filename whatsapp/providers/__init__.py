"""Provider adapters: the only code that speaks HTTP to WhatsApp providers."""

from .base import (  # noqa: F401
    ConnectionStateUpdate, ParsedMessage, ParseResult, Provider, SendError, SendResult, Sender, StatusUpdate,
)


def get_provider(connection) -> Provider:
    from whatsapp.models import Connection

    from .evolution import EvolutionProvider
    from .meta import MetaProvider

    adapters = {Connection.Provider.META: MetaProvider, Connection.Provider.EVOLUTION: EvolutionProvider}
    try:
        return adapters[connection.provider](connection)
    except KeyError:
        raise ValueError(f"unknown WhatsApp provider {connection.provider!r}") from None
