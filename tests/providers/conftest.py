"""The live connections of the channel tests, for the adapter tests that send to the fake provider."""

from tests.whatsapp.conftest import evo_live, meta_live  # noqa: F401 - fixtures shared with tests/whatsapp
