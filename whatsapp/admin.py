"""WhatsApp connections (secrets write-only) and the raw webhook journal (read-only, replayable)."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.admin import deactivate_active
from accounts.admin_site import ScopedAdmin, can_use_admin, index_panel_register, secret_fields_register
from accounts.models import Department
from accounts.selectors import queryset_for as accounts_queryset_for
from providers import SendError, capabilities, providers_with
from providers.base import admin_call_budget
from providers.url_guard import UnsafeURL, check_provider_url
from tickets.services import template_sync as message_templates
from whatsapp import journal
from whatsapp.admin_checklist import first_run_checklist
from whatsapp.admin_connect import ConnectAdminMixin
from whatsapp.admin_health import (
    HEALTH_FIELDS,
    MENU_FIELDSET,
    ConnectionHealthAdminMixin,
    MenuFields,
    health_column,
    pair_connection,
    recover_since_last,
)
from whatsapp.models import Connection, WebhookEvent

SECRET_FIELDS = ("access_token", "verify_token", "app_secret", "api_key", "gateway_key")
secret_fields_register(*SECRET_FIELDS)  # never a changelist lookup, on any ModelAdmin
index_panel_register(first_run_checklist)  # the admin home's first-run checklist for a tenant's reseller user
MASK = "••••••••"
# Keys whose values never reach a page, wherever they sit in a provider body or headers.
SECRET_KEYS = {
    "apikey",
    "api_key",
    "token",
    "access_token",
    "verify_token",
    "app_secret",
    "secret",
    "password",
    "authorization",
    "hub.verify_token",
}


def webhook_url(request, connection: Connection) -> str:
    # The path is fixed by the public contract; the host is the one the admin is reached on.
    return request.build_absolute_uri(f"/whatsapp/webhook/{connection.key}/")


class ConnectionAdminForm(MenuFields, forms.ModelForm):
    """Secrets are write-only: never sent back to the browser; a blank field keeps the stored value."""

    api_base_url = forms.URLField(
        label=Connection._meta.get_field("api_base_url").verbose_name,
        max_length=500,
        required=False,
        assume_scheme="https",
    )

    class Meta:
        model = Connection
        fields = "__all__"  # noqa: DJ007 - the ModelAdmin's fieldsets choose what is shown
        widgets = {name: forms.PasswordInput(render_value=False) for name in SECRET_FIELDS}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in SECRET_FIELDS:
            self.initial.pop(name, None)
            field = self.fields.get(name)
            if field is None:
                continue
            field.required = False
            field.widget.attrs["autocomplete"] = "new-password"
            field.help_text = (
                _("Definido (%(mask)s). Deixe em branco para manter.") % {"mask": MASK}
                if getattr(self.instance, name, "")
                else _("Não definido.")
            )

    def clean_api_base_url(self):
        url = self.cleaned_data.get("api_base_url") or ""
        if url:
            try:
                check_provider_url(url, unresolved_ok=True)
            except UnsafeURL as exc:
                raise forms.ValidationError(exc.text) from None
        return url

    def clean(self):
        cleaned = super().clean()
        for name in SECRET_FIELDS:
            if name in self.fields and not cleaned.get(name):
                cleaned[name] = getattr(self.instance, name, "") or ""
        reseller = cleaned.get("reseller") or getattr(self.instance, "reseller", None)
        department = cleaned.get("default_department")
        if reseller is not None and department is not None and department.reseller_id != reseller.pk:
            self.add_error("default_department", _("O departamento precisa ser da mesma revenda da conexão."))
        return cleaned


@admin.register(Connection)
class ConnectionAdmin(ConnectAdminMixin, ConnectionHealthAdminMixin, ScopedAdmin):
    form = ConnectionAdminForm
    change_list_template = "admin/whatsapp/connection/change_list.html"
    change_form_template = "admin/whatsapp/connection/change_form.html"
    list_display = (
        "__str__",
        "provider",
        "reseller",
        "display_phone",
        "default_department",
        "active",
        "state",
        health_column,
        "last_webhook_at",
        "last_send_at",
    )
    list_filter = ("provider", "active", ("reseller", admin.RelatedOnlyFieldListFilter))
    search_fields = ("name", "display_phone", "phone_number_id", "instance_name", "key")
    list_select_related = ("reseller", "default_department")
    actions = [deactivate_active, "sync_templates", pair_connection, recover_since_last]
    fieldsets = (
        (None, {"fields": ("reseller", "name", "provider", "default_department", "active", "key")}),
        (
            _("Meta Cloud API"),
            {
                "fields": (
                    "phone_number_id",
                    "business_account_id",
                    "display_phone",
                    "access_token",
                    "app_secret",
                    "verify_token",
                )
            },
        ),
        (_("Evolution API"), {"fields": ("instance_name", "api_key")}),
        (_("Envio"), {"fields": ("api_base_url",)}),
        MENU_FIELDSET,
        (_("Estado informado pelo provedor"), {"fields": HEALTH_FIELDS}),
    )

    def get_readonly_fields(self, request, obj=None):
        # The key is generated (unguessable) and never typed: changing it would also silently break
        # the URL already pasted into the provider.
        return ("key", *HEALTH_FIELDS)

    @admin.action(description=_("Sincronizar modelos aprovados da Meta"))
    def sync_templates(self, request, queryset):
        for connection in queryset.filter(provider__in=providers_with("has_templates")):
            try:
                with admin_call_budget():  # the page's web worker is never held for the full HTTP timeout
                    counts = message_templates.template_sync_counts(connection)
            except SendError as exc:
                self.message_user(request, f"{connection}: {exc.text}", messages.ERROR)
                continue
            self.message_user(
                request,
                _(
                    "%(conn)s: %(created)d modelo(s) novo(s), %(updated)d atualizado(s), %(kept)d sem mudança, "
                    "%(inactive)d marcado(s) como inativo(s) (não existem mais na Meta)."
                )
                % {
                    "conn": connection,
                    "created": counts.added,
                    "updated": counts.changed,
                    "kept": counts.kept,
                    "inactive": counts.inactive,
                },
                messages.SUCCESS,
            )

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        departments = accounts_queryset_for(request.user, Department)
        if obj is not None:
            departments = departments.filter(reseller_id=obj.reseller_id)

        class ScopedMenuForm(form):  # type: ignore[valid-type,misc]
            def __init__(self, *args, **kw):
                super().__init__(*args, **kw)
                self.limit_menu_departments(departments)

        return ScopedMenuForm

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        extra_context = {
            **(extra_context or {}),
            "webhook_url": webhook_url(request, obj),
            "pairs_by_qr": obj is not None and capabilities(obj).pairs_by_qr,
        }
        return super().change_view(request, object_id, form_url, extra_context)


def redact(value, secrets: tuple[str, ...] = ()):
    """A copy of a decoded JSON value with every secret-looking key's value masked."""
    if isinstance(value, dict):
        return {k: MASK if str(k).lower() in SECRET_KEYS else redact(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, secrets) for v in value]
    if isinstance(value, str) and any(s and s in value for s in secrets):
        return MASK
    return value


