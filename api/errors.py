"""Every error of the API in one shape: {"detail": "<reason in pt-BR>", "code": "<machine code>"}.

DRF's own errors (authentication, permission, parsing, validation, throttling with its Retry-After), the
ticket services' refusals (400, 403, 409 naming the holder), the contact writer's (400 by field, 409 naming the
contact with the number), starting a conversation's (400; 409 for the contact's open ticket or Meta's window),
a path that does not exist, and an unexpected failure (500, logged and reported as Django reports one) all
answer in it. Extra keys add detail: `fields` (what is wrong with each field of the body or query) and, on a
conflict, `status` and `holder` (and `contact` or `ticket`).
"""

from __future__ import annotations

import logging
import math

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.signals import got_request_exception
from django.http import Http404, JsonResponse
from django.urls import Resolver404, resolve
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from accounts import contacts, phones
from tickets import services
from tickets.reads import selectors

log = logging.getLogger(__name__)


def _first(detail) -> tuple[str, str]:
    """The first message of a (possibly nested) DRF error detail, and its code."""
    while isinstance(detail, dict | list):
        if not detail:
            return "", "invalid"
        detail = next(iter(detail.values())) if isinstance(detail, dict) else detail[0]
    return str(detail), getattr(detail, "code", None) or "invalid"


def _flat(detail, prefix: str = "") -> dict[str, list[str]]:
    """{"text": ["…"], "client.name": ["…"]}: every field's messages, nested names joined by dots."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            out.update(_flat(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(detail, list) and detail and all(not isinstance(d, dict | list) for d in detail):
        out[prefix or "non_field_errors"] = [str(d) for d in detail]
    elif isinstance(detail, list):
        for i, value in enumerate(detail):
            out.update(_flat(value, f"{prefix}.{i}" if prefix else str(i)))
    else:
        out[prefix or "non_field_errors"] = [str(detail)]
    return out


def conflict_body(exc: services.TicketConflict) -> dict:
    holder = exc.holder
    detail = str(exc)
    if holder is not None:
        detail = f"{detail} " + _("Está com %(name)s (%(email)s).") % {
            "name": holder.display_name,
            "email": holder.email,
        }
    return {
        "detail": detail,
        "code": "conflict",
        "status": str(exc.ticket.ui_state),
        "holder": None
        if holder is None
        else {"id": str(holder.pk), "name": holder.display_name, "email": holder.email},
    }


def _contact_fields(errors: dict[str, str]) -> dict[str, list[str]]:
    """The contact writer's reasons by the API's field names (a custom field `cf_key` is `custom_fields.key`)."""
    return {
        (f"custom_fields.{name[3:]}" if name.startswith("cf_") else name): [reason] for name, reason in errors.items()
    }


def outreach_conflict_body(exc: services.ReachOutConflict, user) -> dict:
    """The contact's open ticket on that connection (naming department and agent, and the ticket when the user
    may see it), or free text outside Meta's 24-hour window."""
    ticket = exc.ticket
    if not isinstance(exc, services.AlreadyOpen) or ticket is None:
        return {"detail": str(exc), "code": "window_closed"}
    holder = ticket.agent
    visible = selectors.ticket_queryset_for(user).filter(pk=ticket.pk).exists()
    return {
        "detail": str(exc),
        "code": "open_ticket",
        "status": str(ticket.ui_state),
        "holder": None
        if holder is None
        else {"id": str(holder.pk), "name": holder.display_name, "email": holder.email},
        "ticket": str(ticket.pk) if visible else None,
    }


def _domain_errors(exc, context) -> Response | None:
    """The services' refusals, each in the one error shape."""
    if isinstance(exc, services.TicketConflict):
        return Response(conflict_body(exc), status=status.HTTP_409_CONFLICT)
    if isinstance(exc, contacts.ContactRejected):
        fields = _contact_fields(exc.errors)
        name, reasons = next(iter(fields.items()))
        body = {"detail": f"{name}: {reasons[0]}", "code": "invalid", "fields": fields}
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, contacts.ContactExists):
        found = exc.contact
        number = phones.display(found.phone) if found.phone else found.identity
        detail = _("O número %(number)s já é de um contato: %(name)s.") % {
            "number": number,
            "name": found.display_name,
        }
        ref = {"id": str(found.pk), "name": found.display_name, "number": found.phone or found.wa_id or ""}
        return Response({"detail": detail, "code": "contact_exists", "contact": ref}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, contacts.ContactConflict):
        detail = _("O contato foi alterado por outra pessoa enquanto você editava. Confira e salve de novo.")
        return Response({"detail": detail, "code": "conflict"}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, services.ReachOutConflict):
        request = context.get("request")
        body = outreach_conflict_body(exc, getattr(request, "user", None))
        return Response(body, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, services.ReplyRejected | services.TransferRejected | services.ReachOutRejected):
        return Response({"detail": str(exc), "code": "invalid"}, status=status.HTTP_400_BAD_REQUEST)
    return None


def exception_handler(exc, context):
    known = _domain_errors(exc, context)
    if known is not None:
        return known
    if isinstance(exc, DjangoPermissionDenied):
        # The services' reason (NotAllowed) is kept; DRF's conversion would replace it with a generic one.
        reason = str(exc) or _("Você não tem permissão para esta ação.")
        return Response({"detail": reason, "code": "permission_denied"}, status=status.HTTP_403_FORBIDDEN)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or _("Não encontrado."))
    if isinstance(exc, RequestDataTooBig):
        body = {"detail": _("O corpo da requisição é grande demais."), "code": "too_large"}
        return Response(body, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, exceptions.ParseError):
        exc = exceptions.ParseError(_("O corpo da requisição não é um JSON válido."))
    response = drf_exception_handler(exc, context)
    if response is None:
        request = context.get("request")
        log.exception("API error on %s", getattr(request, "path", "?"))
        # As Django does for any view: the test client re-raises it, error reporting sees it.
        got_request_exception.send(sender=None, request=getattr(request, "_request", request))
        body = {"detail": _("Erro interno. Tente de novo em instantes."), "code": "server_error"}
        return Response(body, status=status.HTTP_500_INTERNAL_SERVER_ERROR)
    if isinstance(exc, exceptions.ValidationError):
        detail, code = _first(exc.detail)
        fields = _flat(exc.detail)
        if list(fields) != ["non_field_errors"]:
            name = next(iter(fields))
            detail = f"{name}: {detail}"
        response.data = {"detail": detail, "code": code, "fields": fields}
    else:
        detail, code = _first(exc.detail if isinstance(exc, exceptions.APIException) else response.data)
        if isinstance(exc, exceptions.APIException):
            codes = exc.get_codes()
            code = codes if isinstance(codes, str) else code
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            wait = max(1, math.ceil(exc.wait))
            response["Retry-After"] = str(wait)
            detail = _("Muitas requisições com este token. Tente de novo em %(s)d segundos.") % {"s": wait}
        response.data = {"detail": detail, "code": code}
    return response


@csrf_exempt  # a POST to a wrong path is told it is wrong, not that it lacks a CSRF cookie
def not_found(request, *args, **kwargs):
    """Any /api/v1/ path that names no endpoint: a JSON 404 (saying so when only the final slash is missing)."""
    detail = _("Endpoint não encontrado.")
    if not request.path.endswith("/"):
        try:
            match = resolve(request.path + "/")
        except Resolver404:
            match = None
        if match is not None and match.func is not not_found:
            detail = _("Endpoint não encontrado: os caminhos da API terminam com /.")
    return JsonResponse({"detail": detail, "code": "not_found"}, status=404)
