"""Authentication that also honours the tenant's switch: a deactivated reseller's users cannot log in,
and their open sessions end on the next request (ModelBackend.get_user asks the same question)."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class TenantAwareBackend(ModelBackend):
    def user_can_authenticate(self, user):
        if not super().user_can_authenticate(user):
            return False
        reseller = getattr(user, "reseller", None) if getattr(user, "reseller_id", None) else None
        return reseller is None or reseller.active

    def get_user(self, user_id):
        """The session's user read fresh on every request, with its reseller in the same read: the
        tenant's switch is checked here and the pages print the tenant, so it is read anyway."""
        user_model = get_user_model()
        try:
            user = user_model._default_manager.select_related("reseller").get(pk=user_id)
        except user_model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
