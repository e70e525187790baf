from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = "Atendimentos"

    def ready(self):
        # Registers the admin scope of this app's models (accounts.selectors.scope_register).
        from tickets.reads import selectors  # noqa: F401
