"""Where a provider call may go: the guard against server-side request forgery.

Two kinds of URL, two shape rules:

- a connection's API base is typed by a reseller: always refused with a scheme other than
  http/https, user-info (``user:pass@``), a query string or a fragment (``?``/``#`` would discard
  the path the adapter appends). ``check_provider_url`` is the admin form's check;
- a URL the provider hands over in an answer (Meta's media ``url``, a listing's ``paging.next``)
  is opaque and followed exactly as given, query string included (``check_given_url``): only its
  scheme, host and the absence of user-info are checked.

The address rule is the same for both (refused unless ``settings.ALLOW_PRIVATE_PROVIDER_HOSTS``,
env ``IAZE_ALLOW_PRIVATE_PROVIDER_HOSTS=1``: a host that is, or resolves to, a loopback, private,
link-local, multicast, reserved or otherwise non-global address). The form checks it when a base is
saved; at call time the connection itself applies it to the address it really connects to
(iaze.lib.outbound), so a DNS answer that changes in between changes nothing.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.utils.translation import gettext

from iaze.lib.outbound import address_refused, private_hosts_allowed


class UnsafeURL(ValueError):
    """The URL may not be called. `text` is a pt-BR sentence safe to show to a reseller or an agent."""

    def __init__(self, text: str, *, unresolved: bool = False):
        super().__init__(text)
        self.text = text
        # The host's name did not resolve: maybe a passing DNS failure, worth trying again later.
        self.unresolved = unresolved


def check_given_url(url: str) -> None:
    """A URL from a provider's answer: http(s), a host, no user-info; its query string is kept as is."""
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeURL(gettext("O provedor informou uma URL que não começa com http:// ou https://."))
    if "@" in parts.netloc or parts.username or parts.password:
        raise UnsafeURL(gettext("O provedor informou uma URL com usuário ou senha; ela não é seguida."))
    try:
        _ = parts.port
    except ValueError:
        raise UnsafeURL(gettext("O provedor informou uma URL com porta inválida.")) from None


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
    if not addresses or any(address_refused(str(ip)) for ip in addresses):
        raise UnsafeURL(gettext("A URL base aponta para um endereço interno ou reservado; ela não é permitida."))
