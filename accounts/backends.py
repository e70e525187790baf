"""Authentication that also honours the tenant's switch: a deactivated reseller's users cannot log in,
and their open sessions end on the next request (ModelBackend.get_user asks the same question)."""

from django.contrib.auth.backends import ModelBackend


class TenantAwareBackend(ModelBackend):
    def user_can_authenticate(self, user):
        if not super().user_can_authenticate(user):
            return False
        reseller = getattr(user, "reseller", None) if getattr(user, "reseller_id", None) else None
        return reseller is None or reseller.active
