"""The admin of outgoing webhooks: a tenant's webhooks (resellers see only theirs), created with a secret
shown once, turned on and off, and their delivery log (attempts, last answer, answer time) with "Enviar de
novo". A paused webhook says so on its row and at the top of the list, with the reason."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.admin_site import ScopedAdmin, secret_fields_register
from accounts.selectors import user_is_tenant_manager
from webhooks import services
from webhooks.models import EVENT_TYPES, Webhook, WebhookDelivery

secret_fields_register("secret")

EVENT_CHOICES = [(e, e) for e in EVENT_TYPES]


class WebhookForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        label=_("eventos"), choices=EVENT_CHOICES, widget=forms.CheckboxSelectMultiple, initial=list(EVENT_TYPES)
    )
    # Not the model's field (never editable): what the service is given, or empty to generate one.
    signing_secret = forms.CharField(
        label=_("segredo"),
        required=False,
        help_text=_("Deixe em branco para gerar um. Ele é mostrado uma única vez."),
    )

    class Meta:
        model = Webhook
        fields = ("reseller", "url", "events", "active")

    def clean_url(self):
        try:
            return services.url_check(self.cleaned_data.get("url", ""))
        except services.WebhookInvalid as exc:
            raise forms.ValidationError(exc.text) from None


class WebhookChangeForm(WebhookForm):
    signing_secret = None  # type: ignore[assignment]

    class Meta:
        model = Webhook
        fields = ("url", "events", "active")


@admin.action(description=_("Ligar (e retomar os pausados)"), permissions=["change"])
def turn_on(modeladmin, request, queryset):
    moved = sum(services.webhook_turn_on(hook) for hook in queryset)
    modeladmin.message_user(request, ngettext("%(n)d webhook ligado.", "%(n)d webhooks ligados.", moved) % {"n": moved})


@admin.action(description=_("Desligar"), permissions=["change"])
def turn_off(modeladmin, request, queryset):
    moved = sum(1 for hook in queryset if services.webhook_update(hook, active=False) is not None)
    modeladmin.message_user(
        request, ngettext("%(n)d webhook desligado.", "%(n)d webhooks desligados.", moved) % {"n": moved}
    )


@admin.register(Webhook)
class WebhookAdmin(ScopedAdmin):
    list_display = ("url", "reseller", "active", "paused_at", "last_success_at", "failing_since", "created_at")
    list_select_related = ("reseller",)
    list_filter = ("active", ("reseller", admin.RelatedOnlyFieldListFilter))
    actions = [turn_on, turn_off]
    readonly_fields = ("paused_at", "pause_reason", "failing_since", "last_success_at", "created_by", "created_at")

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = WebhookForm if obj is None else WebhookChangeForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("reseller", "url", "events", "signing_secret")
        return ("url", "events", "active", *self.readonly_fields)

    def changelist_view(self, request, extra_context=None):
        # The reseller's notice: a paused webhook is never silent.
        for hook in self.get_queryset(request).filter(paused_at__isnull=False)[:5]:
            messages.warning(request, f"{hook.url}: {hook.pause_reason}")
        return super().changelist_view(request, extra_context)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            hook = services.webhook_update(obj, url=data["url"], events=data["events"], active=data["active"])
            obj.__dict__.update({k: v for k, v in hook.__dict__.items() if k != "_state"})
            return
        reseller = request.user.reseller if user_is_tenant_manager(request.user) else data["reseller"]
        hook, secret = services.webhook_create(
            reseller=reseller,
            url=data["url"],
            events=data["events"],
            secret=data.get("signing_secret") or "",
            by=request.user,
        )
        obj.__dict__.update({k: v for k, v in hook.__dict__.items() if k != "_state"})
        obj._state.adding = False
        request._iaze_new_webhook_secret = secret

    def save_related(self, request, form, formsets, change):
        pass  # no many-to-many: everything was written by the service

    def response_add(self, request, obj, post_url_continue=None):
        # The secret exists only in this answer: never in a message, a cookie or a later page.
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "hook": obj,
            "secret": getattr(request, "_iaze_new_webhook_secret", ""),
            "title": _("Webhook criado"),
        }
        response = TemplateResponse(request, "admin/webhooks/webhook/created.html", context)
        response["Cache-Control"] = "no-store"
        return response


@admin.action(description=_("Enviar de novo"), permissions=["view"])
def send_again(modeladmin, request, queryset):
    moved = sum(services.event_send_again(event) for event in queryset)
    modeladmin.message_user(
        request,
        ngettext("%(n)d evento será enviado de novo.", "%(n)d eventos serão enviados de novo.", moved) % {"n": moved},
        messages.SUCCESS,
    )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ScopedAdmin):
    read_only = True
    list_display = (
        "type",
        "webhook",
        "ticket_ref",
        "status",
        "attempts",
        "last_status",
        "last_answer_ms",
        "last_attempt_at",
        "next_attempt_at",
        "error_text",
        "created_at",
    )
    list_select_related = ("webhook",)
    list_filter = ("status", "type", ("webhook", admin.RelatedOnlyFieldListFilter))
    actions = [send_again]
    fields = (
        "webhook",
        "type",
        "ticket",
        "ticket_version",
        "occurred_at",
        "status",
        "attempts",
        "last_status",
        "last_answer_ms",
        "last_attempt_at",
        "next_attempt_at",
        "delivered_at",
        "error_text",
        "data",
    )
    readonly_fields = fields

    @admin.display(description=_("atendimento"))
    def ticket_ref(self, obj):
        return obj.ticket_id  # the id only: no query per row for the ticket's client
