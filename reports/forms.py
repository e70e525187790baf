"""The report's filter form: period (today, 7 days, 30 days, custom), department, agent, connection.

Choices are read from the user's tenant only, so an id of another tenant is simply not a valid choice.
An installation admin (no tenant of their own) also chooses the tenant.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Department, Reseller, User
from reports.scope import Scope, reseller_timezone
from whatsapp.models import Connection

MAX_DAYS = 366
PERIODS = [
    ("hoje", _("Hoje")),
    ("7d", _("Últimos 7 dias")),
    ("30d", _("Últimos 30 dias")),
    ("custom", _("Personalizado")),
]


def may_see_reports(user: Any) -> bool:
    """Resellers (their tenant) and admins: agents never."""
    if not (user.is_authenticated and user.is_active):
        return False
    if user.is_admin:
        return True
    return user.role == User.Role.RESELLER and user.reseller_id is not None


class ReportFilterForm(forms.Form):
    revenda = forms.ModelChoiceField(queryset=Reseller.objects.none(), required=False, label=_("Revenda"))
    periodo = forms.ChoiceField(choices=PERIODS, required=False, label=_("Período"))
    inicio = forms.DateField(required=False, label=_("De"), widget=forms.DateInput(attrs={"type": "date"}))
    fim = forms.DateField(required=False, label=_("Até"), widget=forms.DateInput(attrs={"type": "date"}))
    departamento = forms.ModelChoiceField(
        queryset=Department.objects.none(), required=False, label=_("Departamento"), empty_label=_("Todos")
    )
    agente = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, label=_("Agente"), empty_label=_("Todos")
    )
    conexao = forms.ModelChoiceField(
        queryset=Connection.objects.none(), required=False, label=_("Conexão"), empty_label=_("Todas")
    )

    def __init__(self, data, *, user: Any, now: datetime):
        super().__init__(data)
        self.user, self.now = user, now
        if user.reseller_id is None:  # an installation admin picks the tenant
            self.fields["revenda"].queryset = Reseller.objects.order_by("name")
            self.fields["revenda"].empty_label = None
            chosen = self.data.get("revenda")
            reseller = self.fields["revenda"].queryset.filter(pk=chosen).first() if _is_uuid(chosen) else None
            self.reseller = reseller or self.fields["revenda"].queryset.first()
        else:
            del self.fields["revenda"]
            self.reseller = Reseller.objects.filter(pk=user.reseller_id).first()
        tenant = {"reseller": self.reseller}
        self.fields["departamento"].queryset = Department.objects.filter(**tenant).order_by("name")
        self.fields["agente"].queryset = User.objects.filter(**tenant, role=User.Role.AGENT).order_by("name", "email")
        self.fields["conexao"].queryset = Connection.objects.filter(**tenant).order_by("name", "key")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("periodo") == "custom":
            start, end = cleaned.get("inicio"), cleaned.get("fim")
            if not start or not end:
                raise forms.ValidationError(_("Informe o início e o fim do período."))
            if end < start:
                raise forms.ValidationError(_("O fim do período é anterior ao início."))
            if (end - start).days >= MAX_DAYS:
                raise forms.ValidationError(_("O período pode ter no máximo %(n)d dias.") % {"n": MAX_DAYS})
        return cleaned

    def scope(self) -> Scope | None:
        """The tenant, days and filters asked for; an invalid filter is ignored, an invalid period is 7 days."""
        if self.reseller is None:
            return None
        tz = reseller_timezone(self.reseller)
        today = self.now.astimezone(tz).date()
        self.is_valid()  # an invalid filter is dropped (and shown); the valid ones still apply
        cleaned = self.cleaned_data
        period = cleaned.get("periodo") or "7d"
        if self.non_field_errors():
            period = "7d"
        first, last = _period(period, today, cleaned.get("inicio"), cleaned.get("fim"))
        if self.data.get("periodo") != period:
            # The select shows the period the page shows: 7 days on a first visit (no `periodo`), or after
            # a refused custom period — not the first option, "Hoje", or the refused "Personalizado".
            self.data = self.data.copy()
            self.data["periodo"] = period
        pick = lambda name: getattr(cleaned.get(name), "pk", None)  # noqa: E731
        return Scope(
            reseller=self.reseller,
            tz=tz,
            first_day=first,
            last_day=last,
            department_id=pick("departamento"),
            agent_id=pick("agente"),
            connection_id=pick("conexao"),
        )


def _period(period: str, today: date, start: date | None, end: date | None) -> tuple[date, date]:
    if period == "hoje":
        return today, today
    if period == "30d":
        return today - timedelta(days=29), today
    if period == "custom" and start and end:
        return start, end
    return today - timedelta(days=6), today


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True
