"""Tenant scope of the admin's rows: who sees which rows of every project model.

The one rule: admins see the whole installation, a reseller user everything of its
own tenant, an agent its own profile, its departments and what hangs off the tickets
it can open. This module holds the rule and accounts' own models; every other app
registers the scope of its models here (tickets.reads.selectors, whatsapp.selectors), so
another tenant's row simply does not exist for the user (404), in lists, counts,
searches and filters alike. A model nobody registered is invisible (fail closed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import Model, QuerySet

from accounts.models import ApiToken, ClientChange, ContactField, Department, Reseller, ResellerConfig, Tag, User


def _is_anonymous(user) -> bool:
    return not getattr(user, "is_authenticated", False) or not user.is_active


def user_is_tenant_manager(user) -> bool:
    """A reseller user bound to a tenant: manages that tenant and nothing else."""
    return (
        not _is_anonymous(user)
        and not user.is_admin
        and user.role == User.Role.RESELLER
        and user.reseller_id is not None
    )


def user_is_installation_admin(user) -> bool:
    return not _is_anonymous(user) and user.is_admin


def scoped(user, qs: QuerySet, tenant_lookup: str, agent_qs=None) -> QuerySet:
    """Admins see `qs`; tenant managers its rows of their tenant; agents `agent_qs(qs)` (default nothing).

    `agent_qs` is a callable so the agent's narrower query is only built for agents.
    """
    if _is_anonymous(user):
        return qs.none()
    if user.is_admin:
        return qs
    if user_is_tenant_manager(user):
        return qs.filter(**{tenant_lookup: user.reseller_id})
    if user.reseller_id is None or agent_qs is None:
        return qs.none()
    return agent_qs(qs)


def reseller_queryset_for(user) -> QuerySet[Reseller]:
    return scoped(user, Reseller.objects.all(), "pk", agent_qs=lambda qs: qs.filter(pk=user.reseller_id))


def reseller_config_queryset_for(user) -> QuerySet[ResellerConfig]:
    return scoped(
        user, ResellerConfig.objects.all(), "reseller_id", agent_qs=lambda qs: qs.filter(reseller_id=user.reseller_id)
    )


def department_queryset_for(user) -> QuerySet[Department]:
    def own(qs):
        return qs.filter(reseller_id=user.reseller_id, pk__in=list(user.departments.values_list("pk", flat=True)))

    return scoped(user, Department.objects.all(), "reseller_id", agent_qs=own)


def user_queryset_for(user) -> QuerySet[User]:
    """Tenant managers see their tenant's agents and reseller users, never an installation admin."""
    qs = User.objects.all()
    if user_is_tenant_manager(user):
        return qs.filter(reseller_id=user.reseller_id, is_superuser=False).exclude(role=User.Role.ADMIN)
    return scoped(user, qs, "reseller_id", agent_qs=lambda qs: qs.filter(pk=user.pk))


# Which rows of each model a user may see: filled by each app for its own models (scope_register),
# so this module knows only accounts' models.
_SCOPES: dict[type[Model], Callable[[Any], QuerySet]] = {}


def scope_register(model: type[Model], selector: Callable[[Any], QuerySet]) -> None:
    _SCOPES[model] = selector


def has_scope(model: type[Model]) -> bool:
    return model in _SCOPES


def queryset_for(user, model: type[Model]) -> QuerySet:
    """The scoped queryset of any project model; a model without a rule is invisible (fail closed)."""
    selector = _SCOPES.get(model)
    if selector is None:
        return model._default_manager.none()
    return selector(user)


scope_register(Reseller, reseller_queryset_for)
scope_register(ResellerConfig, reseller_config_queryset_for)
scope_register(Department, department_queryset_for)
scope_register(User, user_queryset_for)


def tag_queryset_for(user) -> QuerySet[Tag]:
    # Managed by the tenant's reseller users and admins; agents use them in the workspace only.
    return scoped(user, Tag.objects.all(), "reseller_id")


scope_register(Tag, tag_queryset_for)


def contact_field_queryset_for(user) -> QuerySet[ContactField]:
    # Defined by the tenant's reseller users and admins; every user of the tenant fills them (/contatos/).
    return scoped(user, ContactField.objects.all(), "reseller_id")


def client_change_queryset_for(user) -> QuerySet[ClientChange]:
    # The contact's history is shown on its page (contacts.selectors); here only for supervisors.
    return scoped(user, ClientChange.objects.all(), "reseller_id")


scope_register(ContactField, contact_field_queryset_for)
scope_register(ClientChange, client_change_queryset_for)


def api_token_queryset_for(user) -> QuerySet[ApiToken]:
    # Managed in the admin by installation admins (all) and tenant managers (their tenant's); never a secret.
    return scoped(user, ApiToken.objects.all(), "reseller_id")


scope_register(ApiToken, api_token_queryset_for)


def api_tokens_of(user) -> QuerySet[ApiToken]:
    """A user's own tokens, newest first (the workspace's token page): never another's, never a secret."""
    if _is_anonymous(user):
        return ApiToken.objects.none()
    return ApiToken.objects.filter(user_id=user.pk).order_by("-created_at")
