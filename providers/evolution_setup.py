"""Creating and adopting an Evolution API instance (the admin's "Conectar WhatsApp").

Evolution API v2: `POST {base}/instance/create` with the gateway's global key creates the instance, starts
its session and answers its token (`hash`) and first QR code (`qrcode.base64`); a name already taken is a
403 'This name "x" is already in use.'. `POST {base}/webhook/set/{instance}` points an existing instance's
webhook at IAZE. The gateway's own answer text is never shown (it may carry the reseller's base URL):
every refusal is told in pt-BR here.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext

from providers.base import as_dict, as_str, post_json
from providers.evolution import parse_connect
from providers.types import Pairing, SendError

# The Connection.Provider value of the connections this module sets up (asked here, not named by callers).
PROVIDER = "evolution"

# The events IAZE's Evolution parser reads (providers.evolution.EvolutionProvider.parse); QRCODE_UPDATED is
# left out: the pairing page asks instance/connect itself, and each QR event is a large base64 body.
WEBHOOK_EVENTS = ("MESSAGES_UPSERT", "MESSAGES_UPDATE", "SEND_MESSAGE", "CONNECTION_UPDATE")


@dataclass
class CreatedInstance:
    adopted: bool  # the name existed: its webhook was set, no new instance was made
    token: str  # the key IAZE keeps for this connection (the instance's own token, or the global key)
    pairing: Pairing


def webhook_config(url: str, key: str) -> dict:
    """The webhook block: one URL for every event (byEvents off), media inline (base64), and the
    connection's key as an `apikey` header, so that an adopted instance (whose own token IAZE never
    learns) still authenticates."""
    return {
        "enabled": True,
        "url": url,
        "byEvents": False,
        "base64": True,
        "headers": {"apikey": key},
        "events": list(WEBHOOK_EVENTS),
    }


def _refusal(status: int, data: dict) -> SendError:
    if status == 401:
        return SendError(
            "gateway_key", gettext("O gateway recusou a chave global (apikey): confira a chave."), retryable=False
        )
    if status == 403 and "already in use" in str(as_dict(data.get("response")).get("message")):
        return SendError("name_taken", gettext("Já existe uma instância com este nome no gateway."), retryable=False)
    if status >= 500:
        return SendError(
            f"http_{status}",
            gettext("O gateway está com problemas (HTTP %(status)d); tente de novo em instantes.") % {"status": status},
            retryable=True,
        )
    return SendError(
        f"http_{status}",
        gettext("O gateway recusou o pedido (HTTP %(status)d).") % {"status": status},
        retryable=False,
    )


def _json(response) -> dict:
    try:
        return as_dict(response.json())
    except ValueError:
        return {}


def evolution_create(*, base_url: str, global_key: str, instance: str, token: str, webhook_url: str) -> CreatedInstance:
    """Create `instance` with `token` as its key, or adopt it when the name is taken; SendError otherwise."""
    base = base_url.rstrip("/")
    body = {
        "instanceName": instance,
        "integration": "WHATSAPP-BAILEYS",
        "qrcode": True,
        "token": token,
        "webhook": webhook_config(webhook_url, token),
    }
    response = post_json(f"{base}/instance/create", json=body, headers={"apikey": global_key})
    data = _json(response)
    if response.status_code < 300:
        kept = as_str(data.get("hash")) or token
        return CreatedInstance(adopted=False, token=kept, pairing=parse_connect(as_dict(data.get("qrcode"))))
    error = _refusal(response.status_code, data)
    if error.code != "name_taken":
        raise error
    # Adopt: the instance keeps its own token, which the gateway does not hand out; the global key is
    # then this connection's key, for calls and (as a header) for its webhooks.
    hook = post_json(
        f"{base}/webhook/set/{instance}",
        json={"webhook": webhook_config(webhook_url, global_key)},
        headers={"apikey": global_key},
    )
    if hook.status_code >= 300:
        raise _refusal(hook.status_code, _json(hook))
    return CreatedInstance(adopted=True, token=global_key, pairing=Pairing())
