"""Forms of the accounts app: throttled logins, users and reseller configuration."""

from __future__ import annotations

import math
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AdminUserCreationForm, AuthenticationForm, UserChangeForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts import throttle
from accounts.hours import validate_business_hours
from accounts.hours_form import HolidaysField, WeekGridField
from accounts.models import Department, ResellerConfig, User

HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


# --- login -------------------------------------------------------------------------


class ThrottledLoginMixin:
    """Checks a password only with a check reserved on every throttle counter (accounts.throttle)."""

    throttled = False

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        if not (username and self.cleaned_data.get("password")):
            return super().clean()  # no password to check: the missing field says so
        reservation = throttle.reserve(self.request, username)
        if not reservation.granted:
            self.throttled = True
            # Whether the login names an account or not, the same answer (the counters do not know either).
            minutes = max(1, math.ceil(throttle.retry_after(self.request, username) / 60))
            raise ValidationError(
                ngettext(
                    "Muitas tentativas de login. Tente novamente em %(minutes)d minuto.",
                    "Muitas tentativas de login. Tente novamente em %(minutes)d minutos.",
                    minutes,
                ),
                code="throttled",
                params={"minutes": minutes},
            )
        try:
            cleaned = super().clean()
        except ValidationError as exc:
            # A wrong password (or, on the admin's form, a user who may not enter it) keeps its reservation:
            # that is the failure counted. Any other refusal came after a right password.
            if not any(error.code == "invalid_login" for error in exc.error_list):
                reservation.release()
            raise
        reservation.succeeded()
        return cleaned


class ThrottledAuthenticationForm(ThrottledLoginMixin, AuthenticationForm):
    pass


class ThrottledAdminAuthenticationForm(ThrottledLoginMixin, AdminAuthenticationForm):
    pass


# --- users -----------------------------------------------------------------------------


class TenantUserFormMixin:
    """Keeps a user's tenant, role and departments consistent, whoever edits it."""

    # An e-mail is one login for the whole installation, so it is unique across tenants. Only an
    # installation admin (who sees every tenant) is told that it is taken; a tenant manager gets one
    # neutral answer whether the e-mail is taken in another tenant or in their own, so the form never
    # says which addresses other tenants use. The admin sets this per request (UserAdmin.get_form).
    email_taken_detail = False

    def clean_email(self):
        email = (self.cleaned_data.get("email") or "").strip().lower()
        clash = User.objects.filter(email__iexact=email)
        if self.instance.pk:
            clash = clash.exclude(pk=self.instance.pk)
        if email and clash.exists():
            if self.email_taken_detail:
                raise ValidationError(_("Já existe um usuário com este e-mail."), code="unique")
            raise ValidationError(_("Não foi possível usar este e-mail. Informe outro."), code="unavailable")
        return email

    def clean(self):
        cleaned = super().clean()
        role = cleaned.get("role", self.instance.role)
        reseller = cleaned.get("reseller", self.instance.reseller)
        if role in (User.Role.AGENT, User.Role.RESELLER) and reseller is None:
            self.add_error(
                "reseller" if "reseller" in self.fields else None,
                _("Agentes e revendas precisam pertencer a uma revenda."),
            )
        departments = cleaned.get("departments")
        if departments is not None and reseller is not None:
            foreign = [d.name for d in departments if d.reseller_id != reseller.pk]
            if foreign:
                self.add_error(
                    "departments" if "departments" in self.fields else None,
                    _("Departamentos de outra revenda: %(names)s") % {"names": ", ".join(foreign)},
                )
        return cleaned


class UserAddForm(TenantUserFormMixin, AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class UserEditForm(TenantUserFormMixin, UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


# --- reseller configuration ------------------------------------------------------


_HOURS_HELP = _(
    "Um ou mais intervalos por dia, separados por vírgula: 08:00-12:00, 13:00-18:00. "
    "Dia vazio: fechado. Todos os dias vazios: sempre aberto."
)
_HOLIDAYS_HELP = _(
    "Uma data por linha: 25/12 (todo ano) ou 03/04/2026 (só nessa data). Fechado o dia todo; "
    "um feriado num dia já fechado não muda nada."
)


class ResellerConfigForm(forms.ModelForm):
    business_hours = WeekGridField(label=_("horário de atendimento"), required=False, help_text=_HOURS_HELP)
    holidays = HolidaysField(label=_("feriados"), required=False, help_text=_HOLIDAYS_HELP)

    class Meta:
        model = ResellerConfig
        fields = (
            "display_name",
            "primary_color",
            "greeting_text",
            "farewell_text",
            "out_of_hours_text",
            "transfer_text",
            "business_hours",
            "holidays",
            "timezone",
            "reply_signature",
            "satisfaction_enabled",
            "satisfaction_question_text",
            "satisfaction_thanks_text",
            "wait_warn_minutes",
            "wait_late_minutes",
        )
        widgets = {"primary_color": forms.TextInput(attrs={"type": "color"})}
        help_texts = {
            "greeting_text": _("Enviada uma vez na primeira mensagem de cada novo atendimento. Vazio: não envia."),
            "farewell_text": _("Enviada ao Finalizar. Vazio: não envia."),
            "out_of_hours_text": _("Enviada no máximo uma vez por atendimento, fora do horário. Vazio: não envia."),
            "satisfaction_enabled": _(
                "Ao Finalizar, pergunta ao cliente uma nota de 1 a 5 (no Meta, só dentro da janela de 24 horas). "
                "Uma resposta de 1 a 5 em até 24 horas fica no atendimento finalizado e não abre outro."
            ),
        }

    def clean(self):
        data = super().clean()
        warn, late = data.get("wait_warn_minutes"), data.get("wait_late_minutes")
        if warn and late and late < warn:
            self.add_error("wait_late_minutes", _("Deve ser maior ou igual ao tempo de alerta."))
        return data

    def clean_primary_color(self):
        color = (self.cleaned_data.get("primary_color") or "").strip()
        if not HEX_COLOR.match(color):
            raise ValidationError(_("Use uma cor no formato #RRGGBB."), code="invalid")
        return color.lower()

    def clean_business_hours(self):
        hours = self.cleaned_data.get("business_hours") or {}
        validate_business_hours(hours)
        return hours

    def clean_timezone(self):
        name = (self.cleaned_data.get("timezone") or "").strip()
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationError(_("Fuso horário desconhecido (ex.: America/Sao_Paulo)."), code="invalid") from None
        return name


class DepartmentForm(forms.ModelForm):
    """A department's own hours and texts; left empty, the tenant's apply."""

    business_hours = WeekGridField(label=_("horário de atendimento"), required=False, help_text=_HOURS_HELP)

    class Meta:
        model = Department
        fields = (
            "reseller",
            "name",
            "active",
            "own_hours",
            "business_hours",
            "greeting_text",
            "out_of_hours_text",
            "farewell_text",
        )
        help_texts = {
            "own_hours": _("Desmarcado: vale o horário da revenda (os feriados são sempre os da revenda)."),
            "greeting_text": _("Vazio: vale a mensagem da revenda."),
            "out_of_hours_text": _("Vazio: vale a mensagem da revenda."),
            "farewell_text": _("Vazio: vale a mensagem da revenda."),
        }

    def clean(self):
        data = super().clean()
        if data.get("own_hours") and "business_hours" not in self.errors and not data.get("business_hours"):
            self.add_error("business_hours", _('Preencha o horário do departamento ou desmarque "horário próprio".'))
        return data
