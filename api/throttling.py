"""Requests per token (API_RATE_LIMIT, e.g. "600/min"): 429 with Retry-After past it.

The counts live in the `throttle` cache: a file cache under DATA_DIR that every worker process of the
machine shares, whatever the database profile (the login throttle's own). Installations with more than
one app server count per machine: see docs/api.md.
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import caches
from rest_framework.throttling import SimpleRateThrottle


class TokenRateThrottle(SimpleRateThrottle):
    scope = "token"

    @property
    def cache(self):  # read per request: the setting may change (tests give each test its own cache)
        return caches["throttle"]

    def get_rate(self):
        return getattr(settings, "API_RATE_LIMIT", "600/min") or None

    def get_cache_key(self, request, view):
        token = request.auth
        if token is None:
            return None  # anonymous requests are refused before any work, except the schema
        return f"api-rate:{token.pk}"
