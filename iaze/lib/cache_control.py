"""Cache-Control for what a logged-in user sees: never kept by a shared cache, exports never kept at all.

A page behind the login (the inbox, a conversation, the admin) is `private, no-cache`: a proxy or a
shared cache never stores it and the browser asks again before reusing it. A view that sets its own
header keeps it (the authorised media view's `private, max-age=86400`, Django's `never_cache`).

Exports (the reports' CSV files, a client's LGPD ZIP) are `private, no-store` whoever answered them:
a browser keeps no copy of a file full of conversations on disk.
"""

from __future__ import annotations

from django.conf import settings

PRIVATE = "private, no-cache"
EXPORT = "private, no-store"
EXPORT_TYPES = ("text/csv", "application/zip")


class PrivateCacheControlMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        content_type = response.get("Content-Type", "").split(";", 1)[0].strip().lower()
        if content_type in EXPORT_TYPES:
            if "no-store" not in response.get("Cache-Control", ""):
                response["Cache-Control"] = EXPORT
        elif "Cache-Control" not in response and _authenticated(request):
            response["Cache-Control"] = PRIVATE
        return response


def _authenticated(request) -> bool:
    # Without a session cookie nobody is logged in: the session is not even read (an anonymous answer,
    # a webhook, gets no `Vary: Cookie` from this check).
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return False
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated)
