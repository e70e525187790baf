"""Importing contacts from a spreadsheet's rows (the CSV itself is read by accounts.contact_csv).

The header names the columns: `nome` and `numero` are required; `email`, `documento`, `observacoes` and
`etiquetas` are optional (a few aliases below); any other column is one of the tenant's custom fields,
found by its key (accounts.contact_fields.field_key of the header), created as a text field when the
tenant has none by that key (a deactivated field's column is ignored). Tags in `etiquetas` are separated
by `|` or `,`; an unknown tag is created.

Lines are matched by number, in any of its forms (with or without the ninth digit): a known number
updates its contact with the line's non-empty cells (an empty cell changes nothing; tags are only
added), an unknown one adds a contact. So importing the same file twice creates nothing the second time.

Two steps:
1. `contact_import_enqueue` checks the whole file before anything is written: a header without `nome`
   or `numero` refuses the file (ImportRejected); a line that cannot be imported (bad number, e-mail,
   CPF/CNPJ or custom value, no name, a number already on an earlier line in any form) is refused with
   its line number as a spreadsheet shows it (the header is line 1) and the reason. The accepted lines
   are stored with the import (ContactImport), a durable job (iaze.lib.jobs).
2. `contact_import_run` writes them in batches of BATCH: one read of the batch's known numbers, one
   insert of its new contacts and one of their search terms, tags and history, one conditional write per
   contact that changed and one insert of the search terms those lack (accounts.services.terms_store_many:
   terms of earlier values stay, as everywhere); then the import's progress and counts, in one write on its
   lease. The request that uploaded the file runs it until INLINE_SECONDS have passed since the request
   began; the worker (`send_outbox --loop`) finishes what is left. An interrupted batch is written again
   (its contacts are found by number: nothing twice).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db import connection as db_connection
from django.utils.translation import gettext as _

from accounts import documents, phones
from accounts.contact_fields import FieldRejected, field_key, value_clean
from accounts.contacts import (
    NOTES_MAX,
    Cleaned,
    clean_email,
    clean_name,
    contact_changes,
    number_owners,
    reason_of,
    stamp_after,
)
from accounts.models import Client, ClientChange, ClientTag, ClientTerm, ContactField, ContactImport, Tag
from accounts.search import client_terms, fold
from accounts.services import client_change_record, client_most_recent, client_terms_of, link_set, terms_store_many
from iaze.lib import clock
from iaze.lib.jobs import Backoff, Queue

BATCH = 500
# The request that uploads a file spends at most about this long on it (the batch under way ends); the
# worker finishes a larger file.
INLINE_SECONDS = 12.0
# The standard columns by their header (folded like field keys): what each fills.
STANDARD = {
    "nome": "name",
    "numero": "number",
    "telefone": "number",
    "celular": "number",
    "whatsapp": "number",
    "email": "email",
    "e_mail": "email",
    "documento": "document",
    "cpf": "document",
    "cnpj": "document",
    "cpf_cnpj": "document",
    "observacoes": "notes",
    "notas": "notes",
    "etiquetas": "tags",
    "tags": "tags",
}
TAG_SEPARATORS = ("|", ",")
SOURCE = ClientChange.Source.IMPORT

CONTACT_IMPORTS = Queue(
    model=ContactImport,
    status_field="state",
    ready=ContactImport.State.PENDING,
    running=ContactImport.State.RUNNING,
    successful=ContactImport.State.DONE,
    failed=ContactImport.State.FAILED,
    tenant_field="reseller_id",
    # Longer than a batch can take: a worker that died lets it run out and the next one goes on.
    lease=timedelta(minutes=5),
    # Only a pass that failed waits (a batch that raised): 5 s, doubling up to a minute.
    backoff=Backoff(base=5, cap=60),
    max_attempts=None,
    code_field=None,
    text_field="error",
    label="contact import",
)


class ImportRejected(ValueError):
    """The file as a whole cannot be imported (400): empty, no header, no `nome` or `numero` column…"""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class _Columns:
    standard: dict[str, int]  # what it fills -> column index
    custom: list[tuple[int, ContactField]]  # known or about to be created (unsaved) fields
    new_fields: list[tuple[str, str]]  # (key, label) of the fields to create
    ignored: list[str]


def _split_tags(cell: str) -> list[str]:
    names = [cell]
    for separator in TAG_SEPARATORS:
        names = [part for name in names for part in name.split(separator)]
    return [" ".join(n.split())[:40] for n in names if n.strip()]


def _columns(header: list[str], *, reseller_id) -> _Columns:
    """What each column fills. Writes nothing: a field to create is only named (and checked as text)."""
    standard: dict[str, int] = {}
    custom: list[tuple[int, ContactField]] = []
    new_fields: list[tuple[str, str]] = []
    ignored: list[str] = []
    known = {cf.key: cf for cf in ContactField.objects.filter(reseller_id=reseller_id)}
    seen: set[str] = set()
    for index, title in enumerate(header):
        key = field_key(title)
        if not key:
            continue
        if key in seen or (key in STANDARD and STANDARD[key] in standard):
            raise ImportRejected(_("A coluna “%(column)s” aparece duas vezes no cabeçalho.") % {"column": title})
        seen.add(key)
        if key in STANDARD:
            standard[STANDARD[key]] = index
            continue
        found = known.get(key)
        if found is None:
            label = " ".join(title.split())[:80] or key
            found = ContactField(reseller_id=reseller_id, key=key, label=label, kind=ContactField.Kind.TEXT)
            new_fields.append((key, label))
        elif not found.active:
            ignored.append(title)
            continue
        custom.append((index, found))
    missing = [name for name, what in (("nome", "name"), ("numero", "number")) if what not in standard]
    if missing:
        raise ImportRejected(
            _("O cabeçalho precisa das colunas nome e numero (falta: %(missing)s).") % {"missing": ", ".join(missing)}
        )
    return _Columns(standard=standard, custom=custom, new_fields=new_fields, ignored=ignored)


def _line_clean(line: int, cells: list[str], columns: _Columns) -> dict:
    """One line's values, or ValueError with the reason the line is refused."""

    def cell(what: str) -> str:
        index = columns.standard.get(what)
        return cells[index].strip() if index is not None and index < len(cells) else ""

    name = clean_name(cell("name"))
    if not name:
        raise ValueError(_("nome vazio"))
    raw_number = cell("number")
    if not raw_number:
        raise ValueError(_("número vazio"))
    try:
        phone = phones.canonical(phones.normalize(raw_number))
    except phones.PhoneRejected as exc:
        reason = reason_of(exc)
        raise ValueError(_("número “%(value)s”: %(reason)s") % {"value": raw_number, "reason": reason}) from None
    values = {"name": name}
    if email := cell("email"):
        try:
            values["email"] = clean_email(email)
        except ValueError:
            raise ValueError(_("e-mail inválido: “%(value)s”") % {"value": email}) from None
    if document := cell("document"):
        try:
            values["document"] = documents.normalize(document)
        except documents.DocumentRejected as exc:
            raise ValueError(
                _("documento “%(value)s”: %(reason)s") % {"value": document, "reason": reason_of(exc)}
            ) from None
    if notes := cell("notes"):
        if len(notes) > NOTES_MAX:
            raise ValueError(_("observações com mais de %(n)d caracteres") % {"n": NOTES_MAX})
        values["notes"] = notes
    custom = {}
    for index, cf in columns.custom:
        raw = cells[index] if index < len(cells) else ""
        try:
            value = value_clean(cf, raw)
        except FieldRejected as exc:
            raise ValueError(
                _("%(field)s: “%(value)s” %(reason)s") % {"field": cf.label, "value": raw.strip(), "reason": exc.reason}
            ) from None
        if value:
            custom[cf.key] = value
    return {"line": line, "phone": phone, "values": values, "custom": custom, "tags": _split_tags(cell("tags"))}


