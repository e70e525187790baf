from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate


class OpsConfig(AppConfig):
    name = "ops"
    verbose_name = "Operação"

    def ready(self) -> None:
        from django.conf import settings

        from iaze.lib import sqlite_stats
        from iaze.lib.mongo_indexes import after_migrate

        if settings.DB_PROFILE == "mongodb":
            from iaze.lib import mongo_match

            mongo_match.install()

        post_migrate.connect(after_migrate, dispatch_uid="iaze.mongo_plain_twins")
        # The embedded database's planner statistics (SQLite has no autovacuum): see iaze.lib.sqlite_stats.
        connection_created.connect(sqlite_stats.on_connection_created, dispatch_uid="iaze.sqlite_optimize")
