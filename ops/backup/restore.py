"""`restore DIR [--merge]`: load a portable backup into a database of any profile.

Refuses a database that already holds protected data unless merging; merging
inserts what is missing, by identity (pk), and never overwrites a row. Rows go
in through the ORM (bulk_create), so the same code writes SQLite, PostgreSQL
and MongoDB. An interrupted restore is completed by running it again with --merge.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from django.db import IntegrityError, connections, models, transaction
from django.db.migrations.executor import MigrationExecutor

from ops.backup.export import applied_migrations
from ops.backup.files import FileProblem, restore_files, verify_backup_files
from ops.backup.tables import FORMAT, FORMAT_VERSION, Table, db_digest, decode_row, protected_tables

BATCH = 500
Progress = Callable[[str, int, int | None], None]


class RestoreError(Exception):
    pass


def _quiet(table: str, done: int, total: int | None) -> None:
    pass


def read_manifest(src: Path) -> dict:
    path = Path(src) / "manifest.json"
    if not path.exists():
        raise RestoreError(f"{src} has no manifest.json: not a backup, or an unfinished one")
    manifest = json.loads(path.read_text())
    if manifest.get("format") != FORMAT:
        raise RestoreError(f"{src} is not an IAZE backup (format {manifest.get('format')!r})")
    if int(manifest.get("format_version", 0)) > FORMAT_VERSION:
        raise RestoreError(
            f"backup format {manifest['format_version']} is newer than this code understands ({FORMAT_VERSION})"
        )
    return manifest


def verify_files(src: Path, manifest: dict) -> None:
    for entry in manifest["tables"]:
        digest = hashlib.sha256()
        with (Path(src) / entry["file"]).open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        if digest.hexdigest() != entry["sha256"]:
            raise RestoreError(f"{entry['file']} does not match its checksum: the backup is damaged")


def _check_schema(alias: str, manifest: dict, tables: dict[str, Table]) -> None:
    executor = MigrationExecutor(connections[alias])
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        # An empty database (a fresh DATA_DIR, a new PostgreSQL database) gets the schema first;
        # migrations only ever add (see migration_safety), so this is safe on any database.
        from django.core.management import call_command

        call_command("migrate", database=alias, interactive=False, verbosity=0)
    known = applied_migrations(alias)
    for app, names in manifest.get("migrations", {}).items():
        newer = sorted(set(names) - set(known.get(app, [])))
        if newer:
            raise RestoreError(f"the backup comes from newer code ({app}: {', '.join(newer)}); upgrade first")
    for entry in manifest["tables"]:
        table = tables.get(entry["name"])
        if table is None:
            raise RestoreError(f"this code has no table {entry['name']!r}: restoring would drop its rows")
        unknown = sorted(set(entry["fields"]) - set(table.attnames))
        if unknown:
            raise RestoreError(f"{entry['name']}: fields {unknown} no longer exist; restoring would lose them")


def non_empty_tables(alias: str) -> dict[str, int]:
    """Protected tables holding rows; a table not created yet (an unmigrated database) is empty."""
    existing = set(connections[alias].introspection.table_names())
    counts = {t.name: t.manager(alias).count() for t in protected_tables() if t.model._meta.db_table in existing}
    return {name: n for name, n in counts.items() if n}


@contextmanager
def _keep_timestamps(tables):
    """auto_now/auto_now_add would stamp restored rows with today; a restore keeps the originals."""
    touched = []
    for table in tables:
        for field in table.fields:
            if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
                touched.append((field, field.auto_now, field.auto_now_add))
                field.auto_now = field.auto_now_add = False
    try:
        yield
    finally:
        for field, auto_now, auto_now_add in touched:
            field.auto_now, field.auto_now_add = auto_now, auto_now_add


def _identity_filter(table: Table, objs) -> models.Q:
    if not table.key:
        return models.Q(pk__in=[o.pk for o in objs])
    q = models.Q(pk__in=[])
    for obj in objs:
        q |= models.Q(**{k: getattr(obj, k) for k in table.key})
    return q


def _identity_of(table: Table, obj) -> tuple:
    return tuple(getattr(obj, k) for k in table.identity)


def _insert(table: Table, alias: str, objs: list, merge: bool) -> tuple[int, int]:
    """Insert a batch; when merging, skip what exists. Returns (inserted, conflicts)."""
    if merge:
        present = {
            tuple(v) for v in table.manager(alias).filter(_identity_filter(table, objs)).values_list(*table.identity)
        }
        objs = [o for o in objs if _identity_of(table, o) not in present]
    if not objs:
        return 0, 0
    try:
        with transaction.atomic(using=alias):
            table.manager(alias).bulk_create(objs, batch_size=BATCH)
        return len(objs), 0
    except IntegrityError:
        if not merge:
            raise
    # A merge conflict on another unique key (e.g. the same slug under a new pk):
    # keep the existing row, insert the rest one by one, and report it.
    inserted = conflicts = 0
    for obj in objs:
        if table.manager(alias).filter(_identity_filter(table, [obj])).exists():
            continue  # part of the failed batch went in (MongoDB has no rollback)
        try:
            with transaction.atomic(using=alias):
                table.manager(alias).bulk_create([obj])
            inserted += 1
        except IntegrityError:
            conflicts += 1
    return inserted, conflicts


def _rows(src: Path, entry: dict):
    with (Path(src) / entry["file"]).open("rb") as fh:
        for line in fh:
            yield json.loads(line)


def _missing(table: Table, alias: str, src: Path, entry: dict) -> int:
    missing, batch = 0, []
    for row in _rows(src, entry):
        batch.append(table.model(**decode_row(table, row)))
        if len(batch) == BATCH:
            missing += len(batch) - table.manager(alias).filter(_identity_filter(table, batch)).count()
            batch = []
    if batch:
        missing += len(batch) - table.manager(alias).filter(_identity_filter(table, batch)).count()
    return missing


def restore(src: Path, *, alias: str = "default", merge: bool = False, progress: Progress = _quiet) -> dict:
    src = Path(src)
    manifest = read_manifest(src)
    verify_files(src, manifest)
    try:
        verify_backup_files(src, manifest.get("files", []))
    except FileProblem as exc:
        raise RestoreError(str(exc)) from exc
    tables = {t.name: t for t in protected_tables()}
    # Refused before anything is written: a restore never migrates a database it then refuses.
    if not merge:
        busy = non_empty_tables(alias)
        if busy:
            listed = ", ".join(f"{name} ({n})" for name, n in busy.items())
            raise RestoreError(f"the database already holds data: {listed}. Use --merge to add what is missing.")
    _check_schema(alias, manifest, tables)
    report = {}
    # Files first: a restored row never names a file that is not there yet.
    try:
        report["media files"] = restore_files(src, manifest.get("files", []), progress)
    except FileProblem as exc:
        raise RestoreError(str(exc)) from exc
    with _keep_timestamps(tables.values()):
        for entry in manifest["tables"]:  # parents before children
            table = tables[entry["name"]]
            inserted = conflicts = done = 0
            batch = []
            for row in _rows(src, entry):
                batch.append(table.model(**decode_row(table, row)))
                if len(batch) == BATCH:
                    i, c = _insert(table, alias, batch, merge)
                    inserted, conflicts, done, batch = inserted + i, conflicts + c, done + len(batch), []
                    progress(table.name, done, entry["count"])
            if batch:
                i, c = _insert(table, alias, batch, merge)
                inserted, conflicts, done = inserted + i, conflicts + c, done + len(batch)
            progress(table.name, done, entry["count"])
            report[table.name] = {"in_backup": entry["count"], "inserted": inserted, "conflicts": conflicts}
    report["problems"] = verify_restored(src, manifest, alias=alias, merge=merge)
    return report


def verify_restored(src: Path, manifest: dict, *, alias: str, merge: bool) -> list[str]:
    """Into an empty database: every table equals the backup (count and row digest).
    Merged: every row of the backup is present (existing rows were kept as they were)."""
    tables = {t.name: t for t in protected_tables()}
    problems = []
    for entry in manifest["tables"]:
        table = tables[entry["name"]]
        if merge:
            missing = _missing(table, alias, src, entry)
            if missing:
                problems.append(f"{table.name}: {missing} of {entry['count']} rows of the backup are missing")
            continue
        digest = db_digest(table, alias)
        if digest.count != entry["count"]:
            problems.append(f"{table.name}: {digest.count} rows, the backup has {entry['count']}")
        elif digest.hexdigest() != entry["rows_digest"]:
            problems.append(f"{table.name}: the rows differ from the backup (digest mismatch)")
    return problems