def contact_import_enqueue(
    *, reseller_id, by, header: list[str], rows: Iterable[tuple[int, list[str]]], file_name: str = ""
) -> ContactImport:
    """Check the file and store it as an import job (pending). ImportRejected for a file that cannot be
    imported at all; nothing is written then."""
    columns = _columns(header, reseller_id=reseller_id)
    width = len(header)
    accepted: list[dict] = []
    refused: list[list] = []
    first_line: dict[str, int] = {}
    total = 0
    for line, cells in rows:
        if not any(c.strip() for c in cells):
            continue  # a blank line (spreadsheets leave them at the end)
        total += 1
        try:
            if any(c.strip() for c in cells[width:]):
                raise ValueError(_("mais colunas do que o cabeçalho"))
            cleaned = _line_clean(line, cells, columns)
            if cleaned["phone"] in first_line:
                raise ValueError(
                    _("número repetido: já está na linha %(line)d") % {"line": first_line[cleaned["phone"]]}
                )
        except ValueError as exc:
            refused.append([line, str(exc)])
            continue
        first_line[cleaned["phone"]] = line
        accepted.append(cleaned)
    if total == 0:
        raise ImportRejected(_("O arquivo não tem nenhuma linha de contato depois do cabeçalho."))
    return CONTACT_IMPORTS.enqueue(
        reseller_id=reseller_id,
        by_id=getattr(by, "pk", by),
        file_name=file_name[:200],
        header=header,
        new_fields=[list(f) for f in columns.new_fields],
        lines=accepted,
        accepted=len(accepted),
        total=total,
        refused=refused,
        ignored_columns=columns.ignored,
    )


