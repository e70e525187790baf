from tests.tickets.mongo_lane_tools import test_conversation_tools_on_mongomock  # noqa: F401
