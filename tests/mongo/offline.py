"""Run `makemigrations` under the MongoDB profile without a MongoDB server.

`makemigrations` checks the *applied* migration history against the database
before it writes anything. That check is the only part of the command that
needs a server; the autodetector works from the models and the migration files
alone. Django swallows an OperationalError there, but pymongo raises
ServerSelectionTimeoutError, so we skip just that check, nothing else.

Generate the contrib apps' MongoDB migrations (mongo_migrations/) with:

    MONGO_URL='mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=200' \
        .venv/bin/python -m tests.mongo.offline admin auth contenttypes
"""

import os
import sys
from unittest import mock


def call_makemigrations(*args, **options):
    from django.core.management import call_command
    from django.db.migrations.loader import MigrationLoader

    with mock.patch.object(MigrationLoader, "check_consistent_history", autospec=True):
        return call_command("makemigrations", *args, **options)


def main(argv):
    if not os.environ.get("MONGO_URL"):
        sys.exit("set MONGO_URL (any address; no server is contacted) to select the MongoDB profile")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iaze.settings")
    import django

    django.setup()
    call_makemigrations(*argv)


if __name__ == "__main__":
    main(sys.argv[1:])
