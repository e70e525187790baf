from tests.admin.world import world  # noqa: F401 - the shared two-tenant fixture
