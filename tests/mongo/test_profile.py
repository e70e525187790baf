"""The MongoDB profile's settings and migrations, checked without a server."""

import importlib

from django.apps import apps
from django.conf import settings
from django.db import connection

from tests.mongo.offline import call_makemigrations


def test_profile_is_mongodb_with_contract_defaults():
    db = settings.DATABASES["default"]
    assert settings.DB_PROFILE == "mongodb"
    assert db["ENGINE"] == "django_mongodb_backend"
    assert db["NAME"] == "support_chat"
    assert db["OPTIONS"]["w"] == "majority"
    assert connection.vendor == "mongodb"
    assert settings.DEFAULT_AUTO_FIELD == "django_mongodb_backend.fields.ObjectIdAutoField"
    assert "django_mongodb_backend" in settings.INSTALLED_APPS


def test_contrib_apps_use_objectid_and_mongo_migrations():
    for label in ("admin", "auth", "contenttypes"):
        config = apps.get_app_config(label)
        assert config.default_auto_field.endswith("ObjectIdAutoField"), label
        module = settings.MIGRATION_MODULES[label]
        assert module == f"mongo_migrations.{label}"
        initial = importlib.import_module(f"{module}.0001_initial")
        first_model = initial.Migration.operations[0]
        pk = dict(first_model.fields)["id"]
        assert type(pk).__name__ == "ObjectIdAutoField", label


def test_project_models_keep_uuid_primary_keys():
    for label in ("accounts", "tickets", "whatsapp"):
        for model in apps.get_app_config(label).get_models():
            if model._meta.auto_created:
                continue
            assert model._meta.pk.get_internal_type() == "UUIDField", model


def test_makemigrations_check_reports_no_changes_for_all_apps(capsys):
    # --check exits 1 (SystemExit) when any app, contrib included, lacks a migration.
    call_makemigrations("--check", "--dry-run", verbosity=1)
    assert "No changes detected" in capsys.readouterr().out


def test_makemigrations_check_would_catch_a_missing_field(capsys):
    """The check above can fail: add a field to a model and it must report the change."""
    import pytest
    from django.db import models

    from tickets.models import Ticket

    field = models.CharField(max_length=5, blank=True)
    field.contribute_to_class(Ticket, "probe_field")
    try:
        with pytest.raises(SystemExit) as exc:
            call_makemigrations("tickets", "--check", "--dry-run", verbosity=1)
        assert exc.value.code == 1
        assert "probe_field" in capsys.readouterr().out
    finally:
        Ticket._meta.local_fields.remove(field)
        Ticket._meta._expire_cache()
        delattr(Ticket, "probe_field")
        apps.clear_cache()
