"""The supervisor's panel (tickets.web.panel_views), included at /painel/."""

from django.urls import path

from tickets.web import panel_views

urlpatterns = [
    path("", panel_views.panel, name="panel"),
]