# --- writing ---------------------------------------------------------------------------------------


@dataclass
class _Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    refused: list[list] = field(default_factory=list)
    tags_created: list[str] = field(default_factory=list)


def contact_import_claim(pk) -> Any:
    """Take the import's lease (the request that uploaded it, or a worker). None when someone else has it."""
    return CONTACT_IMPORTS.claim(pk, ignore_backoff=True)


def contact_import_run(
    pk, lease, *, budget: float | None = None, stopping: Callable[[], bool] = lambda: False
) -> ContactImport:
    """Write the import's lines from its position on, a batch at a time, while the lease is ours; until
    done, or `budget` seconds have passed, or `stopping()`. Then it is done, or handed back to the queue."""
    started = time.monotonic()
    imp = ContactImport.objects.get(pk=pk)
    fields_created = list(imp.fields_created)
    for key, label in imp.new_fields:
        if _field_create(reseller_id=imp.reseller_id, key=key, label=label) and label not in fields_created:
            fields_created.append(label)
    tags = _Tags(imp.reseller_id)
    position, lines = imp.position, imp.lines
    while position < len(lines):
        batch = lines[position : position + BATCH]
        counts = _Counts()
        batch_started = time.monotonic()
        _batch(batch, reseller_id=imp.reseller_id, by=imp.by_id, tags=tags, counts=counts)
        moved = (
            CONTACT_IMPORTS.mine(pk, lease)
            .filter(position=position)
            .update(
                position=position + len(batch),
                created=imp.created + counts.created,
                updated=imp.updated + counts.updated,
                unchanged=imp.unchanged + counts.unchanged,
                refused=sorted([*imp.refused, *counts.refused]),
                fields_created=fields_created,
                tags_created=[*imp.tags_created, *(t for t in counts.tags_created if t not in imp.tags_created)],
                seconds=round(imp.seconds + time.monotonic() - batch_started, 2),
            )
        )
        if moved != 1:
            return ContactImport.objects.defer("lines").get(
                pk=pk
            )  # the lease ran out: another worker goes on from here
        imp = ContactImport.objects.defer("lines").get(pk=pk)
        position = imp.position
        if position < len(lines) and (stopping() or (budget is not None and time.monotonic() - started > budget)):
            _hand_back(pk, lease)
            return ContactImport.objects.defer("lines").get(pk=pk)
    CONTACT_IMPORTS.succeed(pk, lease, fields_created=fields_created)
    return ContactImport.objects.defer("lines").get(pk=pk)


