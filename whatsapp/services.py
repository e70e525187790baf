"""The writers of the channel's own rows besides the journal (whatsapp.journal): a connection's state."""

from __future__ import annotations

from django.db.models import Q

from iaze.lib import clock

from .models import Connection
from .providers import ConnectionStateUpdate


def connection_state_ingest(*, connection: Connection, update: ConnectionStateUpdate) -> bool:
    """Store the provider's connection state; an older report never overwrites a newer one."""
    at = clock.to_ms(update.timestamp) or clock.now()
    return (
        Connection.objects.filter(pk=connection.pk)
        .filter(Q(state_updated_at__isnull=True) | Q(state_updated_at__lte=at))
        .update(state=update.state[:32], state_updated_at=at, updated_at=clock.now())
        == 1
    )
