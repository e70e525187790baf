from django.urls import path

from whatsapp import views

app_name = "whatsapp"

urlpatterns = [
    path("webhook/<slug:key>/", views.webhook, name="webhook"),
]
