"""The supervisors' banner: connections of their tenant that are not open or have gone silent."""

from django.utils.functional import SimpleLazyObject

from whatsapp.health import connection_alerts_for


def connection_alerts(request):
    # Lazy: only pages that print the banner (base.html, for a logged-in user) pay the query.
    return {"connection_alerts": SimpleLazyObject(lambda: connection_alerts_for(getattr(request, "user", None)))}
