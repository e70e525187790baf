"""Every request IAZE makes to a server on the internet: provider calls, media downloads, webhooks out.

The rules hold on the connection actually made, not on a lookup made beforehand:

- the host's name is resolved once, inside the connection; every address it gives is checked, the
  socket connects only to a checked address, and the address it really reached (``getpeername``) is
  checked again. A name that answers a public address to a first lookup and a loopback one a moment
  later (DNS rebinding) has no second lookup to win. The Host header and the TLS server name stay
  the URL's own name, so certificates are verified as usual;
- loopback, private, link-local, multicast, reserved and other non-global addresses are refused
  unless ``settings.ALLOW_PRIVATE_PROVIDER_HOSTS`` (a local fake provider in development and tests);
- proxies from the environment are never used (a proxy would make the connection on our behalf,
  out of reach of the address check); redirects are never followed (every caller passes
  ``allow_redirects=False``: a 3xx is an answer like any other, and its Location is never read);
- bodies are read streaming with a cap counted after decompression (``read_capped``): gzip or
  deflate is inflated here, a piece at a time, never more than the cap plus one piece.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import threading
import zlib
from contextlib import suppress

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

PIECE = 1 << 16
INFLATE_STEP = 1 << 20
# What we can inflate ourselves, piece by piece; a server sending anything else is refused.
ACCEPT_ENCODING = "gzip, deflate"


class AddressRefused(ValueError):
    """The connection would reach (or reached) an address outside the rule; nothing was sent."""

    def __init__(self, host: str, address: str):
        super().__init__(f"{host} resolves to {address}, which is not a public address")
        self.host, self.address = host, address


class AnswerTooLarge(ValueError):
    """The answer passed the cap (after decompression): the connection was dropped."""

    def __init__(self, limit: int):
        super().__init__(f"answer over {limit} bytes")
        self.limit = limit


class AnswerUnreadable(ValueError):
    """The answer's encoding is not one we inflate, or its compressed bytes are corrupt."""


def private_hosts_allowed() -> bool:
    return bool(getattr(settings, "ALLOW_PRIVATE_PROVIDER_HOSTS", False))


