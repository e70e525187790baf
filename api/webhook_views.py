"""GET, POST /api/v1/webhooks/ and PATCH /api/v1/webhooks/<uuid>/: a tenant's outgoing webhooks (contract §7).

Resellers and admins only (403 for agents and bots). The secret is in the 201 answer only, never again. The
writes are webhooks.services', as in the admin; a URL the address rules refuse is a 400 with the reason.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Reseller
from api import serializers as s
from api.common import ERRORS, checked
from tickets.reads.shapes import iso
from webhooks import services
from webhooks.models import Webhook
from webhooks.selectors import webhook_queryset_for

WEBHOOK_ERRORS = {
    **ERRORS,
    403: OpenApiResponse(s.Error, description=_("Só revendas e administradores gerenciam webhooks.")),
}


def webhook_shape(hook: Webhook) -> dict:
    return {
        "id": str(hook.pk),
        "url": hook.url,
        "events": list(hook.events or []),
        "active": hook.active,
        "paused_at": iso(hook.paused_at),
        "pause_reason": hook.pause_reason,
        "created_at": iso(hook.created_at),
    }


def _manager(user) -> None:
    if not (user.is_active and (user.is_admin or user.role == user.Role.RESELLER)):
        raise PermissionDenied(_("Só revendas e administradores gerenciam webhooks."))


def _invalid(exc: services.WebhookInvalid) -> ValidationError:
    return ValidationError({exc.field: [serializers.ErrorDetail(exc.text, code="invalid")]})


class WebhookList(APIView):
    @extend_schema(
        operation_id="webhooks_list",
        summary=_("Os webhooks da revenda"),
        responses={200: s.WebhookPage, **WEBHOOK_ERRORS},
    )
    def get(self, request):
        _manager(request.user)
        hooks = webhook_queryset_for(request.user).order_by("created_at")
        return Response({"results": [webhook_shape(h) for h in hooks]})

    @extend_schema(
        operation_id="webhooks_create",
        summary=_("Cria um webhook"),
        description=_(
            "Cada evento escolhido é entregue com POST à URL, assinado com o segredo (X-IAZE-Signature). "
            "O segredo aparece só nesta resposta."
        ),
        request=s.WebhookCreate,
        responses={201: s.WebhookCreated, **WEBHOOK_ERRORS},
    )
    def post(self, request):
        _manager(request.user)
        body = checked(s.WebhookCreate, request.data)
        reseller_id = request.user.reseller_id
        if reseller_id is None:  # an installation admin names the tenant
            reseller_id = body.get("reseller")
            if reseller_id is None or not Reseller.objects.filter(pk=reseller_id).exists():
                raise ValidationError(
                    {"reseller": [serializers.ErrorDetail(_("Informe uma revenda existente."), code="required")]}
                )
        try:
            hook, secret = services.webhook_create(
                reseller=reseller_id,
                url=body["url"],
                events=body["events"],
                secret=body.get("secret", ""),
                by=request.user,
            )
        except services.WebhookInvalid as exc:
            raise _invalid(exc) from None
        return Response({**webhook_shape(hook), "secret": secret}, status=status.HTTP_201_CREATED)


class WebhookDetail(APIView):
    @extend_schema(
        operation_id="webhooks_update",
        summary=_("Altera um webhook"),
        description=_('`{"active": false}` desliga: os eventos deixam de ser registrados até ser ligado de novo.'),
        request=s.WebhookUpdate,
        responses={200: s.WebhookOut, **WEBHOOK_ERRORS},
    )
    def patch(self, request, pk):
        _manager(request.user)
        hook = webhook_queryset_for(request.user).filter(pk=pk).first()
        if hook is None:
            raise Http404(_("Webhook não encontrado."))
        body = checked(s.WebhookUpdate, request.data)
        try:
            hook = services.webhook_update(
                hook, url=body.get("url"), events=body.get("events"), active=body.get("active")
            )
        except services.WebhookInvalid as exc:
            raise _invalid(exc) from None
        return Response(webhook_shape(hook))
