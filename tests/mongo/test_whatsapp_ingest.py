"""The WhatsApp ingest path, collected by the mongodb-compat lane (the test lives with the channel's tests)."""

from tests.whatsapp.mongo_lane import test_media_on_mongomock, test_whatsapp_ingest_on_mongomock  # noqa: F401
