"""Checking a Meta connection's credentials before it is saved (the admin's "Testar conexão").

`GET {base}/{phone-number-id}?fields=display_phone_number,verified_name` with the access token as a Bearer
header: Graph answers the number's node, or an error whose code says which credential is wrong (190: the
token; 100 "does not exist" / "Unsupported get request": the phone number id, or a token that cannot see it).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext

from providers.base import as_dict, as_str, get_json, http_error
from providers.types import SendError

# The Connection.Provider value of the connections this module sets up (asked here, not named by callers).
PROVIDER = "meta"

TOKEN = "access_token"
PHONE = "phone_number_id"


@dataclass
class MetaNumber:
    display_phone: str
    verified_name: str


class MetaCheckError(SendError):
    """A refused check; `field` names the credential that is wrong ("" when Graph did not say)."""

    def __init__(self, field: str, text: str, *, code: str = "meta_check", retryable: bool = False):
        super().__init__(code, text, retryable=retryable)
        self.field = field


def meta_phone_check(*, base_url: str, phone_number_id: str, access_token: str) -> MetaNumber:
    url = f"{base_url.rstrip('/')}/{phone_number_id}"
    response = get_json(
        url,
        headers={"Authorization": f"Bearer {access_token}"},
        params={"fields": "display_phone_number,verified_name"},
    )
    try:
        data = as_dict(response.json())
    except ValueError:
        data = {}
    if response.status_code < 300:
        number = MetaNumber(
            display_phone=as_str(data.get("display_phone_number"))[:32],
            verified_name=as_str(data.get("verified_name"))[:200],
        )
        if not number.display_phone:
            raise MetaCheckError(PHONE, gettext("Este ID não é de um número de WhatsApp: confira o ID do número."))
        return number
    error = as_dict(data.get("error"))
    code, message = error.get("code"), as_str(error.get("message")).lower()
    if code == 190:
        raise MetaCheckError(
            TOKEN, gettext("A Meta recusou o token de acesso (inválido ou expirado): gere um novo token.")
        )
    if code == 100 and ("does not exist" in message or "unsupported get request" in message):
        raise MetaCheckError(
            PHONE,
            gettext(
                "A Meta não encontrou este ID do número de telefone (ou o token não tem acesso a ele): "
                "confira o ID do número."
            ),
        )
    refused = http_error(response.status_code)
    raise MetaCheckError("", refused.text, code=refused.code, retryable=refused.retryable)
