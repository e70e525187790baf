"""Login throttling against password guessing: a password is checked only after a reservation.

Three counters, each a `LoginCounter` row in the database (so every worker process and every machine
shares them, on every profile):

- per address and typed login (`LOGIN_THROTTLE_FAILURES`, 5): a user who mistypes is locked alone;
- per typed login, from any address (`LOGIN_THROTTLE_ACCOUNT_FAILURES`, 10): a guesser spread over
  many addresses is stopped too;
- per address, for any login (`LOGIN_THROTTLE_IP_FAILURES`, 30): one address cannot spray a password
  over every e-mail.

Before a password is checked, one check is reserved on each counter by ONE conditional write
(`attempts < limit` → `attempts + 1`), so however many requests race, at most `limit` of them reach the
password; the others are refused without checking it. A wrong password keeps its reservation (it is the
failure); a right one gives it back, and clears the address+login counter as the old throttle did. A
run is forgotten `LOGIN_THROTTLE_WINDOW` seconds after its latest reserved check (the window slides, so a
patient guesser stays locked out). The typed login is only ever stored as an HMAC, whether or not such
an account exists, and the refusal reads the same for both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.crypto import salted_hmac

from accounts.models import LoginCounter
from iaze.lib import clock

Kind = LoginCounter.Kind


def _settings() -> tuple[dict[str, int], timedelta]:
    limits = {
        Kind.PAIR: settings.LOGIN_THROTTLE_FAILURES,
        Kind.ACCOUNT: settings.LOGIN_THROTTLE_ACCOUNT_FAILURES,
        Kind.ADDRESS: settings.LOGIN_THROTTLE_IP_FAILURES,
    }
    return limits, timedelta(seconds=settings.LOGIN_THROTTLE_WINDOW)


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


def normalize_login(username: str) -> str:
    """The account a typed login names: e-mails are matched without regard to case or outer spaces."""
    return (username or "").strip().lower()


def _hmac(*parts: str) -> str:
    return salted_hmac("accounts.throttle", "\x00".join(parts), algorithm="sha256").hexdigest()


def keys_for(request, username: str) -> dict[str, str]:
    """The counter keys of one login attempt, in the order they are reserved."""
    ip, login = client_ip(request), normalize_login(username)
    return {
        Kind.PAIR: _hmac("pair", ip, login),
        Kind.ACCOUNT: _hmac("account", login),
        Kind.ADDRESS: _hmac("address", ip),
    }


def _reserve_one(kind: str, key: str, limit: int, window: timedelta) -> bool:
    """One more check on this counter if it is under its limit: a conditional write, exact under races."""
    rows = LoginCounter.objects.filter(kind=kind, key=key)
    for _attempt in range(8):
        now = clock.now()
        # A run whose window has passed starts again. Conditional too: once a racing request has reserved
        # in the new run, `until` is in the future and this write matches nothing.
        rows.filter(until__lte=now, attempts__gt=0).update(attempts=0)
        if rows.filter(attempts__lt=limit).update(attempts=F("attempts") + 1, until=now + window):
            return True
        found = rows.values_list("attempts", "until").first()
        if found is None:
            try:
                with transaction.atomic():  # a savepoint, so SQL databases carry on after the duplicate
                    LoginCounter.objects.create(kind=kind, key=key, attempts=0, until=now)
            except IntegrityError:
                pass  # a racing request created it: reserve on theirs
        elif found[0] >= limit and found[1] > now:
            return False  # at its limit within the window
        # Otherwise the row was created, given back or its run ended since the write above: try again.
    return False  # still contended after every try: refused, never one check too many


def _give_back(kind: str, key: str) -> None:
    LoginCounter.objects.filter(kind=kind, key=key, attempts__gt=0).update(attempts=F("attempts") - 1)


@dataclass
class Reservation:
    """The checks one login attempt holds; `granted` says whether its password may be checked."""

    keys: dict[str, str]
    held: list[str] = field(default_factory=list)

    @property
    def granted(self) -> bool:
        return len(self.held) == len(self.keys)

    def release(self) -> None:
        """Give every held check back: the attempt was no failure (refused elsewhere, or the right password)."""
        for kind in self.held:
            _give_back(kind, self.keys[kind])
        self.held = []

    def succeeded(self) -> None:
        """The right password: nothing is counted, and this address's count for this login starts over."""
        self.release()
        LoginCounter.objects.filter(kind=Kind.PAIR, key=self.keys[Kind.PAIR], attempts__gt=0).update(attempts=0)


def reserve(request, username: str) -> Reservation:
    """Reserve one password check on every counter of this attempt, or none (then `granted` is False)."""
    limits, window = _settings()
    reservation = Reservation(keys_for(request, username))
    for kind, key in reservation.keys.items():
        if not _reserve_one(kind, key, limits[kind], window):
            reservation.release()
            break
        reservation.held.append(kind)
    return reservation


def retry_after(request, username: str) -> int:
    """Seconds until this attempt could be checked again (0 when nothing locks it)."""
    limits, _window = _settings()
    now = clock.now()
    waits = [
        (counter.until - now).total_seconds()
        for kind, key in keys_for(request, username).items()
        for counter in LoginCounter.objects.filter(kind=kind, key=key, attempts__gte=limits[kind], until__gt=now)
    ]
    return int(max(waits, default=0)) + 1 if waits else 0
