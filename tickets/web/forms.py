import secrets

from django import forms
from django.utils.translation import gettext_lazy as _

from tickets.models import UIState


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


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field (Django's documented pattern): cleaned as a list, empty when none."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data if d]
        return [single(data, initial)] if data else []


class ReplyForm(forms.Form):
    text = forms.CharField(
        label=_("Resposta"),
        strip=False,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": _("Escreva sua resposta ao cliente")}),
    )
    # Attached photos, audios, videos or documents, each sent as its own message in order. One file: the text
    # is its caption (optional); several: each has its own `caption` field, in the files' order.
    file = MultipleFileField(label=_("Anexar arquivos"), required=False)
    # A voice note recorded in the browser (static/js/voice.js): sent alone, as a voice message.
    voice = forms.FileField(label=_("Mensagem de voz"), required=False, widget=forms.FileInput(attrs={"hidden": ""}))
    # A quick reply chosen with "/" that carries a file: sent as that file, the text its caption.
    quick_reply = forms.CharField(
        widget=forms.HiddenInput(attrs={"data-quick-reply": ""}), max_length=64, required=False
    )
    # One nonce per rendered form: a double click or a resubmission stores one message.
    # Optional, because the contract's interface is the `text` field alone.
    nonce = forms.CharField(widget=forms.HiddenInput, max_length=64, required=False)
    # The message of this ticket the reply quotes (its id), set by a message's quote control.
    reply_to = forms.CharField(widget=forms.HiddenInput(attrs={"data-reply-to": ""}), max_length=64, required=False)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("nonce", secrets.token_urlsafe(16))
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        empty = not (cleaned.get("text") or "").strip() and not cleaned.get("file") and not cleaned.get("quick_reply")
        empty = empty and not cleaned.get("voice")
        if empty and "text" not in self.errors:
            self.add_error("text", self.fields["text"].error_messages["required"])
        return cleaned
