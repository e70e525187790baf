"""The writers of accounts data that is not edited through an admin form: clients met on WhatsApp,
and deactivation (nothing here is ever deleted)."""

from __future__ import annotations

from typing import Protocol

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet

from iaze.lib import clock

from .models import Client, User


class ClientProfile(Protocol):
    """What a channel knows of the person writing (whatsapp.providers.types.Sender is one)."""

    @property
    def identity(self) -> str: ...

    @property
    def wa_id(self) -> str: ...

    @property
    def bsuid(self) -> str: ...

    @property
    def phone(self) -> str: ...

    @property
    def name(self) -> str: ...


def client_upsert(*, reseller_id, sender: ClientProfile) -> Client:
    """The client behind a WhatsApp identity, created on first contact (concurrent creators converge)."""
    lookup = Client.objects.filter(reseller_id=reseller_id)
    for _attempt in range(3):
        client = lookup.filter(identity=sender.identity).first()
        if client is None and sender.bsuid:
            # Same person first seen by the business-scoped id only, now also with a wa_id.
            client = lookup.filter(Q(bsuid=sender.bsuid) | Q(identity=sender.bsuid)).first()
        if client is not None:
            _client_refresh(client, sender)
            return client
        try:
            with transaction.atomic():
                return Client.objects.create(
                    reseller_id=reseller_id,
                    identity=sender.identity,
                    wa_id=sender.wa_id,
                    bsuid=sender.bsuid,
                    phone=sender.phone,
                    name=sender.name,
                    profile_name=sender.name,
                )
        except IntegrityError:
            continue  # another worker created it first: read theirs
    raise RuntimeError(f"could not upsert client {sender.identity!r}")


def _client_refresh(client: Client, sender: ClientProfile) -> None:
    """Keep the provider's profile name current in `profile_name`; `name` follows it only while nobody
    has set another one (it is empty or still equal to the last profile name). A name a person set is
    never overwritten, and an empty name from the provider never wipes a known one."""
    now = clock.now()
    follows_profile = client.name in ("", client.profile_name)
    changes = {}
    if sender.name and sender.name != client.profile_name:
        changes["profile_name"] = sender.name
    for field in ("wa_id", "bsuid", "phone"):
        if getattr(sender, field) and not getattr(client, field):
            changes[field] = getattr(sender, field)
    if changes:
        Client.objects.filter(pk=client.pk).update(**changes, updated_at=now)
        for field, value in changes.items():
            setattr(client, field, value)
    # Conditional on the name read: an edit made meanwhile by a person wins.
    if (
        sender.name
        and sender.name != client.name
        and follows_profile
        and Client.objects.filter(pk=client.pk, name=client.name).update(name=sender.name, updated_at=now) == 1
    ):
        client.name = sender.name


def deactivate(queryset: QuerySet, *, field: str = "active") -> int:
    """One conditional write over an already scoped selection: active rows become inactive."""
    return queryset.filter(**{field: True}).update(**{field: False})


# The inbox preferences a user may change for themselves (sound of the alerts, Enter sends the reply).
USER_PREFERENCES = ("alert_sound", "enter_sends")


def user_preferences_set(*, user: User, **changes: bool) -> dict:
    """Store the user's own inbox preferences; unknown names are ignored. Returns what was stored.

    One write of only the given columns: a preference changed from another device meanwhile is kept."""
    values = {name: bool(value) for name, value in changes.items() if name in USER_PREFERENCES}
    if values:
        User.objects.filter(pk=user.pk).update(**values, updated_at=clock.now())
        for name, value in values.items():
            setattr(user, name, value)
    return values