def _hand_back(pk, lease) -> bool:
    """Our share is done (the request's seconds, a worker stopping): due again at once, for the next worker."""
    now = clock.now()
    return (
        CONTACT_IMPORTS.mine(pk, lease).update(
            state=ContactImport.State.PENDING, lease_until=None, next_attempt_at=now, updated_at=now
        )
        == 1
    )


def contact_imports_pass(*, stopping: Callable[[], bool] = lambda: False, limit: int = 5) -> dict[str, int]:
    """The worker's pass: every due import, tenants taking turns, each until done or the worker stops."""
    counts = {"done": 0, "handed_back": 0}
    for job in CONTACT_IMPORTS.due(limit=limit, per_tenant=1):
        if stopping():
            break
        lease = CONTACT_IMPORTS.claim(job.pk)
        if lease is None:
            continue
        imp = contact_import_run(job.pk, lease, stopping=stopping)
        counts["done" if imp.state == ContactImport.State.DONE else "handed_back"] += 1
    return counts


def _field_create(*, reseller_id, key: str, label: str) -> bool:
    """A text field named by the header; True when this call created it."""
    try:
        with transaction.atomic():
            ContactField.objects.create(reseller_id=reseller_id, key=key, label=label or key)
        return True
    except IntegrityError:
        return False


class _Tags:
    """The tenant's tags by folded name, created on first use."""

    def __init__(self, reseller_id):
        self.reseller_id = reseller_id
        self.by_key = {t.name_key: t for t in Tag.objects.filter(reseller_id=reseller_id)}

    def ids(self, names: list[str], counts: _Counts) -> list:
        out = []
        for name in names:
            key = fold(" ".join(name.split()))[:40]
            tag = self.by_key.get(key)
            if tag is None:
                tag = self._create(name, counts)
                self.by_key[key] = tag
            if tag.active and tag.pk not in out:
                out.append(tag.pk)
        return out

    def name(self, tag_id) -> str:
        return next((t.name for t in self.by_key.values() if t.pk == tag_id), "")

    def _create(self, name: str, counts: _Counts) -> Tag:
        try:
            with transaction.atomic():
                tag = Tag.objects.create(reseller_id=self.reseller_id, name=name[:40])
            counts.tags_created.append(tag.name)
            return tag
        except IntegrityError:
            return Tag.objects.get(reseller_id=self.reseller_id, name_key=fold(" ".join(name.split()))[:40])


def _batch(lines: list[dict], *, reseller_id, by, tags: _Tags, counts: _Counts) -> None:
    owners = number_owners(reseller_id, [ln["phone"] for ln in lines])
    new: list[dict] = []
    # The search terms of the contacts the batch changed, stored together once they are all written.
    reindex: dict[Any, set[str]] = {}
    for ln in lines:
        found = owners.get(ln["phone"])
        if found:
            _update(client_most_recent(found), ln, by=by, tags=tags, counts=counts, reindex=reindex)
        else:
            new.append(ln)
    for ln in _insert(new, reseller_id=reseller_id, by=by, tags=tags, counts=counts):
        # Added meanwhile by someone else (a person, the client's first message): updated instead.
        found = number_owners(reseller_id, [ln["phone"]]).get(ln["phone"])
        if found:
            _update(client_most_recent(found), ln, by=by, tags=tags, counts=counts, reindex=reindex)
        else:
            counts.refused.append([ln["line"], _("não foi possível gravar o contato; importe o arquivo de novo")])
    terms_store_many(ClientTerm, owner="client_id", reseller_id=reseller_id, terms=reindex)


