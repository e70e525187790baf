"""Models and migrations agree on the SQL profiles too (the MongoDB lane checks its own profile)."""

import importlib
import io

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_no_missing_migrations():
    out = io.StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)  # SystemExit(1) when one is missing
    assert "No changes detected" in out.getvalue()


def test_accounts_initial_migration_depends_on_auth_first():
    # So that the custom user migrates after auth on MongoDB, whose auth migrations are our own.
    initial = importlib.import_module("accounts.migrations.0001_initial")
    assert ("auth", "__first__") in initial.Migration.dependencies
