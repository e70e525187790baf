"""`Authorization: Bearer <token>` for the REST API: the token acts as its user (accounts.tokens)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed

from accounts import tokens


class BearerTokenAuthentication(BaseAuthentication):
    """No header: anonymous (a 401 for every endpoint but the schema). A header with a token that is unknown,
    revoked, or of an inactive user or tenant: 401 at once, whatever the endpoint."""

    def authenticate(self, request):
        secret = tokens.bearer_secret(request)
        if secret is None:
            return None
        token = tokens.token_authenticate(secret)
        if token is None:
            raise AuthenticationFailed(_("Token inválido, revogado ou de um usuário inativo."))
        return token.user, token

    def authenticate_header(self, request):
        # Also what makes a missing token a 401 rather than a 403.
        return 'Bearer realm="api"'
