"""The mongodb lane's narrowed flush between tests (tests/support/flush_written.py) sees what it must.

Each test ends with `written.all()`: what it took from the listener would otherwise be missing from its own
teardown's flush.
"""

import os
import subprocess
import sys

import pytest
from django.db import connection
from pymongo.errors import PyMongoError

from accounts.models import Tag
from tests import factories as f
from tests.support.flush_written import written

pytestmark = [
    pytest.mark.mongodb,
    pytest.mark.django_db,
    pytest.mark.skipif(os.environ.get("IAZE_FLUSH_ALL") == "1", reason="by design: IAZE_FLUSH_ALL=1 turns it off"),
]


@pytest.fixture
def listener(tenant):
    written.take(connection.database.name)  # what the fixtures wrote
    yield written
    written.all()


def test_a_write_names_its_collection_and_only_it(listener, tenant):
    Tag.objects.create(reseller=tenant.reseller, name="VIP")
    assert listener.take(connection.database.name) == {Tag._meta.db_table}
    assert listener.take(connection.database.name) == set()  # taken once
    Tag.objects.filter(name="VIP").update(name="Ouro")
    assert listener.take(connection.database.name) == {Tag._meta.db_table}


def test_a_write_from_another_thread_is_seen(listener, tenant):
    import threading

    thread = threading.Thread(target=lambda: f.make_department(tenant.reseller, "Compras"))
    thread.start()
    thread.join()
    assert "departments" in listener.take(connection.database.name)


def test_a_live_child_process_makes_every_flush_whole(listener):
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        assert listener.take(connection.database.name) is None
        assert listener.take(connection.database.name) is None  # still alive: still whole
    finally:
        child.stdin.close()
        child.wait(30)
    assert listener.take(connection.database.name) is None  # the flush after it ended is whole too
    assert listener.take(connection.database.name) == set()


def test_a_command_not_known_to_be_harmless_makes_the_flush_whole(listener):
    try:
        connection.database.command("iazeNoSuchCommand")
    except PyMongoError:
        pass  # the listener saw it start, whatever the server answered
    assert listener.take(connection.database.name) is None


def test_an_aggregation_that_writes_makes_the_flush_whole(listener, tenant):
    Tag.objects.create(reseller=tenant.reseller, name="VIP")
    listener.take(connection.database.name)
    try:
        list(connection.database[Tag._meta.db_table].aggregate([{"$match": {}}, {"$out": "iaze_flush_probe"}]))
    except PyMongoError:
        pass
    assert listener.take(connection.database.name) is None
