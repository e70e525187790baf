"""The contacts endpoints: /api/v1/contacts/ as the /contatos/ pages. Thin: the pages' selectors
(contacts.selectors: the tenant's contacts, their search) and writer (accounts.contacts: the number read in any
form, one contact per number with or without the ninth digit, the history of every change, a name a person set
never replaced by the WhatsApp profile name). A contact of another tenant is a 404, as on the pages.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import contacts as writers
from accounts.models import Client, ClientChange
from api import serializers as s
from api.common import ERRORS, checked, cursor_decode, cursor_encode, page_url
from contacts import selectors
from tickets.reads.shapes import iso

CONTACT_ERRORS = {
    **ERRORS,
    403: OpenApiResponse(s.Error, description=_("Um token sem revenda (o administrador da instalação).")),
    409: OpenApiResponse(
        s.Error, description=_("A revenda já tem um contato com o número (`contact`), em qualquer forma.")
    ),
}


def contact_summary(contact: Client) -> dict[str, Any]:
    return {
        "id": str(contact.pk),
        "name": contact.name,
        "number": contact.phone or contact.wa_id or "",
        "email": contact.email,
        "document": contact.document,
        "updated_at": iso(contact.updated_at),
    }


def contact_shape(contact: Client) -> dict[str, Any]:
    return {
        **contact_summary(contact),
        "profile_name": contact.profile_name,
        "notes": contact.notes,
        "custom_fields": dict(contact.custom_fields or {}),
        "tags": [tag.name for tag in selectors.contact_tags(contact)],
        "created_at": iso(contact.created_at),
    }


def _body(serializer_class, request) -> tuple[dict, dict | None]:
    """(the contact fields, the custom values or None) of a body, custom keys checked against the tenant's."""
    body = dict(checked(serializer_class, request.data))
    custom = body.pop("custom_fields", None)
    return body, custom


def _custom_checked(custom: dict | None, reseller_id) -> dict | None:
    if custom is None:
        return None
    known = {cf.key for cf in selectors.tenant_fields(reseller_id)}
    unknown = sorted(set(custom) - known)
    if unknown:
        raise ValidationError(
            {
                "custom_fields": {
                    key: [serializers.ErrorDetail(_("Campo personalizado desconhecido."), code="unknown_field")]
                    for key in unknown
                }
            }
        )
    return custom


class ContactList(APIView):
    @extend_schema(
        operation_id="contacts_list",
        summary=_("Lista os contatos"),
        description=_(
            "Os contatos da revenda (todos os clientes, qualquer que seja o departamento que os atendeu), do "
            "mais recente ao mais antigo; com `q`, a busca da página Contatos."
        ),
        parameters=[s.ContactListQuery],
        responses={200: s.ContactPage, **ERRORS},
    )
    def get(self, request):
        query = checked(s.ContactListQuery, request.query_params)
        cursor = cursor_decode("c", query["cursor"]) if query.get("cursor") else ""
        page = selectors.contact_list_for(request.user, q=query.get("q", ""), cursor=cursor, limit=query["limit"])
        next_url = page_url(request, cursor=cursor_encode("c", page.next_cursor)) if page.next_cursor else None
        return Response({"results": [contact_summary(c) for c in page.items], "next": next_url})

    @extend_schema(
        operation_id="contacts_create",
        summary=_("Adiciona um contato"),
        description=_(
            "Como Novo contato: `name` e `number` obrigatórios. O número vale em qualquer forma comum (55 quando "
            "não há código do país); um celular com ou sem o nono dígito é o mesmo número (409)."
        ),
        request=s.ContactCreate,
        responses={201: s.Contact, **CONTACT_ERRORS},
    )
    def post(self, request):
        reseller_id = request.user.reseller_id
        if reseller_id is None:
            raise PermissionDenied(_("Usuário sem revenda: use um token de um usuário da revenda."))
        data, custom = _body(s.ContactCreate, request)
        contact = writers.contact_create(
            reseller_id=reseller_id,
            by=request.user,
            data=data,
            custom=_custom_checked(custom, reseller_id),
            source=ClientChange.Source.PAGE,  # the history's sources have no "api" (that would be a migration)
        )
        return Response(contact_shape(contact), status=status.HTTP_201_CREATED)


class ContactDetail(APIView):
    @extend_schema(operation_id="contacts_retrieve", summary=_("Um contato"), responses={200: s.Contact, **ERRORS})
    def get(self, request, pk):
        return Response(contact_shape(selectors.contact_get_for(request.user, pk)))

    @extend_schema(
        operation_id="contacts_partial_update",
        summary=_("Edita um contato"),
        description=_(
            "Só os campos enviados mudam, como na página do contato; cada mudança fica no histórico. Um nome "
            "dado por uma pessoa nunca é trocado pelo nome do perfil do WhatsApp."
        ),
        request=s.ContactEdit,
        responses={200: s.Contact, **CONTACT_ERRORS},
    )
    def patch(self, request, pk):
        contact = selectors.contact_get_for(request.user, pk)
        data, custom = _body(s.ContactEdit, request)
        writers.contact_edit(
            client=contact,
            by=request.user,
            data=data,
            custom=_custom_checked(custom, contact.reseller_id),
            source=ClientChange.Source.PAGE,
        )
        return Response(contact_shape(selectors.contact_get_for(request.user, pk)))
