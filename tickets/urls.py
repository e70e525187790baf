from django.urls import path

from . import views

app_name = "tickets"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("<uuid:pk>/", views.detail, name="detail"),
    path("<uuid:pk>/assumir/", views.claim, name="claim"),
    path("<uuid:pk>/finalizar/", views.close, name="close"),
    path("<uuid:pk>/responder/", views.reply, name="reply"),
    path("<uuid:pk>/midia/<uuid:message_pk>/", views.media_file, name="media"),
]
