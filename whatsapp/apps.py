from django.apps import AppConfig


class WhatsappConfig(AppConfig):
    name = "whatsapp"
    verbose_name = "WhatsApp"

    def ready(self):
        # Registers the admin scope of this app's models (accounts.selectors.scope_register).
        from tickets.signals import message_sent
        from whatsapp import selectors  # noqa: F401
        from whatsapp.health import on_message_sent

        message_sent.connect(on_message_sent, dispatch_uid="whatsapp.health.last_send")
