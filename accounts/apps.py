from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in

from iaze.lib import clock


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Contas"

    def ready(self):
        # Registers the admin scope of this app's models (accounts.selectors.scope_register).
        from accounts import selectors  # noqa: F401

        # Django's own handler stamps timezone.now(); IAZE writes milliseconds (iaze.lib.clock).
        user_logged_in.disconnect(dispatch_uid="update_last_login")
        user_logged_in.connect(update_last_login, dispatch_uid="update_last_login")


def update_last_login(sender, user, **kwargs):
    user.last_login = clock.now()
    user.save(update_fields=["last_login"])
