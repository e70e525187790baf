"""What the API reads (bodies and query strings, strictly: an unknown field is a 400) and, for the OpenAPI
document, what it answers. The answers themselves are built by tickets.reads.shapes; a test checks that every
answer matches the shapes declared here."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from tickets.models import Message, UIState
from tickets.reads.selectors import API_PAGE_MAX, API_PAGE_SIZE
from tickets.reads.shapes import INBOUND_STATUS, NOTE_STATUS

# The longest text a body may carry at all; the WhatsApp limit of the ticket's provider (4,096 characters)
# is the reply service's own check, with its own reason.
TEXT_MAX = 65_536


class StrictSerializer(serializers.Serializer):
    """A body or query string with only the fields it declares: a typo is a 400, not a silent no-op."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {
                        name: [serializers.ErrorDetail(_("Campo desconhecido."), code="unknown_field")]
                        for name in unknown
                    }
                )
        return super().to_internal_value(data)


class Text(serializers.CharField):
    """A JSON string, never a number or a boolean turned into one."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


# --- query strings ----------------------------------------------------------------------------------


class TicketListQuery(StrictSerializer):
    status = serializers.ChoiceField(
        choices=UIState.choices, required=False, help_text=_("espera, atendendo ou finalizado")
    )
    department = serializers.UUIDField(required=False, help_text=_("Só os atendimentos deste departamento."))
    agent = serializers.UUIDField(required=False, help_text=_("Só os atendimentos com este agente."))
    updated_after = serializers.DateTimeField(
        required=False,
        default_timezone=UTC,
        help_text=_("ISO 8601 (sem fuso: UTC). Só os que mudaram depois, do mais antigo ao mais novo."),
    )
    cursor = serializers.CharField(required=False, max_length=200, help_text=_("A página seguinte (de `next`)."))
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=API_PAGE_MAX, default=API_PAGE_SIZE, help_text=_("1 a 100 por página.")
    )


class ContactListQuery(StrictSerializer):
    q = serializers.CharField(
        required=False,
        max_length=200,
        allow_blank=True,
        help_text=_("Palavras do nome, 4+ dígitos do número, o e-mail ou os dígitos do CPF/CNPJ."),
    )
    cursor = serializers.CharField(required=False, max_length=200, help_text=_("A página seguinte (de `next`)."))
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=API_PAGE_MAX, default=API_PAGE_SIZE, help_text=_("1 a 100 por página.")
    )


class MessageListQuery(StrictSerializer):
    after = serializers.UUIDField(required=False, help_text=_("As mensagens depois desta (de `next`)."))
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=API_PAGE_MAX, default=API_PAGE_SIZE, help_text=_("1 a 100 por página.")
    )


# --- bodies -----------------------------------------------------------------------------------------


class MessageCreate(StrictSerializer):
    text = Text(max_length=TEXT_MAX, trim_whitespace=False, allow_blank=True)
    reply_to = serializers.UUIDField(required=False, allow_null=True, help_text=_("Uma mensagem deste atendimento."))


class NoteCreate(StrictSerializer):
    text = Text(max_length=TEXT_MAX, trim_whitespace=False, allow_blank=True)


class Empty(StrictSerializer):
    pass


class TransferBody(StrictSerializer):
    agent = serializers.UUIDField(required=False, help_text=_("Atendendo: o agente que vai atender."))
    department = serializers.UUIDField(required=False, help_text=_("O departamento de destino."))


# What the contact pages take (accounts.contacts checks and normalizes them, with their reasons).
NAME_MAX, NOTES_MAX, NUMBER_MAX = 200, 5000, 40
NUMBER_HELP = _("Qualquer forma comum: +55 (11) 98765-4321, 11987654321, 5511987654321 (55 sem código do país).")


class ContactEdit(StrictSerializer):
    name = Text(required=False, max_length=NAME_MAX, allow_blank=True)
    number = Text(
        required=False,
        max_length=NUMBER_MAX,
        allow_blank=True,
        help_text=NUMBER_HELP,
    )
    email = Text(required=False, max_length=254, allow_blank=True)
    document = Text(required=False, max_length=40, allow_blank=True, help_text=_("CPF ou CNPJ, com ou sem pontuação."))
    notes = Text(required=False, max_length=NOTES_MAX, allow_blank=True, trim_whitespace=False)
    custom_fields = serializers.DictField(
        child=Text(max_length=NOTES_MAX, allow_blank=True),
        required=False,
        help_text=_("Os campos personalizados da revenda, por chave (vazio apaga o valor)."),
    )


class ContactCreate(ContactEdit):
    name = Text(max_length=NAME_MAX)
    number = Text(max_length=NUMBER_MAX, help_text=NUMBER_HELP)


class ConversationCreate(StrictSerializer):
    contact = serializers.UUIDField(required=False, help_text=_("Um contato da revenda (ou `number`)."))
    number = Text(
        required=False,
        max_length=NUMBER_MAX,
        help_text=_("Um número em qualquer forma comum: o contato com ele, ou um contato novo (ou `contact`)."),
    )
    name = Text(required=False, max_length=NAME_MAX, allow_blank=True, help_text=_("O nome de um contato novo."))
    connection = serializers.UUIDField(required=False, help_text=_("Pode faltar quando a revenda tem uma só."))
    department = serializers.UUIDField(required=False, help_text=_("Pode faltar quando o usuário tem um só."))
    text = Text(required=False, max_length=TEXT_MAX, trim_whitespace=False, allow_blank=True)
    template = serializers.UUIDField(required=False, help_text=_("Um modelo aprovado da conexão (em vez de `text`)."))
    params = serializers.ListField(
        child=Text(max_length=1024, allow_blank=True),
        required=False,
        max_length=50,
        help_text=_("Um valor por parâmetro do modelo, em ordem."),
    )

    def validate(self, attrs):
        if ("contact" in attrs) == ("number" in attrs):
            raise serializers.ValidationError(
                serializers.ErrorDetail(_("Informe `contact` ou `number` (um dos dois)."), code="required")
            )
        return attrs


# --- answers (documentation; built by tickets.reads.shapes) -----------------------------------------------


class Ref(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class ClientRef(Ref):
    number = serializers.CharField()


class Ticket(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=UIState.choices)
    client = ClientRef()
    department = Ref()
    agent = Ref(allow_null=True)
    connection = serializers.CharField(help_text=_("A chave da conexão WhatsApp."))
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField(help_text=_("A última mudança do atendimento."))
    protocol = serializers.CharField()
    last_message_at = serializers.DateTimeField(allow_null=True)


class TicketPage(serializers.Serializer):
    results = Ticket(many=True)
    next = serializers.URLField(allow_null=True)


MESSAGE_STATUSES = [*Message.Delivery.values, INBOUND_STATUS, NOTE_STATUS]


class MessageOut(serializers.Serializer):
    id = serializers.UUIDField()
    direction = serializers.ChoiceField(choices=["in", "out"])
    kind = serializers.CharField(help_text=_("text, image, audio, video, document… ou note (nota interna)"))
    text = serializers.CharField(allow_blank=True)
    status = serializers.ChoiceField(choices=MESSAGE_STATUSES)
    created_at = serializers.DateTimeField()
    media_url = serializers.URLField(allow_null=True)
    agent = Ref(allow_null=True)


class MessagePage(serializers.Serializer):
    results = MessageOut(many=True)
    next = serializers.URLField(allow_null=True)


class ContactSummary(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField(allow_blank=True, help_text=_("Vazio enquanto ninguém deu nome ao contato."))
    number = serializers.CharField(allow_blank=True, help_text=_("Dígitos com o código do país."))
    email = serializers.CharField(allow_blank=True)
    document = serializers.CharField(allow_blank=True, help_text=_("CPF ou CNPJ, só os dígitos (e letras)."))
    updated_at = serializers.DateTimeField()


class Contact(ContactSummary):
    profile_name = serializers.CharField(allow_blank=True, help_text=_("O nome no perfil do WhatsApp."))
    notes = serializers.CharField(allow_blank=True)
    custom_fields = serializers.DictField(child=serializers.CharField())
    tags = serializers.ListField(child=serializers.CharField())
    created_at = serializers.DateTimeField()


class ContactPage(serializers.Serializer):
    results = ContactSummary(many=True)
    next = serializers.URLField(allow_null=True)


class Holder(Ref):
    email = serializers.EmailField()


class Error(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)
    status = serializers.ChoiceField(choices=UIState.choices, required=False)
    holder = Holder(required=False, allow_null=True)
    contact = ClientRef(required=False, help_text=_("409: o contato que já tem o número."))
    ticket = serializers.UUIDField(
        required=False, allow_null=True, help_text=_("409: o atendimento aberto do contato, quando o usuário o vê.")
    )


# --- outgoing webhooks (api.webhook_views) ---------------------------------------------------------------


class WebhookCreate(StrictSerializer):
    url = Text(max_length=2000, help_text=_("http(s), endereço público; pode ter query string (um token)."))
    secret = Text(required=False, allow_blank=True, max_length=200, help_text=_("Omitido: gerado e mostrado uma vez."))
    events = serializers.ListField(child=Text(max_length=32), allow_empty=False)
    reseller = serializers.UUIDField(required=False, help_text=_("Só para o administrador da instalação: a revenda."))


class WebhookUpdate(StrictSerializer):
    url = Text(required=False, max_length=2000)
    events = serializers.ListField(child=Text(max_length=32), required=False, allow_empty=False)
    active = serializers.BooleanField(required=False, help_text=_("false desliga; true liga (e retoma um pausado)."))


class WebhookOut(serializers.Serializer):
    id = serializers.UUIDField()
    url = serializers.CharField()
    events = serializers.ListField(child=serializers.CharField())
    active = serializers.BooleanField()
    paused_at = serializers.DateTimeField(allow_null=True)
    pause_reason = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()


class WebhookCreated(WebhookOut):
    secret = serializers.CharField(help_text=_("Mostrado só nesta resposta."))


class WebhookPage(serializers.Serializer):
    results = WebhookOut(many=True)
