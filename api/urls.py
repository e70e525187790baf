from django.urls import path, re_path

from api import contacts, conversations, errors, schema, views, webhook_views

app_name = "api"

urlpatterns = [
    path("tickets/", views.TicketList.as_view(), name="tickets"),
    path("tickets/<uuid:pk>/", views.TicketDetail.as_view(), name="ticket"),
    path("tickets/<uuid:pk>/messages/", views.TicketMessages.as_view(), name="ticket_messages"),
    path("tickets/<uuid:pk>/notes/", views.TicketNotes.as_view(), name="ticket_notes"),
    path("tickets/<uuid:pk>/claim/", views.TicketClaim.as_view(), name="ticket_claim"),
    path("tickets/<uuid:pk>/close/", views.TicketClose.as_view(), name="ticket_close"),
    path("tickets/<uuid:pk>/transfer/", views.TicketTransfer.as_view(), name="ticket_transfer"),
    path("contacts/", contacts.ContactList.as_view(), name="contacts"),
    path("contacts/<uuid:pk>/", contacts.ContactDetail.as_view(), name="contact"),
    path("conversations/", conversations.ConversationStart.as_view(), name="conversations"),
    path("webhooks/", webhook_views.WebhookList.as_view(), name="webhooks"),
    path("webhooks/<uuid:pk>/", webhook_views.WebhookDetail.as_view(), name="webhook"),
    path("schema/", schema.SchemaView.as_view(), name="schema"),
    path("docs/", schema.docs, name="docs"),
    # Anything else under /api/v1/: a JSON 404, never the pages' HTML one.
    re_path(r"^.*$", errors.not_found),
]
