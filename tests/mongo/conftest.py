"""The mongodb-compat lane runs with MONGO_URL pointing at a closed port: no test may need a server."""

import pytest
from django.conf import settings
from django.db import connection

from tests.mongo import fakes


@pytest.fixture(autouse=True)
def _mongodb_profile():
    if settings.DB_PROFILE != "mongodb":
        pytest.fail("tests/mongo needs the MongoDB profile: run `make test-mongodb-compat`")


@pytest.fixture
def recorder(django_db_blocker):
    with django_db_blocker.unblock(), fakes.recording(connection) as rec:
        yield rec


@pytest.fixture
def mongomock_db(django_db_blocker):
    """A migrated in-process mongomock database behind the real backend."""
    from django.core.management import call_command
    from django.db.models.signals import post_migrate

    with django_db_blocker.unblock(), fakes.mongomock_backend(connection) as db:
        # auth's post-migrate handler reads permissions with a join ($lookup with a
        # sub-pipeline), which mongomock does not implement; the permissions are
        # not part of what this lane checks.
        uid = "django.contrib.auth.management.create_permissions"
        from django.contrib.auth.management import create_permissions

        post_migrate.disconnect(dispatch_uid=uid)
        try:
            call_command("migrate", verbosity=0, interactive=False)
        finally:
            post_migrate.connect(create_permissions, dispatch_uid=uid)
        yield db
