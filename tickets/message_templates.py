"""Message templates synced from the provider (Meta: the approved ones of the business account)."""

from __future__ import annotations

from typing import Any

from whatsapp.providers import get_provider

from .models import MessageTemplate


def template_sync(connection: Any) -> tuple[int, int]:
    """Create or update the connection's approved templates as Meta lists them. Returns (created, updated).

    Templates no longer approved upstream keep their row (nothing is deleted) with Meta's status,
    so they stop being offered. Raises whatsapp.providers.SendError when Meta refuses.
    """
    created = updated = 0
    for info in get_provider(connection).list_templates():
        if not info.name or not info.language:
            continue
        existing = MessageTemplate.objects.filter(connection=connection, name=info.name, language=info.language).first()
        if info.status != MessageTemplate.Status.APPROVED:
            if existing is not None and existing.status != info.status and info.status in MessageTemplate.Status.values:
                MessageTemplate.objects.filter(pk=existing.pk).update(status=info.status)
                updated += 1
            continue
        if existing is None:
            MessageTemplate.objects.create(
                connection=connection,
                name=info.name,
                language=info.language,
                category=info.category[:32],
                body=info.body,
                status=MessageTemplate.Status.APPROVED,
            )
            created += 1
        elif (existing.body, existing.category, existing.status) != (info.body, info.category[:32], info.status):
            MessageTemplate.objects.filter(pk=existing.pk).update(
                body=info.body, category=info.category[:32], status=MessageTemplate.Status.APPROVED
            )
            updated += 1
    return created, updated
