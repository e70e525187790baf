"""Content-Security-Policy: Django 5.2 has none built in, so one small middleware sets it.

Every script IAZE serves is a file under static/ (htmx, workspace.js, the admin's own), so scripts
are `'self'` only: an injected `<script>` or inline handler never runs. Styles also allow
inline `style` attributes (the brand colour variable, htmx's indicator style).
"""

from __future__ import annotations

from django.conf import settings

DEFAULT_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        # blob: the preview of a file the agent is about to send (static/js/attach.js), made by the page itself.
        "img-src 'self' data: blob:",
        # blob: the preview of a voice note the agent has just recorded (static/js/voice.js).
        "media-src 'self' blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = getattr(settings, "CONTENT_SECURITY_POLICY", DEFAULT_POLICY)

    def __call__(self, request):
        response = self.get_response(request)
        if self.policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = self.policy
        return response
