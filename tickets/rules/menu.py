"""The department menu ("1 - Suporte, 2 - Financeiro"): what to send and what a client's answer chose.

Decisions only. The menu's configuration lives on the connection (a higher layer), which hands it
down as a `DepartmentMenu`; `ticket_menu_after_inbound` (tickets/services/inbound.py, a step of the door
`tickets.services.message_receive`) writes what is decided here.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from django.utils.translation import gettext as _

from tickets.models import Message, Ticket

# The first send plus at most two repeats.
MAX_PROMPTS = 3
# Options are numbered 1, 2, 3…: an answer with more significant digits than this names none of them.
MAX_OPTION_DIGITS = 6
# Answers that are neither text nor a choice: they neither choose nor ask for the menu again.
NOT_AN_ANSWER = {Message.Kind.REACTION, Message.Kind.SYSTEM}


@dataclass(frozen=True)
class MenuOption:
    number: int
    department_id: object
    name: str


@dataclass(frozen=True)
class DepartmentMenu:
    intro: str
    options: tuple[MenuOption, ...]

    @property
    def usable(self) -> bool:
        return bool(self.options)


def normalize(text: str) -> str:
    """Case, accents and spacing do not matter: " FINANCEIRO " and "financeiro" are one answer."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"\s+", " ", plain).strip().casefold()


def render(menu: DepartmentMenu) -> str:
    intro = (menu.intro or "").strip() or _("Para quem devemos encaminhar seu atendimento? Responda com o número:")
    lines = [f"{o.number} - {o.name}" for o in menu.options]
    return "\n".join([intro, *lines])


def confirmation(option: MenuOption) -> str:
    return _("Certo! Seu atendimento foi encaminhado para %(department)s. Aguarde, logo você será atendido(a).") % {
        "department": option.name
    }


def choice(menu: DepartmentMenu, *, kind: str, text: str) -> MenuOption | None:
    """The option a client's answer names: its number ("2", "02", " 2 ") or its department's name."""
    if kind != Message.Kind.TEXT:
        return None
    answer = normalize(text).rstrip(".!")
    if not answer:
        return None
    if answer.isdigit() and answer.isascii():
        digits = answer.lstrip("0") or "0"
        if len(digits) > MAX_OPTION_DIGITS:
            return None  # no option has that number (and int() refuses thousands of digits)
        number = int(digits)
        return next((o for o in menu.options if o.number == number), None)
    return next((o for o in menu.options if normalize(o.name) == answer), None)


def awaiting_answer(ticket: Ticket) -> bool:
    """The menu was offered on this ticket and still decides: espera, unclaimed, not answered yet."""
    return (
        ticket.status == Ticket.Status.OPEN
        and ticket.agent_id is None
        and ticket.menu_done_at is None
        and ticket.menu_prompts_sent > 0
    )
