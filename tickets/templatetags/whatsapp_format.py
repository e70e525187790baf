"""`{% load whatsapp_format %}`: `{{ text|whatsapp }}` shows a message text with WhatsApp's formatting
(tickets.reads.formatting), everything else escaped and line breaks kept."""

from django import template

from tickets.reads.formatting import whatsapp_html

register = template.Library()


@register.filter(is_safe=True)
def whatsapp(value):
    return whatsapp_html(value)


@register.filter(is_safe=True)
def whatsapp_inline(value):
    """The same on one line (previews)."""
    return whatsapp_html(value, inline=True)
