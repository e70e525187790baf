"""What the API's endpoint modules share: the documented error answers, the body check, the next page's
URL and the cursors (opaque to clients, and bound to the order they were made for)."""

from __future__ import annotations

import base64
import binascii

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from api import serializers as s

ERRORS = {
    400: OpenApiResponse(s.Error, description=_("Corpo ou parâmetros inválidos (o motivo em `detail`).")),
    401: OpenApiResponse(s.Error, description=_("Sem token, ou token inválido ou revogado.")),
    404: OpenApiResponse(s.Error, description=_("Fora do alcance do token.")),
    429: OpenApiResponse(s.Error, description=_("Limite de requisições do token (cabeçalho Retry-After).")),
}
ACTION_ERRORS = {
    **ERRORS,
    403: OpenApiResponse(s.Error, description=_("O usuário do token não pode fazer isto neste atendimento.")),
    409: OpenApiResponse(
        s.Error, description=_("O atendimento não está no estado necessário (`holder`: com quem está).")
    ),
}
# A retried request with the same key stores one message (the pages' form nonce).
IDEMPOTENCY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description=_("Até 60 caracteres: a mesma chave no mesmo atendimento guarda uma única mensagem."),
)


def checked(serializer_class, data):
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def page_url(request: Request, **params) -> str:
    query = request.query_params.copy()
    for name, value in params.items():
        query[name] = value
    return request.build_absolute_uri(request.path + "?" + query.urlencode())


def cursor_encode(mode: str, raw: str) -> str:
    return base64.urlsafe_b64encode(f"{mode}:{raw}".encode()).decode().rstrip("=")


def cursor_decode(mode: str, cursor: str) -> str:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    found, _sep, raw = text.partition(":")
    if found != mode or not raw:
        raise ValidationError(
            {"cursor": [serializers.ErrorDetail(_("Cursor inválido para esta consulta."), code="invalid_cursor")]}
        )
    return raw
