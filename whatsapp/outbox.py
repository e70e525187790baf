"""Outbox: delivery of queued outbound messages. (Completed by the WhatsApp channel work.)"""

META_MAX_TEXT = 4096


def max_text_length(connection) -> int:
    return META_MAX_TEXT


def send_soon(message) -> None:
    raise NotImplementedError
