from django.apps import AppConfig
from django.db.models.signals import post_migrate


class OpsConfig(AppConfig):
    name = "ops"
    verbose_name = "Operação"

    def ready(self) -> None:
        from django.conf import settings

        from iaze.lib.mongo_indexes import after_migrate

        if settings.DB_PROFILE == "mongodb":
            from iaze.lib import mongo_match

            mongo_match.install()

        post_migrate.connect(after_migrate, dispatch_uid="iaze.mongo_plain_twins")