def _connection_secrets(event: WebhookEvent) -> tuple[str, ...]:
    conn = event.connection
    return tuple(s for s in (getattr(conn, name, "") for name in SECRET_FIELDS) if s and len(s) >= 4)


def _pretty(value, secrets) -> str:
    text = json.dumps(redact(value, secrets), ensure_ascii=False, indent=2, sort_keys=True)
    for secret in secrets:  # belt and braces: a secret inside a longer string or an odd key
        text = text.replace(secret, MASK)
    return text


@admin.action(description=_("Reprocessar eventos com falha"), permissions=["replay"])
def replay_failed(modeladmin, request, queryset):
    failed = list(queryset.filter(state=WebhookEvent.State.FAILED))
    outcomes = {}
    for event in failed:
        outcome = str(journal.webhook_event_process(event))
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    skipped = queryset.exclude(state=WebhookEvent.State.FAILED).count()
    summary = ", ".join(f"{state}: {n}" for state, n in sorted(outcomes.items())) or "-"
    modeladmin.message_user(
        request,
        ngettext("%(n)d evento reprocessado (%(summary)s).", "%(n)d eventos reprocessados (%(summary)s).", len(failed))
        % {"n": len(failed), "summary": summary},
        messages.SUCCESS if failed else messages.WARNING,
    )
    if skipped:
        modeladmin.message_user(
            request,
            ngettext(
                "%(n)d evento ignorado: só eventos com falha são reprocessados.",
                "%(n)d eventos ignorados: só eventos com falha são reprocessados.",
                skipped,
            )
            % {"n": skipped},
            messages.WARNING,
        )


@admin.register(WebhookEvent)
class WebhookEventAdmin(ScopedAdmin):
    read_only = True
    tenant_field = None
    list_display = ("received_at", "connection", "event_type", "state", "attempts", "processed_at")
    list_filter = ("state", "event_type", ("connection", admin.RelatedOnlyFieldListFilter))
    search_fields = ("event_type", "dedup_key")
    list_select_related = ("connection",)
    date_hierarchy = "received_at"
    ordering = ("-received_at",)
    actions = [replay_failed]
    fields = (
        "connection",
        "event_type",
        "state",
        "attempts",
        "received_at",
        "processed_at",
        "error",
        "dedup_key",
        "headers_redacted",
        "body_redacted",
    )
    readonly_fields = fields

    def has_replay_permission(self, request):
        return can_use_admin(request.user)

    @admin.display(description=_("cabeçalhos"))
    def headers_redacted(self, obj):
        return format_html("<pre>{}</pre>", _pretty(obj.headers or {}, _connection_secrets(obj)))

    @admin.display(description=_("corpo"))
    def body_redacted(self, obj):
        if obj.body_file:  # tens of MB of base64 are not parsed into a page: named, not shown
            return _("(corpo guardado como arquivo: %(n)d bytes, SHA-256 %(sha)s)") % {
                "n": obj.body_size,
                "sha": obj.body_sha256,
            }
        raw = bytes(obj.body or b"")
        try:
            text = _pretty(json.loads(raw), _connection_secrets(obj))
        except ValueError:
            text = _("(corpo não JSON, %(n)d bytes)") % {"n": len(raw)}
        return format_html("<pre>{}</pre>", text)
