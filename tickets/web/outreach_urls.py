"""Reaching a contact (tickets.web.outreach_views): included at the site's root, beside the contact pages."""

from django.urls import path

from tickets.web import outreach_views

urlpatterns = [
    path("contatos/conversar/", outreach_views.conversation_new, name="reach_out_new"),
    path("contatos/<uuid:pk>/conversar/", outreach_views.conversation_start, name="reach_out_start"),
    path("contatos/<uuid:pk>/agendar/", outreach_views.schedule_create, name="reach_out_schedule"),
    path("agendamentos/", outreach_views.scheduled_list, name="scheduled_list"),
    path("agendamentos/<uuid:pk>/cancelar/", outreach_views.schedule_cancel, name="scheduled_cancel"),
]
