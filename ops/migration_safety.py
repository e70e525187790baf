"""Migration safety: no migration of ours may drop or silently shrink protected data.

Every migration of the project apps is loaded and each operation judged
against the model state just before it. A migration that really must do one
of these things declares why on its class, and is then reported but allowed:

    class Migration(migrations.Migration):
        reviewed_data_loss = "Message.legacy_flag was never written; checked on production 2026-05-01"

Decisions:
- DeleteModel, RemoveField: data loss.
- RenameModel, RenameField, AlterModelTable: the table/column names are a
  contract operators query (and MongoDB collections are renamed): a break.
- AlterField: loses data when the type changes (except known widenings), a
  max_length / max_digits / decimal_places shrinks, null→not-null without a
  default, the primary key changes, or on_delete becomes CASCADE.
- A ForeignKey added with on_delete=CASCADE to a project model: a delete of the
  parent would silently take protected rows with it.
- RemoveConstraint of a UniqueConstraint: loses no row, but the exactly-once
  guarantees (webhook journal, provider message ids, reply nonces) rest on
  them, so it needs a replacement on the same fields in the same migration.
  Removing a CheckConstraint or an index is fine.
- RunSQL with DROP/TRUNCATE/DELETE, RunPython whose code deletes: data loss.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass

from django.db import migrations, models
from django.db.migrations.loader import MigrationLoader

from ops.protected import PROJECT_APPS

# (old internal type, new internal type) pairs that keep every value.
SAFE_WIDENINGS = {
    ("CharField", "TextField"),
    ("SlugField", "CharField"),
    ("SlugField", "TextField"),
    ("EmailField", "CharField"),
    ("EmailField", "TextField"),
    ("URLField", "CharField"),
    ("URLField", "TextField"),
    ("SmallIntegerField", "IntegerField"),
    ("SmallIntegerField", "BigIntegerField"),
    ("IntegerField", "BigIntegerField"),
    ("PositiveSmallIntegerField", "PositiveIntegerField"),
    ("PositiveSmallIntegerField", "PositiveBigIntegerField"),
    ("PositiveIntegerField", "PositiveBigIntegerField"),
    ("PositiveIntegerField", "BigIntegerField"),
    ("PositiveSmallIntegerField", "IntegerField"),
    ("DateField", "DateTimeField"),
}
_DESTRUCTIVE_SQL = re.compile(
    r"\b(DROP\s+(TABLE|COLUMN|SCHEMA|DATABASE)|TRUNCATE|DELETE\s+FROM|ALTER\s+TABLE\s+\S+\s+"
    r"RENAME)\b",
    re.IGNORECASE,
)
_DESTRUCTIVE_CODE = re.compile(
    r"\.delete\(|delete_many|delete_one|drop_collection|\.drop\(|TRUNCATE|DROP\s+TABLE", re.IGNORECASE
)


@dataclass(frozen=True)
class Problem:
    migration: str
    operation: str
    reason: str
    reviewed: str = ""

    def __str__(self):
        tag = f" [reviewed: {self.reviewed}]" if self.reviewed else ""
        return f"{self.migration}: {self.operation}: {self.reason}{tag}"


def _field_problems(old: models.Field, new: models.Field) -> list[str]:
    out = []
    old_type, new_type = old.get_internal_type(), new.get_internal_type()
    if old_type != new_type and (old_type, new_type) not in SAFE_WIDENINGS:
        out.append(f"changes the type {old_type} → {new_type}")
    for attr in ("max_length", "max_digits", "decimal_places"):
        before, after = getattr(old, attr, None), getattr(new, attr, None)
        if before is not None and (after is not None and after < before):
            out.append(f"shrinks {attr} {before} → {after}")
        elif before is None and after is not None and attr == "max_length" and old_type == new_type:
            out.append(f"limits {attr} to {after}")
    if old.null and not new.null and not new.has_default():
        out.append("makes a nullable column NOT NULL without a default")
    if old.primary_key != new.primary_key:
        out.append("changes the primary key")
    if (
        new.is_relation
        and getattr(new.remote_field, "on_delete", None) is models.CASCADE
        and not (old.is_relation and old.remote_field.on_delete is models.CASCADE)
    ):
        out.append("makes on_delete CASCADE (a delete would take protected rows with it)")
    if old.db_column != new.db_column:
        out.append("renames the column")
    return out


def _cascades_into_project(field: models.Field, app_label: str) -> bool:
    if not field.is_relation or getattr(field.remote_field, "on_delete", None) is not models.CASCADE:
        return False
    target = field.remote_field.model
    label = target if isinstance(target, str) else target._meta.label
    target_app = label.split(".")[0] if "." in label else app_label
    return target_app in PROJECT_APPS or label == "AUTH_USER_MODEL" or label.endswith(".User")


def _unique_fields(constraint) -> tuple:
    return tuple(sorted(getattr(constraint, "fields", ()) or ()))


def operation_problems(op, app_label: str, state, sibling_ops=()) -> list[str]:
    """What is wrong with one operation, given the project state just before it."""
    if isinstance(op, migrations.SeparateDatabaseAndState):
        return [
            p
            for inner in op.database_operations
            for p in operation_problems(inner, app_label, state, op.database_operations)
        ]
    if isinstance(op, migrations.DeleteModel):
        return [f"drops the model {op.name} and every row in it"]
    if isinstance(op, migrations.RemoveField):
        return [f"drops the field {op.model_name}.{op.name} and its data"]
    if isinstance(op, migrations.RenameModel):
        return [f"renames the model {op.old_name} → {op.new_name} (table/collection names are a contract)"]
    if isinstance(op, migrations.RenameField):
        return [f"renames the field {op.model_name}.{op.old_name} → {op.new_name} (column names are a contract)"]
    if isinstance(op, migrations.AlterModelTable):
        return [f"renames the table of {op.name} to {op.table!r} (table/collection names are a contract)"]
    if isinstance(op, migrations.AlterField):
        model_state = state.models.get((app_label, op.model_name_lower))
        if model_state is None or op.name not in model_state.fields:
            return []
        old = model_state.fields[op.name]
        return [f"{op.model_name}.{op.name} {why}" for why in _field_problems(old, op.field)]
    if isinstance(op, migrations.AddField) and _cascades_into_project(op.field, app_label):
        return [f"adds {op.model_name}.{op.name} with on_delete=CASCADE to a protected model"]
    if isinstance(op, migrations.CreateModel):
        return [
            f"creates {op.name}.{name} with on_delete=CASCADE to a protected model"
            for name, field in op.fields
            if _cascades_into_project(field, app_label)
        ]
    if isinstance(op, migrations.RemoveConstraint):
        model_state = state.models.get((app_label, op.model_name_lower))
        old = next(
            (c for c in (model_state.options.get("constraints", []) if model_state else []) if c.name == op.name), None
        )
        if isinstance(old, models.UniqueConstraint):
            replaced = any(
                isinstance(o, migrations.AddConstraint)
                and o.model_name_lower == op.model_name_lower
                and isinstance(o.constraint, models.UniqueConstraint)
                and _unique_fields(o.constraint) == _unique_fields(old)
                for o in sibling_ops
            )
            if not replaced:
                return [f"removes the unique constraint {op.name} that exactly-once delivery relies on"]
        return []
    if isinstance(op, migrations.RunSQL):
        sql = op.sql if isinstance(op.sql, str) else " ".join(str(s) for s in op.sql)
        if _DESTRUCTIVE_SQL.search(sql):
            return [f"runs destructive SQL: {_DESTRUCTIVE_SQL.search(sql).group(0)!r}"]
        return []
    if isinstance(op, migrations.RunPython):
        try:
            source = inspect.getsource(op.code)
        except (OSError, TypeError):
            return ["runs Python whose source cannot be inspected"]
        hit = _DESTRUCTIVE_CODE.search(source)
        return [f"runs Python that deletes ({hit.group(0)!r})"] if hit else []
    return []


def migration_problems(migration, state) -> list[Problem]:
    """Judge one migration, applying its operations to a copy of `state` as it goes."""
    reviewed = str(getattr(migration, "reviewed_data_loss", "") or "").strip()
    label = f"{migration.app_label}.{migration.name}"
    state = state.clone()
    problems = []
    for op in migration.operations:
        for reason in operation_problems(op, migration.app_label, state, migration.operations):
            problems.append(Problem(label, op.describe(), reason, reviewed))
        op.state_forwards(migration.app_label, state)
    return problems


def project_problems(loader: MigrationLoader | None = None, apps=PROJECT_APPS) -> list[Problem]:
    """Every migration on disk of the project apps, each judged against the state just before it."""
    loader = loader or MigrationLoader(None, ignore_no_migrations=True)
    problems = []
    for key in sorted(k for k in loader.disk_migrations if k[0] in apps):
        before = loader.project_state(key, at_end=False)
        problems.extend(migration_problems(loader.graph.nodes[key], before))
    return problems


def blocking(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if not p.reviewed]
