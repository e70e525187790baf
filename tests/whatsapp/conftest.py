"""Fixtures of the WhatsApp channel tests; the webhook helpers live in tests.support.webhooks."""

import pytest

from tests import factories as f
from tests.support.webhooks import (  # noqa: F401 - re-exported for tests that import them from here
    evo_sample,
    meta_sample,
    meta_status,
    meta_text,
    post_evolution,
    post_meta,
    raw_json,
    sign,
    webhook_url,
)


@pytest.fixture
def meta_live(tenant, fake):
    """A Meta connection whose sends go to the fake provider."""
    return f.make_connection(tenant.reseller, tenant.suporte, key="live-meta", api_base_url=fake.url + "/v21.0")


@pytest.fixture
def evo_live(tenant, fake):
    from whatsapp.models import Connection

    return f.make_connection(
        tenant.reseller, tenant.suporte, provider=Connection.Provider.EVOLUTION, key="live-evo", api_base_url=fake.url
    )
