"""The writers of accounts data that is not edited through an admin form: clients met on WhatsApp,
and deactivation (nothing here is ever deleted)."""

from __future__ import annotations

import uuid
from typing import Protocol

from django.db import IntegrityError, transaction
from django.db import connection as db_connection
from django.db.models import Q, QuerySet

from iaze.lib import clock

from .models import Client, ClientTag, ClientTerm, Tag, User
from .search import client_terms


class ClientConflict(Exception):
    """The client changed since the page was read (another person renamed it meanwhile)."""


class TagRejected(ValueError):
    """The tag is unknown, of another tenant, or inactive."""


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
                client = Client.objects.create(
                    reseller_id=reseller_id,
                    identity=sender.identity,
                    wa_id=sender.wa_id,
                    bsuid=sender.bsuid,
                    phone=sender.phone,
                    name=sender.name,
                    profile_name=sender.name,
                )
                # In the same commit on SQL databases: a client is never stored unfindable.
                client_terms_index(client)
        except IntegrityError:
            continue  # another worker created it first: read theirs
        return client
    raise RuntimeError(f"could not upsert client {sender.identity!r}")


def _client_refresh(client: Client, sender: ClientProfile) -> None:
    """Keep the provider's profile name current in `profile_name`; `name` follows it only while no person
    has set one (`name_set_by_agent`, or a name that differs from the last profile name). A name a person
    set is never overwritten, and an empty name from the provider never wipes a known one."""
    now = clock.now()
    # Also never over a name that differs from the last profile name (rows from before either field).
    follows_profile = not client.name_set_by_agent and client.name in ("", client.profile_name)
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
    renamed = False
    # Conditional on the name read and on nobody having set one: an edit made meanwhile by a person wins.
    if (
        sender.name
        and sender.name != client.name
        and follows_profile
        and Client.objects.filter(pk=client.pk, name=client.name, name_set_by_agent=False).update(
            name=sender.name, updated_at=now
        )
        == 1
    ):
        client.name = sender.name
        renamed = True
    if renamed or {"phone", "wa_id"} & changes.keys():
        client_terms_index(client)


def client_rename(*, client: Client, name: str, seen: str) -> str:
    """A person names the client. One conditional write on the name the page showed (`seen`): a rename
    made meanwhile answers ClientConflict. The old name joins `previous_names`; from now on the provider's
    profile name never replaces it. Returns the old name. ValueError when the name is empty."""
    name = " ".join((name or "").split())[:200]
    if not name:
        raise ValueError("empty name")
    current = Client.objects.filter(pk=client.pk).values_list("name", "previous_names").first()
    if current is None or current[0] != seen:
        raise ClientConflict(client)
    old, previous = current
    if name == old:
        Client.objects.filter(pk=client.pk, name=old).update(name_set_by_agent=True)
        return old
    history = [*(previous or []), old] if old else list(previous or [])
    changed = Client.objects.filter(pk=client.pk, name=old).update(
        name=name, previous_names=history, name_set_by_agent=True, updated_at=clock.now()
    )
    if changed != 1:
        raise ClientConflict(client)
    client.name, client.previous_names, client.name_set_by_agent = name, history, True
    client_terms_index(client)
    return old


def client_terms_index(client: Client) -> int:
    """Index the client's name (and earlier names) and number for the queue's search: the terms it lacks."""
    terms = client_terms(name=client.name, names=client.previous_names or (), phone=client.phone, wa_id=client.wa_id)
    return terms_store(ClientTerm, owner="client_id", owner_id=client.pk, reseller_id=client.reseller_id, terms=terms)


def terms_store(model, *, owner: str, owner_id, reseller_id, terms: set[str]) -> int:
    """Store the terms an owner (client or ticket) lacks. Returns how many were sent to be inserted.

    Where the database can skip a duplicate row itself (SQL's ON CONFLICT DO NOTHING), all of them go in
    one statement and the unique (owner, term) index drops those already there: no read first, which is
    half of this step's cost on every stored message. MongoDB's backend cannot skip conflicts, so there
    the terms already stored are read and only the others inserted."""
    if not terms:
        return 0
    if db_connection.features.supports_ignore_conflicts:
        rows = [model(reseller_id=reseller_id, term=t, **{owner: owner_id}) for t in sorted(terms)]
        model.objects.bulk_create(rows, ignore_conflicts=True)
        return len(rows)
    have = set(model.objects.filter(**{owner: owner_id}, term__in=terms).values_list("term", flat=True))
    rows = [model(reseller_id=reseller_id, term=t, **{owner: owner_id}) for t in sorted(terms - have)]
    return terms_insert(model, rows)


def terms_insert(model, rows: list) -> int:
    """Insert search terms; the unique (owner, term) index settles two writers adding the same word."""
    if not rows:
        return 0
    try:
        with transaction.atomic():
            model.objects.bulk_create(rows)
        return len(rows)
    except IntegrityError:
        added = 0
        for row in rows:  # a racing writer stored some of them: keep the others
            try:
                with transaction.atomic():
                    row.save(force_insert=True)
                added += 1
            except IntegrityError:
                continue
        return added


def tag_for(*, reseller_id, tag_id) -> Tag:
    """An active tag of this tenant, or TagRejected (unknown, another tenant's, inactive, not a uuid)."""
    try:
        tag = Tag.objects.filter(pk=uuid.UUID(str(tag_id)), reseller_id=reseller_id, active=True).first()
    except (ValueError, TypeError):
        tag = None
    if tag is None:
        raise TagRejected(str(tag_id))
    return tag


def link_set(model, *, on: bool, **owner) -> bool:
    """Add (on) or remove a tag link (`owner`: the row's two keys), as one conditional write.

    Removing clears `active` (nothing is deleted). Returns whether anything changed: a second click on
    the same toggle changes nothing and records nothing."""
    now = clock.now()
    if not on:
        return model.objects.filter(**owner, active=True).update(active=False, updated_at=now) == 1
    if model.objects.filter(**owner, active=False).update(active=True, updated_at=now) == 1:
        return True
    try:
        with transaction.atomic():
            model.objects.create(**owner, active=True)
        return True
    except IntegrityError:
        return False  # already there and active (or added by a racing click)


def client_tag_set(*, client: Client, tag: Tag, on: bool) -> bool:
    return link_set(ClientTag, client_id=client.pk, tag_id=tag.pk, on=on)


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
