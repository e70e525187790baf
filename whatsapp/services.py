"""The writers of the channel's own rows besides the journal (whatsapp.journal): a connection's state."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db.models import Q

from iaze.lib import clock
from providers import ConnectionStateUpdate, evolution_setup, meta_check
from providers.evolution_setup import evolution_create
from providers.meta_check import meta_phone_check
from whatsapp.models import Connection, new_connection_key


def connection_state_ingest(*, connection: Connection, update: ConnectionStateUpdate) -> bool:
    """Store the provider's connection state; an older report never overwrites a newer one."""
    at = clock.to_ms(update.timestamp) or clock.now()
    return (
        Connection.objects.filter(pk=connection.pk)
        .filter(Q(state_updated_at__isnull=True) | Q(state_updated_at__lte=at))
        .update(state=update.state[:32], state_updated_at=at, updated_at=clock.now())
        == 1
    )


def evolution_connection_create(
    *, reseller, department, name: str, base_url: str, global_key: str, instance_name: str, public_url: str
):
    """ "Conectar WhatsApp" for Evolution: the instance is created (or adopted) on the gateway first, and the
    Connection row is written only once the gateway said yes, so a refusal leaves nothing behind in IAZE.

    Returns (connection, CreatedInstance); raises providers.SendError with a pt-BR text otherwise."""
    key = new_connection_key()
    created = evolution_create(
        base_url=base_url,
        global_key=global_key,
        instance=instance_name,
        token=secrets.token_hex(24),
        webhook_url=f"{public_url.rstrip('/')}/whatsapp/webhook/{key}/",
    )
    connection = Connection.objects.create(
        reseller=reseller,
        default_department=department,
        name=name,
        provider=evolution_setup.PROVIDER,
        key=key,
        instance_name=instance_name,
        api_base_url=base_url,
        api_key=created.token,
        gateway_key=global_key,
        state=created.pairing.state or "",
    )
    return connection, created


def meta_connection_create(
    *,
    reseller,
    department,
    name,
    key,
    verify_token,
    phone_number_id,
    business_account_id,
    access_token,
    app_secret,
    base_url: str = "",
):
    """The Meta side of "Conectar WhatsApp": the token and phone number id are checked with Graph first
    (providers.meta_check; MetaCheckError says which is wrong) and the row is written only after a yes."""
    number = meta_phone_check(
        base_url=base_url or settings.META_GRAPH_BASE_URL, phone_number_id=phone_number_id, access_token=access_token
    )
    return Connection.objects.create(
        reseller=reseller,
        default_department=department,
        name=name or number.verified_name,
        provider=meta_check.PROVIDER,
        key=key,
        verify_token=verify_token,
        phone_number_id=phone_number_id,
        business_account_id=business_account_id,
        display_phone=number.display_phone,
        access_token=access_token,
        app_secret=app_secret,
        api_base_url=base_url,
    )
