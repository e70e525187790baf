from django.apps import AppConfig


class WhatsappConfig(AppConfig):
    name = "whatsapp"
    verbose_name = "WhatsApp"

    def ready(self):
        # Registers the admin scope of this app's models (accounts.selectors.scope_register).
        from . import selectors  # noqa: F401
