"""Login throttling against password guessing.

Failures are counted in a cache, per (client IP, e-mail) and per client IP:
after LOGIN_THROTTLE_FAILURES wrong passwords for one e-mail from one address,
or LOGIN_THROTTLE_IP_FAILURES from one address for any e-mails, further
attempts are refused for LOGIN_THROTTLE_WINDOW seconds after the last failure
(the window slides, so a patient guesser stays locked out). A successful login
clears the (IP, e-mail) counter.

Counting per IP as well as per e-mail means a guesser cannot lock a colleague
out from elsewhere, and cannot spray one password over every e-mail either.
The cache is `CACHES["throttle"]`, a file cache under DATA_DIR by default, so
every gunicorn worker of the machine shares the counts; nothing is stored in
the database, which keeps MongoDB and SQL profiles alike.
"""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.core.cache import caches

CACHE_ALIAS = "throttle"


def _cache():
    return caches[CACHE_ALIAS]


def _limits() -> tuple[int, int, int]:
    return (
        getattr(settings, "LOGIN_THROTTLE_FAILURES", 5),
        getattr(settings, "LOGIN_THROTTLE_IP_FAILURES", 30),
        getattr(settings, "LOGIN_THROTTLE_WINDOW", 15 * 60),
    )


def client_ip(request) -> str:
    """REMOTE_ADDR, or the address our own proxy appended when we sit behind one.

    Only the last X-Forwarded-For entry is trusted: the client can forge the earlier ones.
    """
    if request is None:
        return "unknown"
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded.strip():
            return forwarded.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _key(*parts: str) -> str:
    digest = hashlib.sha256("\x00".join(parts).encode()).hexdigest()
    return f"login-fail:{digest}"


def _keys(request, username: str) -> tuple[str, str]:
    ip = client_ip(request)
    return _key("pair", ip, (username or "").strip().lower()), _key("ip", ip)


def _count(key: str) -> int:
    record = _cache().get(key)
    if not record or record.get("until", 0) < time.time():
        return 0
    return record["n"]


def retry_after(request, username: str) -> int:
    """Seconds until this (IP, e-mail) may try again; 0 when not throttled."""
    per_pair, per_ip, _window = _limits()
    pair_key, ip_key = _keys(request, username)
    waits = []
    for key, limit in ((pair_key, per_pair), (ip_key, per_ip)):
        record = _cache().get(key)
        if record and record["n"] >= limit and record["until"] > time.time():
            waits.append(int(record["until"] - time.time()) + 1)
    return max(waits, default=0)


def record_failure(request, username: str) -> None:
    _per_pair, _per_ip, window = _limits()
    until = time.time() + window
    for key in _keys(request, username):
        # get + set is not atomic: under a flood of parallel guesses a few may
        # go uncounted, which only delays the lock by those few attempts.
        _cache().set(key, {"n": _count(key) + 1, "until": until}, timeout=window)


def record_success(request, username: str) -> None:
    pair_key, _ip_key = _keys(request, username)
    _cache().set(pair_key, {"n": 0, "until": 0}, timeout=1)
