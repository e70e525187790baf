"""Django's migrate, refusing to unapply migrations of the protected apps outside a test database.

Reversing `tickets` to `zero` drops tickets, messages and events: on a live database that is
exactly the loss IAZE promises never happens. Forward migrations run as usual.
"""

from django.core.management.base import CommandError
from django.core.management.commands.migrate import Command as DjangoMigrate
from django.db import connections
from django.db.migrations.executor import MigrationExecutor

from ops.guards import is_test_database
from ops.protected import PROJECT_APPS


class Command(DjangoMigrate):
    def handle(self, *args, **options):
        app_label, target = options.get("app_label"), options.get("migration_name")
        alias = options["database"]
        if app_label and target and not is_test_database(alias):
            executor = MigrationExecutor(connections[alias])
            name = None if target == "zero" else executor.loader.get_migration_by_prefix(app_label, target).name
            plan = executor.migration_plan([(app_label, name)])
            reversed_ = sorted(
                {f"{m.app_label}.{m.name}" for m, backwards in plan if backwards and m.app_label in PROJECT_APPS}
            )
            if reversed_:
                raise CommandError(
                    "Refusing to unapply migrations of protected data on a database that is not a test database "
                    f"({', '.join(reversed_)}): IAZE never drops tickets, messages or their history."
                )
        return super().handle(*args, **options)
