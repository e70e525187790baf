"""The REST API's endpoints. Thin, like the pages' views: read the request, call the same selector or
service the pages call (tickets.reads.selectors for what the token's user may see, tickets.services for every
change, tickets.rules.permissions inside them), answer with tickets.reads.shapes. A ticket the user may not see is a
404, as on the pages.

Extension point: contacts, conversations and webhooks are one module each beside this one, routed in
api/urls.py, answering through api.errors and documented by api.serializers in the same way.
"""

from __future__ import annotations

import inspect

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api import serializers as s
from api.common import ACTION_ERRORS, ERRORS, IDEMPOTENCY, checked, cursor_decode, cursor_encode, page_url
from tickets import services
from tickets.reads import selectors
from tickets.reads.shapes import message_shape, ticket_shape


def _ticket(request: Request, pk):
    return selectors.ticket_get_for(request.user, pk)


def _changed(request: Request, pk, change, **fields) -> Response:
    """Claim, close, transfer: one service's change of a ticket the user can see, answered with the ticket."""
    return Response(ticket_shape(change(ticket=_ticket(request, pk), **fields)))


class TicketList(APIView):
    @extend_schema(
        operation_id="tickets_list",
        summary=_("Lista os atendimentos"),
        description=_(
            "Os atendimentos que o usuário do token pode ver, da atividade mais recente para a mais antiga; com "
            "`updated_after`, os que mudaram depois desse momento, do mais antigo ao mais novo (sincronização)."
        ),
        parameters=[s.TicketListQuery],
        responses={200: s.TicketPage, **ERRORS},
    )
    def get(self, request):
        query = checked(s.TicketListQuery, request.query_params)
        filters = selectors.TicketFeedFilters(
            state=query.get("status", ""),
            department_id=query.get("department"),
            agent_id=query.get("agent"),
            updated_after=query.get("updated_after"),
        )
        mode = "a" if filters.updated_after is None else "u"
        cursor = cursor_decode(mode, query["cursor"]) if query.get("cursor") else ""
        page = selectors.ticket_feed_for(request.user, filters, cursor=cursor, limit=query["limit"])
        next_url = page_url(request, cursor=cursor_encode(mode, page.next_cursor)) if page.next_cursor else None
        return Response({"results": [ticket_shape(t) for t in page.items], "next": next_url})


class TicketDetail(APIView):
    @extend_schema(operation_id="tickets_retrieve", summary=_("Um atendimento"), responses={200: s.Ticket, **ERRORS})
    def get(self, request, pk):
        return Response(ticket_shape(_ticket(request, pk)))


class TicketMessages(APIView):
    @extend_schema(
        operation_id="tickets_messages_list",
        summary=_("As mensagens de um atendimento"),
        description=_('Da mais antiga para a mais nova, notas internas incluídas (`"kind": "note"`).'),
        parameters=[s.MessageListQuery],
        responses={200: s.MessagePage, **ERRORS},
    )
    def get(self, request, pk):
        query = checked(s.MessageListQuery, request.query_params)
        ticket = _ticket(request, pk)
        try:
            page = selectors.ticket_messages_since(ticket, after=query.get("after"), limit=query["limit"])
        except LookupError:
            raise ValidationError(
                {"after": [serializers.ErrorDetail(_("Mensagem não encontrada neste atendimento."), code="not_found")]}
            ) from None
        base = request.build_absolute_uri("/").rstrip("/")
        next_url = page_url(request, after=page.next_cursor) if page.next_cursor else None
        return Response({"results": [message_shape(m, base_url=base) for m in page.items], "next": next_url})

    @extend_schema(
        operation_id="tickets_messages_create",
        summary=_("Envia uma mensagem ao cliente"),
        description=_(
            "Como o botão Responder: o atendimento precisa estar em Atendendo com o usuário do token (ou um "
            "supervisor). Um token de integração (bot) escreve só em atendimentos em Espera, como as mensagens "
            "automáticas; depois que um agente assume, recebe 409."
        ),
        request=s.MessageCreate,
        parameters=[IDEMPOTENCY],
        responses={201: s.MessageOut, **ACTION_ERRORS},
    )
    def post(self, request, pk):
        body = checked(s.MessageCreate, request.data)
        nonce = _nonce(request)
        ticket = _ticket(request, pk)
        reply_to = body.get("reply_to")
        if reply_to is not None and selectors.message_quotable_for(ticket, reply_to) is None:
            raise ValidationError(
                {
                    "reply_to": [
                        serializers.ErrorDetail(_("Mensagem não encontrada neste atendimento."), code="not_found")
                    ]
                }
            )
        if request.user.is_bot:
            message = services.ticket_bot_message(ticket=ticket, bot=request.user, text=body["text"], nonce=nonce)
        else:
            extra = {"reply_to": str(reply_to)} if reply_to is not None and _REPLY_QUOTES else {}
            message = services.ticket_reply(ticket=ticket, agent=request.user, text=body["text"], nonce=nonce, **extra)
        base = request.build_absolute_uri("/").rstrip("/")
        return Response(message_shape(message, base_url=base), status=status.HTTP_201_CREATED)


