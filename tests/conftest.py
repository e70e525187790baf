"""Settings every test runs with, and the named personas (tests/support/personas.py)."""

import uuid

import pytest

from tests.support.personas import (  # noqa: F401 - fixtures for every test
    admin_user,
    agent1,
    agent2,
    agent3,
    evo_conn,
    meta_conn,
    outsider,
    reseller_user,
    tenant,
)


@pytest.fixture(autouse=True)
def _default_language():
    """Every test starts in the installation's language: a test that activated another one (a request
    with English, a translation.activate) never leaks it into the next test of the same worker thread."""
    from django.conf import settings as django_settings
    from django.utils import translation

    translation.activate(django_settings.LANGUAGE_CODE)
    yield
    translation.activate(django_settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _fast_and_offline(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Tests that exercise delivery turn this on and point the connection at a fake provider.
    settings.WHATSAPP_SEND_INLINE = False
    # The fake providers listen on 127.0.0.1 (IAZE_ALLOW_PRIVATE_PROVIDER_HOSTS=1 in real processes).
    settings.ALLOW_PRIVATE_PROVIDER_HOSTS = True
    # Sender threads would not see a test's uncommitted rows: tests that need them say so.
    settings.WHATSAPP_OUTBOX_WORKERS = 1
    settings.WHATSAPP_JOB_WORKERS = 1  # media downloads and gap recoveries, likewise
    # A private media storage per test (iaze.lib.blobs): files of one test never satisfy another's.
    settings.STORAGES = {
        **settings.STORAGES,
        "media": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media"), "base_url": "/no-public-media-url/"},
        },
    }
    # A private API rate-limit cache per test: one test's requests never count against another's.
    settings.CACHES = {
        **settings.CACHES,
        "throttle": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"throttle-{uuid.uuid4()}",
        },
    }


@pytest.fixture
def fake():
    """A local fake WhatsApp provider (tests/fake_provider.py) for the tests that deliver replies."""
    from tests.fake_provider import FakeProvider

    with FakeProvider() as provider:
        yield provider


@pytest.fixture
def presence_quiet(monkeypatch):
    """Pages without their presence write (accounts.presence.seen): for the tests that compare a page's query
    count at 3 and 30 rows. That write is one conditional update at most every 10 s of wall time, so it would
    make the count depend on how long the test took to add rows; its own cost is tested in
    tests/tickets/test_panel.py."""
    from accounts import presence

    monkeypatch.setattr(presence, "seen", lambda user, **kwargs: False)
