import secrets

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import UIState


class QueueFilterForm(forms.Form):
    """The queue's GET parameters; invalid values fall back to defaults instead of erroring."""

    status = forms.ChoiceField(choices=UIState.choices, required=False)
    department = forms.ChoiceField(label=_("Departamento"), required=False)
    agent = forms.ChoiceField(label=_("Agente"), required=False)
    tag = forms.ChoiceField(label=_("Etiqueta"), required=False)
    q = forms.CharField(
        label=_("Buscar"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Nome, número ou texto da mensagem")}),
    )
    cursor = forms.CharField(required=False, max_length=100)
    holder = forms.ChoiceField(choices=[("", ""), ("me", "me"), ("others", "others")], required=False)

    def __init__(self, *args, departments=(), agents=None, tags=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tag"].choices = [("", _("Todas as etiquetas"))] + [(str(t.pk), t.name) for t in tags]
        self.fields["department"].choices = [("", _("Todos os departamentos"))] + [
            (str(d.pk), d.name) for d in departments
        ]
        if agents is None:
            del self.fields["agent"]
        else:
            self.fields["agent"].choices = [("", _("Todos os agentes"))] + [(str(a.pk), a.display_name) for a in agents]

    def value(self, name: str) -> str:
        self.is_valid()  # fills cleaned_data with the fields that are valid
        return self.cleaned_data.get(name) or ""


class ReplyForm(forms.Form):
    text = forms.CharField(
        label=_("Resposta"),
        strip=False,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": _("Escreva sua resposta ao cliente")}),
    )
    # An attached photo, audio, video or document; the text is then its caption (optional).
    file = forms.FileField(label=_("Anexar arquivo"), required=False)
    # One nonce per rendered form: a double click or a resubmission stores one message.
    # Optional, because the contract's interface is the `text` field alone.
    nonce = forms.CharField(widget=forms.HiddenInput, max_length=64, required=False)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("nonce", secrets.token_urlsafe(16))
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        if not (cleaned.get("text") or "").strip() and not cleaned.get("file") and "text" not in self.errors:
            self.add_error("text", self.fields["text"].error_messages["required"])
        return cleaned
