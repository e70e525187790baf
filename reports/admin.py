"""The client-data export (LGPD) as an action of the Client admin, which is scoped to the user's tenant.

The action is added here, not in accounts/admin.py, because accounts may not import the layers above it.
"""

from django.contrib import admin, messages
from django.http import StreamingHttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Client
from reports import lgpd


@admin.action(description=gettext_lazy("Exportar os dados do cliente (LGPD)"), permissions=["view"])
def export_client_data(modeladmin, request, queryset):
    """One client at a time: a ZIP with client.json and the client's files, streamed as it is written
    (the worker holds a piece of it, never the whole). Nothing is changed."""
    chosen = list(queryset[:2])
    if len(chosen) != 1:
        modeladmin.message_user(request, _("Selecione exatamente um cliente para exportar."), messages.WARNING)
        return None
    export = lgpd.client_export_start(client=chosen[0], by=request.user)
    response = StreamingHttpResponse(export.chunks(), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{export.name}"'
    return response


_client_admin = admin.site.get_model_admin(Client)
if export_client_data not in _client_admin.actions:
    _client_admin.actions = [*(_client_admin.actions or ()), export_client_data]
