from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = _("API REST")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # The OpenAPI description of the token authentication (drf-spectacular finds extensions on import).
        from api import schema  # noqa: F401
