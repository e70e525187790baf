"""The writers of accounts data that is not edited through an admin form: clients met on WhatsApp,
and deactivation (nothing here is ever deleted). Contacts edited by people: accounts.contacts."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Protocol

from django.db import IntegrityError, transaction
from django.db import connection as db_connection
from django.db.models import Q, QuerySet

from accounts import phones
from accounts.models import Client, ClientChange, ClientTag, ClientTerm, Tag, User
from accounts.search import client_terms
from iaze.lib import clock


class ClientConflict(Exception):
    """The client changed since the page was read (another person renamed it meanwhile)."""


class TagRejected(ValueError):
    """The tag is unknown, of another tenant, or inactive."""


class ClientProfile(Protocol):
    """What a channel knows of the person writing (providers.types.Sender is one)."""

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


# At most this many clients are read for one number (a phone stored twice by an older version).
MATCH_MAX = 10
# Inbound messages move a client's `updated_at` (the contact list's "most recent") at most this often.
ACTIVITY_STEP = timedelta(minutes=5)

Chooser = Callable[[list[Client]], Client]


def client_most_recent(candidates: list[Client]) -> Client:
    return max(candidates, key=lambda c: (c.updated_at, c.created_at))


def client_identity(sender: ClientProfile) -> str:
    """The identity a new client is stored with: the canonical number (a Brazilian mobile with its ninth
    digit, accounts.phones) when the provider gave one, else the business-scoped id."""
    if sender.wa_id and sender.wa_id.isdigit():
        return phones.canonical(sender.wa_id)
    return sender.identity


def _number_forms(sender: ClientProfile) -> set[str]:
    forms = {sender.identity} if sender.identity else set()
    if sender.wa_id and sender.wa_id.isdigit():
        forms |= phones.br_variants(sender.wa_id)
    return forms


def client_find(*, reseller_id, sender: ClientProfile, choose: Chooser | None = None) -> Client | None:
    """The client behind a WhatsApp identity, whichever form of the number it was stored with (with or
    without the ninth digit), or by the business-scoped id. When one phone is stored twice (rows from
    before numbers were matched by form), `choose` picks one (default: the most recently touched)."""
    lookup = Client.objects.filter(reseller_id=reseller_id)
    forms = sorted(_number_forms(sender))
    found = list(lookup.filter(Q(identity__in=forms) | Q(phone__in=forms))[:MATCH_MAX]) if forms else []
    if not found and sender.bsuid:
        # Same person first seen by the business-scoped id only, now also with a wa_id.
        found = list(lookup.filter(Q(bsuid=sender.bsuid) | Q(identity=sender.bsuid))[:MATCH_MAX])
    if not found:
        return None
    if len(found) == 1:
        return found[0]
    return (choose or client_most_recent)(found)


def client_upsert(*, reseller_id, sender: ClientProfile, choose: Chooser | None = None) -> Client:
    """The client behind a WhatsApp identity, created on first contact (concurrent creators converge on
    the unique (reseller, identity) index, the identity being the canonical number)."""
    for _attempt in range(3):
        client = client_find(reseller_id=reseller_id, sender=sender, choose=choose)
        if client is not None:
            _client_refresh(client, sender)
            return client
        phone = phones.canonical(sender.phone) if sender.phone.isdigit() else sender.phone
        try:
            with transaction.atomic():
                client = Client.objects.create(
                    reseller_id=reseller_id,
                    identity=client_identity(sender),
                    wa_id=sender.wa_id,
                    bsuid=sender.bsuid,
                    phone=phone,
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
    set is never overwritten, and an empty name from the provider never wipes a known one.

    The wa_id follows the form of the number the provider used last (with or without the ninth digit):
    replies go to the number WhatsApp knows."""
    now = clock.now()
    # Also never over a name that differs from the last profile name (rows from before either field).
    follows_profile = not client.name_set_by_agent and client.name in ("", client.profile_name)
    changes = {}
    if sender.name and sender.name != client.profile_name:
        changes["profile_name"] = sender.name
    for field in ("wa_id", "bsuid", "phone"):
        if getattr(sender, field) and not getattr(client, field):
            changes[field] = getattr(sender, field)
    if changes.get("phone", "").isdigit():
        changes["phone"] = phones.canonical(changes["phone"])
    if (
        sender.wa_id
        and client.wa_id
        and sender.wa_id != client.wa_id
        and sender.wa_id in phones.br_variants(client.wa_id)
    ):
        changes["wa_id"] = sender.wa_id
    if changes:
        Client.objects.filter(pk=client.pk).update(**changes, updated_at=now)
        for field, value in changes.items():
            setattr(client, field, value)
        client.updated_at = now
    elif client.updated_at is None or client.updated_at < now - ACTIVITY_STEP:
        # The contact list shows the clients who wrote lately first: a write at most every ACTIVITY_STEP.
        Client.objects.filter(pk=client.pk, updated_at__lt=now - ACTIVITY_STEP).update(updated_at=now)
        client.updated_at = now
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


