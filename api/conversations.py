"""POST /api/v1/conversations/: start a conversation as Novo atendimento on a contact's page does
(tickets.services.conversation_start), or from a typed number as the contact list's Nova conversa does
(tickets.services.conversation_start_number: the tenant's contact with that number in any form, or a new one).
"""

from __future__ import annotations

from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from api import serializers as s
from api.common import ERRORS, checked
from tickets import services
from tickets.reads import reach_out, selectors
from tickets.reads.shapes import ticket_shape


class ConversationStart(APIView):
    @extend_schema(
        operation_id="conversations_create",
        summary=_("Inicia uma conversa"),
        description=_(
            "Um atendimento novo em Atendendo, com o usuário do token, cuja primeira mensagem sai pela fila de "
            "envio como uma resposta. Meta: um modelo aprovado sempre; texto livre só dentro da janela de 24 horas "
            "(senão 409). Se o contato já tem um atendimento aberto nessa conexão, nada é criado nem enviado: 409 "
            "com o departamento e o agente (e `ticket`, quando o usuário o vê)."
        ),
        request=s.ConversationCreate,
        responses={
            201: s.Ticket,
            **ERRORS,
            409: OpenApiResponse(
                s.Error,
                description=_("Atendimento aberto do contato nessa conexão (`open_ticket`) ou janela fechada."),
            ),
        },
    )
    def post(self, request):
        body = checked(s.ConversationCreate, request.data)
        common = {
            "user": request.user,
            "connection": str(body.get("connection") or ""),
            "department": str(body.get("department") or ""),
            "text": body.get("text", ""),
            "template": str(body.get("template") or ""),
            "params": body.get("params", []),
        }
        if "contact" in body:
            try:
                contact = reach_out.contact_get_for(request.user, body["contact"])
            except Http404:
                raise ValidationError(
                    {"contact": [serializers.ErrorDetail(_("Contato não encontrado."), code="not_found")]}
                ) from None
            ticket = services.conversation_start(client=contact, **common)
        else:
            ticket = services.conversation_start_number(number=body["number"], name=body.get("name", ""), **common)
        shown = selectors.ticket_get_for(request.user, ticket.pk)
        return Response(ticket_shape(shown), status=status.HTTP_201_CREATED)
