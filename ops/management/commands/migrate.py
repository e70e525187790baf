"""Django's migrate, refusing to unapply any migration outside a test database.

Reversing `tickets` to `zero` drops tickets, messages and events: on a live database that is
exactly the loss IAZE promises never happens. The same holds for Django's own apps: `admin zero` drops
the admin's history (django_admin_log), `sessions zero` every open session, `auth zero` and
`contenttypes zero` take the project apps with them. So no migration of any app is unapplied on a
database that is not a test database; forward migrations run as usual.
"""

from django.core.management.base import CommandError
from django.core.management.commands.migrate import Command as DjangoMigrate
from django.db import connections
from django.db.migrations.exceptions import AmbiguityError
from django.db.migrations.executor import MigrationExecutor

from ops.guards import is_test_database


class Command(DjangoMigrate):
    def handle(self, *args, **options):
        app_label, target = options.get("app_label"), options.get("migration_name")
        alias = options["database"]
        if app_label and target and not is_test_database(alias):
            executor = MigrationExecutor(connections[alias])
            try:
                name = None if target == "zero" else executor.loader.get_migration_by_prefix(app_label, target).name
            except (AmbiguityError, KeyError):
                return super().handle(*args, **options)  # Django's own answer to an unknown or ambiguous name
            plan = executor.migration_plan([(app_label, name)])
            reversed_ = sorted({f"{m.app_label}.{m.name}" for m, backwards in plan if backwards})
            if reversed_:
                raise CommandError(
                    "Refusing to unapply migrations of protected data on a database that is not a test database "
                    f"({', '.join(reversed_)}): unapplying drops tables or columns, and IAZE never drops tickets, "
                    "messages, their history, the admin's log or open sessions."
                )
        return super().handle(*args, **options)
