from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Contas"

    def ready(self):
        # Registers the admin scope of this app's models (accounts.selectors.scope_register).
        from . import selectors  # noqa: F401