def _insert(lines: list[dict], *, reseller_id, by, tags: _Tags, counts: _Counts) -> list[dict]:
    """Add the batch's new contacts with their terms, tags and history. Returns the lines whose number was
    taken meanwhile (to be updated instead)."""
    if not lines:
        return []
    clients = [
        Client(
            reseller_id=reseller_id,
            identity=ln["phone"],
            phone=ln["phone"],
            name_set_by_agent=True,
            custom_fields=ln["custom"],
            **ln["values"],
        )
        for ln in lines
    ]
    taken: list[dict] = []
    try:
        with transaction.atomic():
            Client.objects.bulk_create(clients)
        stored = list(zip(lines, clients, strict=True))
    except IntegrityError:
        stored = []
        for ln, client in zip(lines, clients, strict=True):
            try:
                with transaction.atomic():
                    client.save(force_insert=True)
                stored.append((ln, client))
            except IntegrityError:
                taken.append(ln)
    terms: dict[Any, set[str]] = {}
    links: list[ClientTag] = []
    history: list[ClientChange] = []
    by_id = getattr(by, "pk", by)
    for ln, client in stored:
        terms[client.pk] = client_terms(
            name=client.name, phone=client.phone, email=client.email, document=client.document
        )
        links.extend(ClientTag(client_id=client.pk, tag_id=tag_id) for tag_id in tags.ids(ln["tags"], counts))
        history.append(
            ClientChange(
                reseller_id=reseller_id,
                client_id=client.pk,
                by_id=by_id,
                source=SOURCE,
                field="created",
                new=client.name,
            )
        )
    terms_store_many(ClientTerm, owner="client_id", reseller_id=reseller_id, terms=terms)
    for model, rows in ((ClientTag, links), (ClientChange, history)):
        _bulk(model, rows)
    counts.created += len(stored)
    return taken


def _bulk(model, rows: list) -> None:
    """Rows of brand-new contacts: nothing can be there yet, except after an interrupted run of this same
    batch (SQL databases skip those; on MongoDB a batch's contacts are new, and so are their rows)."""
    if rows:
        ignore = bool(db_connection.features.supports_ignore_conflicts)
        with transaction.atomic():
            model.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=ignore)


def _update(client: Client, ln: dict, *, by, tags: _Tags, counts: _Counts, reindex: dict[Any, set[str]]) -> None:
    """A known number: its non-empty cells change the contact (one conditional write), its tags are added.
    The terms it is then found by go into `reindex` (the batch stores them: accounts.services.terms_store_many)."""
    changed = False
    for _attempt in range(3):
        write, history = contact_changes(client, Cleaned(values=dict(ln["values"]), custom=dict(ln["custom"])))
        if not write:
            break
        condition = {name: getattr(client, name) for name in ("name", "email", "document", "notes") if name in write}
        won = Client.objects.filter(pk=client.pk, updated_at=client.updated_at, **condition).update(
            **write, updated_at=stamp_after(client.updated_at)
        )
        if won == 1:
            for name, value in write.items():
                setattr(client, name, value)
            client_change_record(client, by=by, source=SOURCE, changes=history)
            reindex.setdefault(client.pk, set()).update(client_terms_of(client))
            changed = True
            break
        fresh = Client.objects.filter(pk=client.pk).first()
        if fresh is None:
            break
        client = fresh
    else:
        counts.refused.append([ln["line"], _("o contato mudou durante a importação; importe o arquivo de novo")])
        return
    added = [
        tag_id
        for tag_id in tags.ids(ln["tags"], counts)
        if link_set(ClientTag, client_id=client.pk, tag_id=tag_id, on=True)
    ]
    if added:
        names = ", ".join(sorted(tags.name(tag_id) for tag_id in added))
        client_change_record(client, by=by, source=SOURCE, changes={"tags": ("", "+ " + names)})
        changed = True
    if changed:
        counts.updated += 1
    else:
        counts.unchanged += 1
        # A run cut between a batch's contacts and their terms leaves contacts no search finds; the rerun
        # sees them unchanged, so their terms are stored here too (only the missing ones are written).
        reindex.setdefault(client.pk, set()).update(client_terms_of(client))