# Quoting is the reply service's: `reply_to` is passed on once the service takes it (until then a reply is
# sent without the quote; the id is still checked as a message of the ticket).
_REPLY_QUOTES = "reply_to" in inspect.signature(services.ticket_reply).parameters


def _nonce(request: Request) -> str:
    key = (request.headers.get("Idempotency-Key") or "").strip()
    if len(key) > 60:
        raise ValidationError(
            {"Idempotency-Key": [serializers.ErrorDetail(_("Use no máximo 60 caracteres."), code="max_length")]}
        )
    # Prefixed, so a client's key can never name an automatic text's own nonce (auto:…).
    return f"api:{key}" if key else ""


class TicketNotes(APIView):
    @extend_schema(
        operation_id="tickets_notes_create",
        summary=_("Adiciona uma nota interna"),
        description=_("Nunca enviada ao cliente; em qualquer estado do atendimento."),
        request=s.NoteCreate,
        responses={201: s.MessageOut, **ACTION_ERRORS},
    )
    def post(self, request, pk):
        body = checked(s.NoteCreate, request.data)
        ticket = _ticket(request, pk)
        note = services.ticket_note_add(ticket=ticket, by=request.user, text=body["text"])
        base = request.build_absolute_uri("/").rstrip("/")
        return Response(message_shape(note, base_url=base), status=status.HTTP_201_CREATED)


class TicketClaim(APIView):
    @extend_schema(
        operation_id="tickets_claim",
        summary=_("Assume um atendimento em Espera"),
        description=_("Só um ganha uma disputa; quem perde recebe 409 com quem está com o atendimento."),
        request=s.Empty,
        responses={200: s.Ticket, **ACTION_ERRORS},
    )
    def post(self, request, pk):
        checked(s.Empty, request.data)
        return _changed(request, pk, services.ticket_claim, agent=request.user)


class TicketClose(APIView):
    @extend_schema(
        operation_id="tickets_close",
        summary=_("Finaliza um atendimento em Atendendo"),
        request=s.Empty,
        responses={200: s.Ticket, **ACTION_ERRORS},
    )
    def post(self, request, pk):
        checked(s.Empty, request.data)
        return _changed(request, pk, services.ticket_close, by=request.user)


class TicketTransfer(APIView):
    @extend_schema(
        operation_id="tickets_transfer",
        summary=_("Transfere um atendimento"),
        description=_(
            "Atendendo: a outro agente (e, se quiser, departamento); continua em Atendendo. "
            "Espera: a outro departamento; continua em Espera."
        ),
        request=s.TransferBody,
        responses={200: s.Ticket, **ACTION_ERRORS},
    )
    def post(self, request, pk):
        body = checked(s.TransferBody, request.data)
        return _changed(
            request,
            pk,
            services.ticket_transfer,
            by=request.user,
            agent=str(body.get("agent") or ""),
            department=str(body.get("department") or ""),
        )
