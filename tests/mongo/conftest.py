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
    with django_db_blocker.unblock(), fakes.migrated(connection) as db:
        yield db
