"""Where a provider call may go: the guard against server-side request forgery.

A connection's API base is typed by a reseller, so it is checked when it is saved (the admin
form) and again right before every call (DNS answers can change in between):

- always refused: a scheme other than http/https, user-info (``user:pass@``), a query string
  or a fragment (``?``/``#`` would discard the path the adapter appends);
- refused unless ``settings.ALLOW_PRIVATE_PROVIDER_HOSTS`` (env ``IAZE_ALLOW_PRIVATE_PROVIDER_HOSTS=1``,
  for a local fake provider in development and tests): a host that is, or resolves to, a
  loopback, private, link-local, multicast, reserved or otherwise non-global address.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext


class UnsafeURL(ValueError):
    """The URL may not be called. `text` is a pt-BR sentence safe to show to a reseller or an agent."""

    def __init__(self, text: str, *, unresolved: bool = False):
        super().__init__(text)
        self.text = text
        # The host's name did not resolve: maybe a passing DNS failure, worth trying again later.
        self.unresolved = unresolved


def private_hosts_allowed() -> bool:
    return bool(getattr(settings, "ALLOW_PRIVATE_PROVIDER_HOSTS", False))


def _refused_address(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    mapped = getattr(ip, "ipv4_mapped", None)
    if mapped is not None:
        ip = mapped
    return (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def check_shape(url: str) -> tuple[str, int]:
    """The checks that need no DNS. Returns (host, port)."""
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeURL(gettext("A URL base precisa começar com http:// ou https:// e ter um host."))
    if "@" in parts.netloc or parts.username or parts.password:
        raise UnsafeURL(gettext("A URL base não pode conter usuário ou senha."))
    if "?" in url or "#" in url:
        raise UnsafeURL(gettext("A URL base não pode conter parâmetros (?) nem fragmento (#)."))
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeURL(gettext("A porta da URL base é inválida.")) from None
    return parts.hostname, port


def _addresses(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def check_provider_url(url: str, *, unresolved_ok: bool = False) -> None:
    """Raise UnsafeURL when `url` may not be called.

    `unresolved_ok`: a host whose name does not resolve now passes (the admin form: the
    name may exist later; every call checks again). At call time it is refused."""
    host, port = check_shape(url)
    if private_hosts_allowed():
        return
    try:
        addresses = _addresses(host, port)
    except (OSError, UnicodeError):
        if unresolved_ok:
            return
        raise UnsafeURL(gettext("O host da URL base não foi encontrado."), unresolved=True) from None
    if not addresses or any(_refused_address(ip) for ip in addresses):
        raise UnsafeURL(gettext("A URL base aponta para um endereço interno ou reservado; ela não é permitida."))
