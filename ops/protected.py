"""The one list of protected data, read from the app registry.

Every model of the project apps built on `iaze.lib.models.BaseModel` is protected
(never deleted, backed up, restored, counted by `persistence`), and so is every
many-to-many link table between them. Backup, restore, persistence and the flush
and migrate guards all read this list, so a new model is covered everywhere at once.
"""

from __future__ import annotations

from django.apps import apps
from django.db import models

from iaze.lib.models import BaseModel

PROJECT_APPS = ("accounts", "tickets", "whatsapp", "webhooks")

# The contract's names of the persistence counts, where they differ from the table name.
COUNT_NAMES = {"whatsapp_connections": "connections"}


def protected_models() -> list[type[models.Model]]:
    """Every protected model, parents before children (the order a restore needs)."""
    found = [m for label in PROJECT_APPS for m in apps.get_app_config(label).get_models() if issubclass(m, BaseModel)]
    ordered: list[type[models.Model]] = []

    def visit(model, trail=()):
        if model in ordered or model in trail:
            return
        for field in model._meta.concrete_fields:
            parent = field.related_model if field.is_relation else None
            if parent is not None and parent is not model and parent in found:
                visit(parent, (*trail, model))
        ordered.append(model)

    for model in sorted(found, key=lambda m: m._meta.label):
        visit(model)
    return ordered


def link_tables() -> list[tuple[type[models.Model], tuple[str, str]]]:
    """Auto-created many-to-many tables between protected models, with the two columns that identify a link."""
    links = []
    protected = protected_models()
    for model in protected:
        for field in model._meta.local_many_to_many:
            through = field.remote_field.through
            if through is not None and through._meta.auto_created and field.related_model in protected:
                links.append((through, (field.m2m_column_name(), field.m2m_reverse_name())))
    return links


def count_name(model: type[models.Model]) -> str:
    table = model._meta.db_table
    return COUNT_NAMES.get(table, table)
