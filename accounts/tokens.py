"""API tokens: made, checked and revoked here, and nowhere else.

A token is `iaze_` followed by 43 URL-safe characters (32 random bytes). Only its SHA-256 is stored (a
unique index: the lookup is one indexed read, and a database copy holds no usable key), with its first
characters to tell tokens apart in lists. It acts as its user, so it can do exactly what that user can.

An integration token (a chatbot, an ERP) is not a person's: it gets a user of its own with role `bot`, in
the tenant it is made for, without a password (it cannot log in to the pages). Deactivating that user,
like revoking the token, shuts the integration out at once.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.db.models import Q
from django.http import JsonResponse
from django.utils.translation import gettext as _

from accounts.models import ApiToken, Reseller, User
from iaze.lib import clock

PREFIX = "iaze_"
# Characters of the token kept in clear to tell tokens apart ("iaze_" and 7 more): 42 bits, no help to a guess.
SHOWN = 12
# last_used_at is written at most this often per token: a busy integration is not a write per request.
TOUCH_EVERY = timedelta(minutes=1)
_MAX_LENGTH = 200


class TokenRejected(ValueError):
    """The token cannot be made as asked (an inactive user, a bot given a personal token…)."""


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _new_secret() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def token_create(*, user: User, name: str, created_by: User | None = None) -> tuple[ApiToken, str]:
    """A personal token of `user`. Returns (token, secret): the secret exists only in this return value."""
    if not user.is_active:
        raise TokenRejected(_("O usuário está inativo."))
    if user.is_bot:
        raise TokenRejected(_("Um usuário de integração recebe tokens só pela criação da integração."))
    return _store(user=user, name=name, kind=ApiToken.Kind.PERSON, created_by=created_by)


def integration_token_create(*, reseller: Reseller, name: str, created_by: User | None = None) -> tuple[ApiToken, str]:
    """An integration token of a tenant, with its own user (role bot, named after the integration)."""
    if not reseller.active:
        raise TokenRejected(_("A revenda está inativa."))
    name = " ".join((name or "").split())[:100] or _("Integração")
    with transaction.atomic():  # one commit on SQL; elsewhere a crash leaves a bot user without a token, harmless
        bot = User(
            email=f"bot-{uuid.uuid4().hex[:12]}@{reseller.slug}.integracao.invalid",
            name=name,
            role=User.Role.BOT,
            reseller=reseller,
            is_staff=False,
            is_superuser=False,
        )
        bot.set_unusable_password()
        bot.save()
        return _store(user=bot, name=name, kind=ApiToken.Kind.INTEGRATION, created_by=created_by)


def _store(*, user: User, name: str, kind: str, created_by: User | None) -> tuple[ApiToken, str]:
    raw = _new_secret()
    token = ApiToken.objects.create(
        user=user,
        reseller_id=user.reseller_id,
        name=" ".join((name or "").split())[:100] or _("Token"),
        kind=kind,
        secret_hash=_digest(raw),
        prefix=raw[:SHOWN],
        created_by=created_by,
    )
    return token, raw


def token_revoke(*, token: ApiToken) -> bool:
    """Revoke once: one conditional write. False when it was revoked already (nothing changes)."""
    now = clock.now()
    done = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now, updated_at=now) == 1
    if done:
        token.revoked_at = now
    return done


def token_authenticate(raw: str) -> ApiToken | None:
    """The live token behind a secret, its user read with it; None for anything that does not open the API:
    an unknown or malformed secret, a revoked token, an inactive user or tenant."""
    raw = (raw or "").strip()
    if not raw.startswith(PREFIX) or len(raw) > _MAX_LENGTH:
        return None
    token = ApiToken.objects.filter(secret_hash=_digest(raw)).select_related("user__reseller").first()
    if token is None or token.revoked_at is not None:
        return None
    user = token.user
    if not user.is_active or (user.reseller_id is not None and not user.reseller.active):
        return None
    _touch(token)
    return token


def _touch(token: ApiToken) -> None:
    """Stamp the last use, at most once per TOUCH_EVERY: skipped without a write when the stamp is recent, and
    conditional on the stamp read, so concurrent requests write it once."""
    now = clock.now()
    if token.last_used_at is not None and now - token.last_used_at < TOUCH_EVERY:
        return
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - TOUCH_EVERY)
    if ApiToken.objects.filter(stale, pk=token.pk).update(last_used_at=now) == 1:
        token.last_used_at = now


def bearer_secret(request) -> str | None:
    """The secret of an `Authorization: Bearer <token>` header; None when the request carries no such header."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _sep, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip()


def unauthorized(detail: str, code: str = "authentication_failed") -> JsonResponse:
    response = JsonResponse({"detail": detail, "code": code}, status=401)
    response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def login_or_token_required(view):
    """A page that also answers an API token (the media view): a Bearer header is checked, and a bad one is a
    401 in the API's error shape; without one, the session decides, with the usual redirect to the login."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        secret = bearer_secret(request)
        if secret is not None:
            token = token_authenticate(secret)
            if token is None:
                return unauthorized(_("Token inválido, revogado ou de um usuário inativo."))
            request.user = token.user
            return view(request, *args, **kwargs)
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapped
