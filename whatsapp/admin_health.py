"""The admin's side of routing and health: the department menu fields of a connection, its state column,
the QR pairing page (providers that `pairs_by_qr`: Evolution), and gap recoveries (those that
`recovers_gaps`; list, started by hand for a chosen period)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.admin_site import ScopedAdmin
from accounts.models import Department
from accounts.selectors import queryset_for
from iaze.lib import clock
from providers import SendError, capabilities, get_provider, providers_with
from providers.base import admin_call_budget
from whatsapp import health
from whatsapp.models import Connection, RecoveryRun

MENU_SLOTS = 6
MENU_FIELDS = tuple(f"menu_option_{i}" for i in range(1, MENU_SLOTS + 1))


def _menu_choice(number: int) -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        queryset=Department.objects.all(), required=False, label=_("Opção %(n)d") % {"n": number}
    )


class MenuFields(forms.Form):
    """The menu's departments, in order: option 1, option 2, … (stored as Connection.menu_department_ids)."""

    menu_option_1 = _menu_choice(1)
    menu_option_2 = _menu_choice(2)
    menu_option_3 = _menu_choice(3)
    menu_option_4 = _menu_choice(4)
    menu_option_5 = _menu_choice(5)
    menu_option_6 = _menu_choice(6)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        instance = getattr(self, "instance", None)
        ids = list(getattr(instance, "menu_department_ids", None) or [])
        for name, pk in zip(MENU_FIELDS, ids, strict=False):
            self.initial.setdefault(name, pk)

    def limit_menu_departments(self, queryset) -> None:
        for name in MENU_FIELDS:
            if name in self.fields:
                self.fields[name].queryset = queryset.filter(active=True)

    def clean(self):
        cleaned = super().clean()
        if not any(name in self.fields for name in MENU_FIELDS):
            return cleaned
        reseller = cleaned.get("reseller") or getattr(self.instance, "reseller", None)
        chosen = []
        for name in MENU_FIELDS:
            department = cleaned.get(name)
            if department is None:
                continue
            if reseller is not None and department.reseller_id != reseller.pk:
                self.add_error(name, _("O departamento precisa ser da mesma revenda da conexão."))
            elif department.pk in chosen:
                self.add_error(name, _("Este departamento já está no menu."))
            else:
                chosen.append(department.pk)
        if cleaned.get("menu_enabled") and not chosen:
            self.add_error("menu_option_1", _("Escolha ao menos um departamento para o menu."))
        self.instance.menu_department_ids = [str(pk) for pk in chosen]
        return cleaned


MENU_FIELDSET = (
    _("Menu de departamentos"),
    {
        "fields": ("menu_enabled", "menu_intro", *MENU_FIELDS),
        "description": _(
            "Ligado: cada novo atendimento recebe o menu (“1 - Suporte”, “2 - Financeiro”…) e a resposta do "
            "cliente o move para a Espera do departamento escolhido. Até a escolha, ele espera no departamento padrão."
        ),
    },
)
HEALTH_FIELDS = ("state", "state_updated_at", "disconnected_at", "last_webhook_at", "last_send_at")

LEVEL_COLORS = {"ok": "#15803d", "warning": "#b45309", "down": "#b91c1c", "unknown": "#6b7280"}


@admin.display(description=_("saúde"))
def health_column(obj: Connection):
    status = health.connection_health(obj)
    return format_html(
        '<span class="iaze-health iaze-health-{}" style="color:{};font-weight:600">{}</span>',
        status.level,
        LEVEL_COLORS.get(status.level, "#6b7280"),
        status.label,
    )


@admin.action(description=_("Parear número (QR code)"))
def pair_connection(modeladmin, request, queryset):
    pairable = list(queryset.filter(provider__in=providers_with("pairs_by_qr"))[:2])
    if len(pairable) != 1:
        modeladmin.message_user(request, _("Escolha uma conexão Evolution API para parear."), messages.WARNING)
        return None
    return HttpResponseRedirect(reverse("admin:whatsapp_connection_pair", args=[pairable[0].pk]))


@admin.action(description=_("Recuperar mensagens desde a última gravada"))
def recover_since_last(modeladmin, request, queryset):
    runs = [
        health.recovery_request(connection=c, trigger=RecoveryRun.Trigger.MANUAL, by=request.user)
        for c in queryset.filter(provider__in=providers_with("recovers_gaps"))
    ]
    modeladmin.message_user(
        request,
        ngettext(
            "%(n)d recuperação agendada; o worker (send_outbox) a executa em instantes.",
            "%(n)d recuperações agendadas; o worker (send_outbox) as executa em instantes.",
            len(runs),
        )
        % {"n": len(runs)},
        messages.SUCCESS if runs else messages.WARNING,
    )


