"""Django's flush, refused on any database that is not a test database (nothing is deleted in IAZE)."""

from django.core.management.base import CommandError
from django.core.management.commands.flush import Command as DjangoFlush
from django.db import connections

from ops.guards import is_test_database


class Command(DjangoFlush):
    help = "Empties a TEST database. Refuses to run on any other database: IAZE never deletes data."

    def handle(self, **options):
        alias = options["database"]
        if not is_test_database(alias):
            raise CommandError(
                f"Refusing to flush database {connections[alias].settings_dict.get('NAME')!r}: "
                "it is not a test database, and IAZE never deletes conversations."
            )
        return super().handle(**options)
