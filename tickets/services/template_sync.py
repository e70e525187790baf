"""Message templates synced from the provider (Meta: the approved ones of the business account).

The listing is read in full (every page) before anything is written: when any page cannot be read,
the provider's SendError propagates and nothing is added, changed or marked. Templates stored here but
absent from Meta's full listing are marked INACTIVE, never deleted; one that reappears is approved again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext

from iaze.lib import clock
from providers import SendError, get_provider
from tickets.models import MessageTemplate

Status = MessageTemplate.Status
# Meta's statuses for a template that is gone (or going): the row stays, marked as not existing there.
GONE_STATUSES = frozenset({"DELETED", "PENDING_DELETION"})


@dataclass(frozen=True)
class TemplateSyncCounts:
    """What one sync did: templates added, changed (text, category or status), kept as they were, and
    marked inactive because Meta no longer lists them."""

    added: int = 0
    changed: int = 0
    kept: int = 0
    inactive: int = 0


def _local_status(status: str) -> str:
    """Meta's status in our choices: a gone template is INACTIVE; any other status we do not know
    (LIMIT_EXCEEDED, IN_APPEAL, ARCHIVED…) cannot be sent, so it reads DISABLED."""
    if status in Status.values:
        return status
    return Status.INACTIVE if status in GONE_STATUSES else Status.DISABLED


def template_sync_counts(connection: Any) -> TemplateSyncCounts:
    """Create or update the connection's approved templates as Meta lists them; mark the ones Meta no
    longer lists INACTIVE. Raises providers.SendError, having written nothing, when the
    listing cannot be read in full.

    Templates no longer approved upstream keep their row (nothing is deleted) with Meta's status, so
    they stop being offered. Each change is one conditional write whose row count is checked: a row
    someone else changed meanwhile is not counted (the next sync sees it)."""
    if not connection.business_account_id:
        raise SendError(
            "no_business_account",
            gettext("A conexão não tem o ID da conta WhatsApp Business (Meta)."),
            retryable=False,
        )
    listing = get_provider(connection).list_templates()  # every page, or SendError: nothing written yet
    local = {(t.name, t.language): t for t in MessageTemplate.objects.filter(connection=connection)}
    seen: set[tuple[str, str]] = set()
    added = changed = kept = 0
    for info in listing:
        key = (info.name, info.language)
        if not info.name or not info.language or key in seen:
            continue
        seen.add(key)
        existing = local.get(key)
        status = _local_status(info.status)
        category = info.category[:32]
        if status != Status.APPROVED:
            if existing is None:
                continue  # never offered: not stored
            if existing.status == status:
                kept += 1
            elif _update(existing, status=status):
                changed += 1
            continue
        if existing is None:
            try:
                with transaction.atomic():
                    MessageTemplate.objects.create(
                        connection=connection,
                        name=info.name,
                        language=info.language,
                        category=category,
                        body=info.body,
                        status=Status.APPROVED,
                    )
            except IntegrityError:  # created by a sync running at the same time
                continue
            added += 1
        elif (existing.body, existing.category, existing.status) == (info.body, category, Status.APPROVED):
            kept += 1
        elif _update(existing, body=info.body, category=category, status=Status.APPROVED):
            changed += 1
    gone = [t.pk for key, t in local.items() if key not in seen and t.status != Status.INACTIVE]
    inactive = 0
    if gone:
        inactive = (
            MessageTemplate.objects.filter(pk__in=gone)
            .exclude(status=Status.INACTIVE)
            .update(status=Status.INACTIVE, updated_at=clock.now())
        )
    return TemplateSyncCounts(added=added, changed=changed, kept=kept, inactive=inactive)


def _update(existing: MessageTemplate, **changes: Any) -> bool:
    """One conditional write: only the row as it was read (a concurrent edit wins, and is not counted)."""
    moved = MessageTemplate.objects.filter(
        pk=existing.pk, status=existing.status, body=existing.body, category=existing.category
    ).update(**changes, updated_at=clock.now())
    return moved == 1


def template_sync(connection: Any) -> tuple[int, int]:
    """template_sync_counts, as (created, updated): the shape older callers read."""
    counts = template_sync_counts(connection)
    return counts.added, counts.changed
