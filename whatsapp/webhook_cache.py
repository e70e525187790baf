"""The connection a webhook names, kept per process and checked against the database on every request.

A webhook needs the whole row (secret, provider, routing, menu) but it changes only when an admin
saves it or the provider reports a state, and both bump `updated_at`. So each request reads just
(id, updated_at) of the active connection with that key, and reuses the row this process read
before while those match: an admin's change (a new secret, a deactivation, a new default
department) is seen by the very next webhook, in every process. Each caller gets its own copy.
"""

from __future__ import annotations

import copy
import threading

from django.db.models.signals import post_save
from django.dispatch import receiver

from .models import Connection

_rows: dict[str, Connection] = {}
_lock = threading.Lock()  # gthread workers share the dict


def webhook_connection(key: str) -> Connection | None:
    """The active connection with this webhook key, or None."""
    stamp = next(iter(Connection.objects.filter(key=key, active=True).values_list("pk", "updated_at")[:1]), None)
    if stamp is None:
        return None
    cached = _rows.get(key)
    if cached is None or (cached.pk, cached.updated_at) != stamp:
        cached = Connection.objects.filter(pk=stamp[0], key=key, active=True).first()
        if cached is None:
            return None
        with _lock:
            _rows[key] = cached
    return copy.copy(cached)


@receiver(post_save, sender=Connection, dispatch_uid="whatsapp.webhook_cache.forget")
def _forget(sender, instance: Connection, **kwargs) -> None:
    # This process's own saves are seen even within the same millisecond (other processes compare updated_at).
    with _lock:
        for key in [k for k, row in _rows.items() if row.pk == instance.pk] + [instance.key]:
            _rows.pop(key, None)
