from django.urls import path

from contacts import views

app_name = "contacts"

urlpatterns = [
    path("", views.contact_list, name="list"),
    path("novo/", views.contact_new, name="new"),
    path("importar/", views.contact_import, name="import"),
    path("importar/<uuid:pk>/", views.contact_import_result, name="import_result"),
    path("exportar.csv", views.contact_export, name="export"),
    path("<uuid:pk>/", views.contact_detail, name="detail"),
]