def address_refused(address: str) -> bool:
    """True for anything but a global unicast address (IPv4-mapped IPv6 judged as its IPv4)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return True
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


def resolve(host: str, port: int) -> list[tuple[int, tuple]]:
    """(family, sockaddr) of every address of `host`; raises AddressRefused if any is outside the rule.

    All of them are judged, not only the first: a name with one public and one internal address is
    refused, whichever of them the connection would have reached."""
    infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    found = [(info[0], info[4]) for info in infos]
    if not private_hosts_allowed():
        for _family, sockaddr in found:
            if address_refused(str(sockaddr[0])):
                raise AddressRefused(host, str(sockaddr[0]))
    return found


def _connect(family: int, sockaddr: tuple, timeout, options) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        for option in options or ():
            sock.setsockopt(*option)
        if timeout is not None:
            sock.settimeout(timeout)
        sock.connect(sockaddr)
    except BaseException:
        sock.close()
        raise
    return sock


class _Pinned:
    """The socket of an HTTP(S) connection, made only to an address that passed the rule."""

    host: str
    port: int
    timeout: object
    socket_options: object
    _dns_host: str

    def _new_conn(self) -> socket.socket:
        try:
            addresses = resolve(self._dns_host, self.port)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc  # type: ignore[arg-type]
        error: OSError | None = None
        timeout = self.timeout if isinstance(self.timeout, int | float) else None
        for family, sockaddr in addresses:
            try:
                sock = _connect(family, sockaddr, timeout, self.socket_options)
            except TimeoutError as exc:
                raise ConnectTimeoutError(self, f"Connection to {self.host} timed out") from exc
            except OSError as exc:
                error = exc
                continue
            peer = str(sock.getpeername()[0])
            if not private_hosts_allowed() and address_refused(peer):
                sock.close()
                raise AddressRefused(self.host, peer)
            return sock
        raise NewConnectionError(self, f"Failed to establish a new connection: {error}")  # type: ignore[arg-type]


class PinnedHTTPConnection(_Pinned, HTTPConnection):
    pass


class PinnedHTTPSConnection(_Pinned, HTTPSConnection):
    pass


# --- one total deadline per call ----------------------------------------------------------------

_local = threading.local()


class Watch:
    """The total deadline of one call: when it passes, the call's socket is shut down.

    `requests`' timeouts are per socket read, so a server dripping one byte at a time would never
    time out; shutting the socket down from a timer ends any blocking read at once, whether it is
    waiting for the status line, the headers or the body."""

    def __init__(self, seconds: float):
        self.expired = False
        self._conns: list = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def watch(self, conn) -> None:
        with self._lock:
            self._conns.append(conn)
            expired = self.expired
        if expired:
            self._shutdown(conn)

    def _fire(self) -> None:
        with self._lock:
            self.expired = True
            conns = list(self._conns)
        for conn in conns:
            self._shutdown(conn)

    @staticmethod
    def _shutdown(conn) -> None:
        sock = getattr(conn, "sock", None)
        if sock is None:
            return
        with suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)

    def __enter__(self):
        _local.watch = self
        self._timer.start()
        return self

    def __exit__(self, *exc):
        self._timer.cancel()
        _local.watch = None
        return False


def _register(conn):
    watch = getattr(_local, "watch", None)
    if watch is not None:
        watch.watch(conn)
    return conn


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = PinnedHTTPConnection

    def _get_conn(self, timeout=None):
        return _register(super()._get_conn(timeout))


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = PinnedHTTPSConnection

    def _get_conn(self, timeout=None):
        return _register(super()._get_conn(timeout))


class OutboundAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}

    def proxy_manager_for(self, *args, **kwargs):  # pragma: no cover - trust_env is off
        raise AddressRefused("proxy", "a proxy")


def session() -> requests.Session:
    """One pooled session per process and thread (Session is not thread-safe); rebuilt after fork."""
    current = getattr(_local, "session", None)
    if current is None or getattr(_local, "pid", None) != os.getpid():
        current = requests.Session()
        current.trust_env = False
        current.headers["User-Agent"] = "IAZE/1.0"
        current.headers["Accept-Encoding"] = ACCEPT_ENCODING
        adapter = OutboundAdapter()
        current.mount("http://", adapter)
        current.mount("https://", adapter)
        _local.session, _local.pid = current, os.getpid()
    return current


# --- bounded answers ----------------------------------------------------------------------------


def _inflater(encoding: str):
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj(zlib.MAX_WBITS)  # zlib-wrapped, as the RFC says; raw is tried below
    return None


def read_capped(response: requests.Response, max_bytes: int) -> bytes:
    """The whole body of a streamed answer, decompressed here, refusing more than max_bytes of it.

    The raw bytes are read without urllib3's decoding, so no library decides how much a few
    compressed bytes may become: each piece inflates to at most what the cap still allows."""
    encoding = (response.headers.get("Content-Encoding") or "").strip().lower()
    if encoding in ("", "identity"):
        inflater = None
    else:
        inflater = _inflater(encoding)
        if inflater is None:
            response.close()
            raise AnswerUnreadable(f"unsupported Content-Encoding {encoding!r}")
    try:
        declared = int(response.headers.get("Content-Length") or 0)
    except ValueError:
        declared = 0
    if inflater is None and declared > max_bytes:
        response.close()
        raise AnswerTooLarge(max_bytes)
    pieces: list[bytes] = []
    size = 0
    raw_deflate_tried = False
    try:
        for raw in response.raw.stream(PIECE, decode_content=False):
            data = raw
            while True:
                if inflater is None:
                    out, data = data, b""
                else:
                    try:
                        # At most a mebibyte a call: the peak stays near the cap, not twice it.
                        out = inflater.decompress(data, min(max_bytes - size + 1, INFLATE_STEP))
                    except zlib.error as exc:
                        if encoding == "deflate" and not raw_deflate_tried and size == 0:
                            raw_deflate_tried, inflater = True, zlib.decompressobj(-zlib.MAX_WBITS)
                            continue
                        raise AnswerUnreadable("corrupt compressed answer") from exc
                    data = inflater.unconsumed_tail
                size += len(out)
                if size > max_bytes:
                    raise AnswerTooLarge(max_bytes)
                if out:
                    pieces.append(out)
                if not data:
                    break
                if inflater is not None and inflater.eof:
                    break  # trailing bytes after a complete stream are not part of the answer
    except (AnswerTooLarge, AnswerUnreadable):
        response.close()
        raise
    return b"".join(pieces)
