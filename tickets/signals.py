"""Signals the tickets layer sends for the layers above it (which it may not import)."""

from django.dispatch import Signal

# A provider accepted an outbound message: kwargs connection_id, at. whatsapp.health stamps the connection.
message_sent = Signal()
