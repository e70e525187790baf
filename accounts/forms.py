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

from . import throttle
from .hours import validate_business_hours
from .models import ResellerConfig, User

HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


# --- login -------------------------------------------------------------------------


class ThrottledLoginMixin:
    """Refuses to even check the password while the (IP, e-mail) is locked out."""

    throttled = False

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        wait = throttle.retry_after(self.request, username)
        if wait:
            self.throttled = True
            minutes = math.ceil(wait / 60)
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
            if any(error.code == "invalid_login" for error in exc.error_list):
                throttle.record_failure(self.request, username)
            raise
        throttle.record_success(self.request, username)
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


class ResellerConfigForm(forms.ModelForm):
    class Meta:
        model = ResellerConfig
        fields = (
            "display_name",
            "primary_color",
            "greeting_text",
            "farewell_text",
            "out_of_hours_text",
            "business_hours",
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
            "business_hours": _(
                'Dias mon, tue, wed, thu, fri, sat, sun com intervalos "HH:MM", por exemplo '
                '{"mon": [["08:00", "12:00"], ["13:00", "18:00"]], "sat": [["08:00", "12:00"]]}. '
                "Vazio: sempre aberto. Um dia ausente: fechado o dia todo."
            ),
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