def client_rename(*, client: Client, name: str, seen: str, by=None, source: str = ClientChange.Source.TICKET) -> str:
    """A person names the client. One conditional write on the name the page showed (`seen`): a rename
    made meanwhile answers ClientConflict. The old name joins `previous_names` and the change is recorded
    (ClientChange); from now on the provider's profile name never replaces it. Returns the old name.
    ValueError when the name is empty."""
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
    client_change_record(client, by=by, source=source, changes={"name": (old, name)})
    client_terms_index(client)
    return old


def client_change_record(client: Client, *, by, source: str, changes: dict[str, tuple[str, str]]) -> int:
    """The contact's history: one ClientChange per changed field (never deleted)."""
    rows = [
        ClientChange(
            reseller_id=client.reseller_id,
            client_id=client.pk,
            by_id=getattr(by, "pk", by),
            source=source,
            field=field,
            old=str(old or ""),
            new=str(new or ""),
        )
        for field, (old, new) in changes.items()
    ]
    ClientChange.objects.bulk_create(rows)
    return len(rows)


def client_terms_of(client: Client) -> set[str]:
    """The terms a client is found by: its name and earlier names, numbers, e-mail, document."""
    return client_terms(
        name=client.name,
        names=client.previous_names or (),
        phone=client.phone,
        wa_id=client.wa_id,
        email=client.email,
        document=client.document,
    )


def client_terms_index(client: Client) -> int:
    """Index the client's name (and earlier names) and number for the queue's search: the terms it lacks."""
    terms = client_terms_of(client)
    return terms_store(ClientTerm, owner="client_id", owner_id=client.pk, reseller_id=client.reseller_id, terms=terms)


TERMS_CHUNK = 2000


def terms_store_many(model, *, owner: str, reseller_id, terms: dict[Any, set[str]]) -> int:
    """Store the terms each owner lacks, for many owners of one tenant at once (a contact import's batch):
    what terms_store writes owner by owner, in a few statements. Returns how many were sent to be inserted.

    SQLite and PostgreSQL: one INSERT … ON CONFLICT DO NOTHING run over chunks of TERMS_CHUNK rows, in one
    transaction per chunk (a speed-up only: a rerun inserts what is missing). The values are prepared per
    column once (the tenant, each owner, the time) rather than per row through model instances, which was
    nearly all of a large import's time. Elsewhere (MongoDB): one read of the owners' stored terms, then
    terms_insert of the others."""
    if not any(terms.values()):
        return 0
    db = db_connection
    if db.features.supports_ignore_conflicts and db.vendor in ("sqlite", "postgresql"):
        return _terms_insert_sql(model, owner=owner, reseller_id=reseller_id, terms=terms)
    have: set[tuple[Any, str]] = set()
    owners = list(terms)
    for start in range(0, len(owners), TERMS_CHUNK):
        chunk = owners[start : start + TERMS_CHUNK]
        have.update(model.objects.filter(**{f"{owner}__in": chunk}).values_list(owner, "term"))
    rows = [
        model(reseller_id=reseller_id, term=t, **{owner: owner_id})
        for owner_id, found in terms.items()
        for t in sorted(found)
        if (owner_id, t) not in have
    ]
    return sum(terms_insert(model, rows[i : i + TERMS_CHUNK]) for i in range(0, len(rows), TERMS_CHUNK))


def _terms_insert_sql(model, *, owner: str, reseller_id, terms: dict[Any, set[str]]) -> int:
    db = db_connection
    names = ("id", "created_at", "updated_at", "reseller_id", owner, "term")
    fields = [model._meta.get_field(name) for name in names]
    f_id, f_stamp, _f_updated, f_reseller, f_owner, f_term = fields
    now = f_stamp.get_db_prep_save(clock.now(), db)
    tenant = f_reseller.get_db_prep_save(reseller_id, db)
    rows: list[tuple[Any, ...]] = []
    for owner_id, found in terms.items():
        prepared_owner = f_owner.get_db_prep_save(owner_id, db)
        rows.extend(
            (f_id.get_db_prep_save(uuid.uuid4(), db), now, now, tenant, prepared_owner, f_term.get_db_prep_save(t, db))
            for t in sorted(found)
        )
    columns = ", ".join(db.ops.quote_name(f.column) for f in fields)
    sql = (
        f"INSERT INTO {db.ops.quote_name(model._meta.db_table)} ({columns}) "
        f"VALUES ({', '.join(['%s'] * len(fields))}) ON CONFLICT DO NOTHING"
    )
    for start in range(0, len(rows), TERMS_CHUNK):
        with transaction.atomic(), db.cursor() as cursor:
            cursor.executemany(sql, rows[start : start + TERMS_CHUNK])
    return len(rows)


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
