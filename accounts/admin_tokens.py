"""The admin of API tokens: list (never a secret), create (the secret shown once, on the answer to the form,
never stored in a message or a cookie), rename, revoke. Tokens are made and revoked by accounts.tokens."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts import tokens
from accounts.admin_site import ScopedAdmin, secret_fields_register
from accounts.models import ApiToken, User
from accounts.selectors import user_is_tenant_manager

secret_fields_register("secret_hash")


class ApiTokenAddForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ("kind", "name", "user", "reseller")
        help_texts = {
            "user": _("Token pessoal: age como este usuário, com exatamente os mesmos direitos."),
            "reseller": _("Token de integração: a revenda onde o bot vai atuar (um usuário bot é criado para ele)."),
        }

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind")
        if kind == ApiToken.Kind.PERSON:
            user = cleaned.get("user")
            if user is None:
                self.add_error("user", _("Escolha o usuário do token."))
            elif not user.is_active:
                self.add_error("user", _("O usuário está inativo."))
            elif user.is_bot:
                self.add_error("user", _("Um usuário de integração recebe tokens só pela criação da integração."))
        elif kind == ApiToken.Kind.INTEGRATION:
            reseller = cleaned.get("reseller")
            if reseller is None:
                self.add_error("reseller", _("Escolha a revenda da integração."))
            elif not reseller.active:
                self.add_error("reseller", _("A revenda está inativa."))
        return cleaned


@admin.action(description=_("Revogar tokens selecionados"), permissions=["change"])
def revoke_tokens(modeladmin, request, queryset):
    revoked = sum(tokens.token_revoke(token=token) for token in queryset.filter(revoked_at__isnull=True))
    modeladmin.message_user(
        request,
        ngettext("%(n)d token revogado.", "%(n)d tokens revogados.", revoked) % {"n": revoked},
        messages.SUCCESS,
    )


@admin.register(ApiToken)
class ApiTokenAdmin(ScopedAdmin):
    list_display = ("name", "shown_prefix", "kind", "user", "reseller", "created_at", "last_used_at", "revoked_at")
    list_select_related = ("user", "reseller")
    list_filter = ("kind", ("reseller", admin.RelatedOnlyFieldListFilter))
    search_fields = ("name", "prefix", "user__email")
    actions = [revoke_tokens]
    readonly_fields = (
        "shown_prefix",
        "kind",
        "user",
        "reseller",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    )

    @admin.display(description=_("token"))
    def shown_prefix(self, obj):
        return f"{obj.prefix}…"

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ApiTokenAddForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("kind", "name", "user", "reseller")
        return ("name", *self.readonly_fields)

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "user" and field is not None:
            # Integration users get their tokens with the integration, never a personal one.
            field.queryset = field.queryset.exclude(role=User.Role.BOT).filter(is_active=True)
            field.required = False
        if db_field.name == "reseller" and field is not None and not user_is_tenant_manager(request.user):
            field.required = False
        return field

    def save_model(self, request, obj, form, change):
        if change:
            # Only the name changes here: a whole-row save would write back a revocation made meanwhile.
            obj.save(update_fields=["name", "updated_at"])
            return
        data = form.cleaned_data
        if data["kind"] == ApiToken.Kind.INTEGRATION:
            reseller = request.user.reseller if user_is_tenant_manager(request.user) else data["reseller"]
            token, secret = tokens.integration_token_create(
                reseller=reseller, name=data["name"], created_by=request.user
            )
        else:
            token, secret = tokens.token_create(user=data["user"], name=data["name"], created_by=request.user)
        obj.__dict__.update({k: v for k, v in token.__dict__.items() if k != "_state"})
        obj._state.adding = False
        request._iaze_new_token_secret = secret

    def response_add(self, request, obj, post_url_continue=None):
        # The secret exists only in this answer: shown once, then only its hash is left.
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "token": obj,
            "secret": getattr(request, "_iaze_new_token_secret", ""),
            "title": _("Token criado"),
        }
        response = TemplateResponse(request, "admin/accounts/apitoken/created.html", context)
        response["Cache-Control"] = "no-store"
        return response