# Seconds before the pairing page asks the gateway again: a fresh QR code while it waits for the scan; longer
# after the gateway failed or did not answer, so an open page never keeps a web worker on a stuck gateway.
REFRESH_SECONDS = 5
RETRY_SECONDS = 30


class ConnectionHealthAdminMixin:
    """Adds the pairing page to the connection admin: /admin/whatsapp/connection/<id>/pair/.

    GET shows the connection's last known state and never calls the provider. Asking the gateway to pair
    (Evolution's instance/connect starts a session on the gateway) is a POST with the CSRF token, and its
    call has the admin's short budget (WHATSAPP_ADMIN_CALL_SECONDS)."""

    def get_urls(self):
        urls = super().get_urls()  # type: ignore[misc]
        pair = self.admin_site.admin_view(self.pair_view)  # type: ignore[attr-defined]
        return [path("<path:object_id>/pair/", pair, name="whatsapp_connection_pair"), *urls]

    def pair_view(self, request, object_id):
        if request.method not in ("GET", "HEAD", "POST"):
            return HttpResponseNotAllowed(["GET", "POST"])
        connection = self.get_object(request, object_id)  # type: ignore[attr-defined]
        if not self.has_change_permission(request, connection):  # type: ignore[attr-defined]
            raise PermissionDenied
        asked = request.method == "POST"
        pairing, error = None, ""
        pairs_by_qr = capabilities(connection).pairs_by_qr
        if not pairs_by_qr:
            error = _("Só conexões Evolution API são pareadas por QR code.")
        elif asked and (connection.state or "").lower() != health.OPEN:
            try:
                with admin_call_budget():
                    pairing = get_provider(connection).pair()
            except SendError as exc:
                error = exc.text
        connected = (connection.state or "").lower() == health.OPEN or bool(pairing and pairing.state == health.OPEN)
        context = {
            **self.admin_site.each_context(request),  # type: ignore[attr-defined]
            "opts": Connection._meta,
            "original": connection,
            "title": _("Parear %(name)s") % {"name": connection},
            "connection": connection,
            "asked": asked,
            "pairs_by_qr": pairs_by_qr,
            "pairing": pairing,
            "error": error,
            "connected": connected,
            "refresh_seconds": RETRY_SECONDS if error else REFRESH_SECONDS,
        }
        return TemplateResponse(request, "admin/whatsapp/connection/pair.html", context)


class RecoveryRunForm(forms.ModelForm):
    """Start a recovery by hand: a connection (Evolution) and a period."""

    class Meta:
        model = RecoveryRun
        fields = ("connection", "since", "until")

    def clean(self):
        cleaned = super().clean()
        connection, since, until = cleaned.get("connection"), cleaned.get("since"), cleaned.get("until")
        if connection is not None and not capabilities(connection).recovers_gaps:
            self.add_error("connection", _("Só conexões Evolution API têm recuperação de mensagens."))
        if since and until and until <= since:
            self.add_error("until", _("O fim precisa ser depois do início."))
        if since and since > clock.now():
            self.add_error("since", _("O início precisa estar no passado."))
        return cleaned


@admin.register(RecoveryRun)
class RecoveryRunAdmin(ScopedAdmin):
    tenant_field = None
    form = RecoveryRunForm
    list_display = (
        "created_at",
        "connection",
        "trigger",
        "state",
        "since",
        "until",
        "found",
        "stored",
        "duplicates",
        "ignored",
        "finished_at",
        "short_error",
    )
    list_filter = ("state", "trigger", ("connection", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("connection",)
    ordering = ("-created_at",)
    date_hierarchy = "created_at"
    readonly_fields = (
        "connection",
        "trigger",
        "requested_by",
        "since",
        "until",
        "state",
        "attempts",
        "started_at",
        "finished_at",
        "pages",
        "found",
        "stored",
        "duplicates",
        "ignored",
        "error",
    )

    def has_change_permission(self, request, obj=None):
        return False  # a run is written by the worker only; a new period is a new run

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj else ()

    def get_fields(self, request, obj=None):
        return self.readonly_fields if obj else ("connection", "since", "until")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "connection":
            kwargs["queryset"] = queryset_for(request.user, Connection).filter(
                provider__in=providers_with("recovers_gaps")
            )
            return db_field.formfield(**kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if change:
            raise PermissionDenied
        obj.trigger = RecoveryRun.Trigger.MANUAL
        obj.requested_by = request.user
        obj.next_attempt_at = clock.now()
        obj.save()

    @admin.display(description=_("erro"))
    def short_error(self, obj):
        return (obj.error or "")[:80]
