"""What a backup holds and how one row becomes portable JSON (and back).

The portable format must restore into any profile (SQLite, PostgreSQL, MongoDB),
so values are encoded by field type, never by what one driver happens to return:
UUIDs and timestamps as ISO strings, binary columns as base64, JSON as JSON.
"""

from __future__ import annotations

import base64
import datetime
import decimal
import hashlib
import json
import uuid
from dataclasses import dataclass

from django.db import models

from ops.protected import link_tables, protected_models

FORMAT = "iaze-backup"
FORMAT_VERSION = 1
_DIGEST_MOD = 2**256


@dataclass(frozen=True)
class Table:
    model: type[models.Model]
    # Fields that identify a row when the model's own pk is not portable (M2M links).
    key: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.model._meta.db_table

    @property
    def label(self) -> str:
        return self.model._meta.label

    @property
    def fields(self) -> list[models.Field]:
        return [f for f in self.model._meta.concrete_fields if f.attname not in self.skip]

    @property
    def attnames(self) -> list[str]:
        return [f.attname for f in self.fields]

    @property
    def identity(self) -> tuple[str, ...]:
        return self.key or (self.model._meta.pk.attname,)

    def manager(self, alias: str):
        return self.model._base_manager.using(alias)


def protected_tables() -> list[Table]:
    """Every protected table, parents before children (the restore order); see ops.protected."""
    tables = [Table(model) for model in protected_models()]
    # An auto-created M2M table has an integer pk that differs per database:
    # a link is identified by the two UUIDs it joins, placed after both of them.
    tables += [Table(through, key=key, skip=("id",)) for through, key in link_tables()]
    return tables


def _plain(value):
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def encode_row(table: Table, values: dict) -> dict:
    row = {}
    for field in table.fields:
        value = values[field.attname]
        if value is None:
            row[field.attname] = None
        elif isinstance(field, models.BinaryField):
            row[field.attname] = base64.b64encode(bytes(value)).decode("ascii")
        elif isinstance(field, models.JSONField):
            row[field.attname] = value
        else:
            row[field.attname] = _plain(value)
    return row


def decode_row(table: Table, row: dict) -> dict:
    """Portable JSON → keyword arguments for the model's constructor."""
    by_attname = {f.attname: f for f in table.fields}
    kwargs = {}
    for attname, value in row.items():
        field = by_attname[attname]
        if value is None or isinstance(field, models.JSONField):
            kwargs[attname] = value
        elif isinstance(field, models.BinaryField):
            kwargs[attname] = base64.b64decode(value)
        elif field.is_relation:
            kwargs[attname] = field.target_field.to_python(value)
        else:
            kwargs[attname] = field.to_python(value)
    return kwargs


def _canonical(row: dict, table: Table) -> str:
    # MongoDB keeps timestamps to the millisecond: the digest compares at that
    # precision so a backup restored into any profile verifies against itself.
    canon = dict(row)
    for field in table.fields:
        value = canon.get(field.attname)
        if isinstance(field, (models.DateTimeField, models.TimeField)) and isinstance(value, str):
            parsed = (datetime.datetime if isinstance(field, models.DateTimeField) else datetime.time).fromisoformat(
                value
            )
            parsed = parsed.replace(microsecond=parsed.microsecond // 1000 * 1000)
            if isinstance(parsed, datetime.datetime) and parsed.tzinfo is not None:
                parsed = parsed.astimezone(datetime.UTC)
            canon[field.attname] = parsed.isoformat()
    return json.dumps(canon, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def row_hash(table: Table, row: dict) -> int:
    return int.from_bytes(hashlib.sha256(_canonical(row, table).encode("utf-8")).digest(), "big")


class Digest:
    """Order-independent digest of a set of rows: databases return rows in different orders."""

    def __init__(self, table: Table):
        self.table = table
        self.total = 0
        self.count = 0

    def add(self, row: dict) -> None:
        self.total = (self.total + row_hash(self.table, row)) % _DIGEST_MOD
        self.count += 1

    def hexdigest(self) -> str:
        return f"{self.total:064x}"


def dump_line(row: dict) -> bytes:
    return (json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n").encode("utf-8")


def iter_db_rows(table: Table, alias: str, chunk_size: int = 2000):
    """Every row of a table as portable dicts, streamed."""
    qs = table.manager(alias).order_by(*table.identity).values(*table.attnames)
    for values in qs.iterator(chunk_size=chunk_size):
        yield encode_row(table, values)


def db_digest(table: Table, alias: str) -> Digest:
    digest = Digest(table)
    for row in iter_db_rows(table, alias):
        digest.add(row)
    return digest
