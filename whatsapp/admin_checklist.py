"""The first-run checklist on the admin home of a tenant's reseller user.

Each step is ticked from data, never from a click: at least one department, one agent, one connection,
business hours set, and one message on any ticket (the test message). The list leaves the home once
every step is done. Installation admins see no list: they manage every tenant, not one.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.models import Department, ResellerConfig, User
from accounts.selectors import user_is_tenant_manager
from tickets.models import Message
from whatsapp.models import Connection


def first_run_steps(reseller) -> list[dict]:
    connection_ids = list(Connection.objects.filter(reseller=reseller).values_list("pk", flat=True)[:50])
    config = ResellerConfig.objects.filter(reseller=reseller).first()
    return [
        {
            "label": _("Criar os departamentos"),
            "hint": _("Ex.: Suporte, Financeiro. Cada conversa cai num departamento."),
            "done": Department.objects.filter(reseller=reseller, active=True).exists(),
            "url": reverse("admin:accounts_department_changelist"),
        },
        {
            "label": _("Cadastrar os agentes"),
            "hint": _("Usuários com o papel Agente, ligados aos seus departamentos."),
            "done": User.objects.filter(reseller=reseller, role=User.Role.AGENT, is_active=True).exists(),
            "url": reverse("admin:accounts_user_changelist"),
        },
        {
            "label": _("Conectar um número de WhatsApp"),
            "hint": _("Uma conexão Meta ou Evolution."),
            "done": bool(connection_ids),
            "url": reverse("admin:whatsapp_connection_changelist"),
        },
        {
            "label": _("Definir o horário e as mensagens"),
            "hint": _("Horário de atendimento, feriados, saudação e mensagem fora do horário."),
            "done": bool(config and config.business_hours),
            "url": reverse("admin:accounts_reseller_change", args=[reseller.pk]),
        },
        {
            "label": _("Enviar uma mensagem de teste"),
            "hint": _("Mande um WhatsApp para o número conectado e veja o atendimento chegar."),
            "done": bool(connection_ids) and Message.objects.filter(connection_id__in=connection_ids).exists(),
            "url": reverse("admin:tickets_ticket_changelist"),
        },
    ]


def first_run_checklist(request) -> dict:
    """Admin home context: `first_run` (the steps) while a tenant manager has a step left, else nothing."""
    if not user_is_tenant_manager(request.user):
        return {}
    steps = first_run_steps(request.user.reseller)
    if all(step["done"] for step in steps):
        return {}
    return {"first_run": steps, "first_run_done": sum(step["done"] for step in steps)}
