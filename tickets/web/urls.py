from django.urls import path

from tickets.web import conversation_views, views

app_name = "tickets"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("preferencias/", views.preferences, name="preferences"),
    path("<uuid:pk>/", views.detail, name="detail"),
    path("<uuid:pk>/assumir/", views.claim, name="claim"),
    path("<uuid:pk>/finalizar/", views.close, name="close"),
    path("<uuid:pk>/responder/", views.reply, name="reply"),
    path("<uuid:pk>/midia/<uuid:message_pk>/", views.media_file, name="media"),
    path("<uuid:pk>/midia/<uuid:message_pk>/tentar-de-novo/", views.media_retry, name="media_retry"),
]

urlpatterns += [
    path("<uuid:pk>/transferir/", conversation_views.transfer, name="transfer"),
    path("<uuid:pk>/nota/", conversation_views.note, name="note"),
    path("<uuid:pk>/modelo/", conversation_views.template_send, name="template"),
    path("<uuid:pk>/reagir/", conversation_views.react, name="react"),
    path("<uuid:pk>/etiquetas/", conversation_views.tags, name="tags"),
    path("<uuid:pk>/cliente/", conversation_views.client_rename, name="client_rename"),
]
