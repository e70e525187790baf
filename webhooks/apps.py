from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = _("Webhooks de saída")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Registers the admin scope of this app's models (accounts.selectors.scope_register).
        from webhooks import selectors  # noqa: F401
