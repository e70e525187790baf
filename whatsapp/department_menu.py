"""A connection's department menu as the plain data tickets.rules.menu decides with (tickets may not read
whatsapp's models): the options in the order the admin chose, active departments of its tenant only."""

from __future__ import annotations

from accounts.models import Department
from tickets.rules.menu import DepartmentMenu, MenuOption
from whatsapp.models import Connection


def department_menu_for(connection: Connection) -> DepartmentMenu | None:
    if not connection.menu_enabled:
        return None
    wanted = [str(pk) for pk in (connection.menu_department_ids or [])]
    found = {
        str(d.pk): d for d in Department.objects.filter(pk__in=wanted, reseller_id=connection.reseller_id, active=True)
    }
    departments = [found[pk] for pk in dict.fromkeys(wanted) if pk in found]
    options = tuple(MenuOption(number=i, department_id=d.pk, name=d.name) for i, d in enumerate(departments, 1))
    return DepartmentMenu(intro=connection.menu_intro, options=options) if options else None
