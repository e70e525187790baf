"""Branding of the logged-in user's tenant, for every template (`branding.display_name`, `.primary_color`)."""

import re

from django.utils.functional import SimpleLazyObject

from accounts.models import ResellerConfig

DEFAULT_NAME = "IAZE"
DEFAULT_COLOR = "#0f766e"
# The colour lands inside a style attribute: anything but #RRGGBB could inject CSS.
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


def _branding_for(user) -> dict:
    branding = {"display_name": DEFAULT_NAME, "primary_color": DEFAULT_COLOR}
    if not getattr(user, "is_authenticated", False) or not getattr(user, "reseller_id", None):
        return branding
    config = ResellerConfig.objects.filter(reseller_id=user.reseller_id).select_related("reseller").first()
    if config is None:
        return branding
    branding["display_name"] = config.display_name or config.reseller.name or DEFAULT_NAME
    if _HEX.match(config.primary_color or ""):
        branding["primary_color"] = config.primary_color
    return branding


def branding(request):
    # Lazy: pages that never print the brand (the webhook, healthz) pay no query.
    return {"branding": SimpleLazyObject(lambda: _branding_for(getattr(request, "user", None)))}
