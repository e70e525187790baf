"""The login throttle's counters (accounts.throttle): per account across addresses, per address across
accounts, no password checked once locked, one answer whether the account exists, no key forgotten."""

import threading
from datetime import timedelta

import pytest
from django.test import RequestFactory

from accounts import throttle
from accounts.models import LoginCounter, User
from tests import factories as f

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


def login(client, email, password, ip="127.0.0.1"):
    return client.post(LOGIN, {"username": email, "password": password}, REMOTE_ADDR=ip)


class PasswordChecks:
    """Counts User.check_password calls (what ModelBackend.authenticate runs), from any thread."""

    def __init__(self, monkeypatch):
        self.count = 0
        self._lock = threading.Lock()
        original = User.check_password

        def counted(user, raw_password):
            with self._lock:
                self.count += 1
            return original(user, raw_password)

        monkeypatch.setattr(User, "check_password", counted)


@pytest.fixture
def checks(monkeypatch):
    return PasswordChecks(monkeypatch)


def later(monkeypatch, seconds):
    moved = throttle.clock.now() + timedelta(seconds=seconds)
    monkeypatch.setattr(throttle.clock, "now", lambda: moved)


def test_one_account_is_locked_across_addresses_even_for_the_right_password(
    client, agent1, agent2, checks, settings, monkeypatch
):
    limit = settings.LOGIN_THROTTLE_ACCOUNT_FAILURES
    assert limit > settings.LOGIN_THROTTLE_FAILURES  # else the per-address lock would answer first
    for n in range(limit):
        assert login(client, agent1.email, "errada", ip=f"203.0.113.{n}").status_code == 200
    assert checks.count == limit
    # From a fresh address, with the right password, with the e-mail typed otherwise: refused, unchecked.
    response = login(client, f"  {agent1.email.upper()} ", f.PASSWORD, ip="198.51.100.7")
    assert response.status_code == 429 and "_auth_user_id" not in client.session
    assert "Muitas tentativas" in response.content.decode()
    assert checks.count == limit
    # Another account from the same addresses is untouched.
    assert login(client, agent2.email, f.PASSWORD, ip="203.0.113.0").status_code == 302
    client.logout()
    # Until the window has passed since the last failure.
    later(monkeypatch, settings.LOGIN_THROTTLE_WINDOW - 5)
    assert login(client, agent1.email, f.PASSWORD, ip="198.51.100.7").status_code == 429
    later(monkeypatch, settings.LOGIN_THROTTLE_WINDOW + 1)
    assert login(client, agent1.email, f.PASSWORD, ip="198.51.100.7").status_code == 302


def test_one_address_is_locked_across_accounts(client, tenant, checks, settings):
    settings.LOGIN_THROTTLE_IP_FAILURES = 4
    users = [f.make_user(f"pessoa{n}@demo.local", reseller=tenant.reseller) for n in range(5)]
    for user in users[:4]:
        assert login(client, user.email, "errada", ip="203.0.113.9").status_code == 200
    assert login(client, users[4].email, f.PASSWORD, ip="203.0.113.9").status_code == 429
    assert checks.count == 4
    assert login(client, users[4].email, f.PASSWORD, ip="203.0.113.10").status_code == 302


def test_right_passwords_are_not_counted(client, agent1, settings):
    settings.LOGIN_THROTTLE_IP_FAILURES = 3
    settings.LOGIN_THROTTLE_ACCOUNT_FAILURES = 3
    for _ in range(6):  # an office behind one address, logging in all day
        assert login(client, agent1.email, f.PASSWORD).status_code == 302
        client.logout()
    assert LoginCounter.objects.filter(attempts__gt=0).count() == 0


def test_the_lock_reads_the_same_whether_the_account_exists(client, agent1):
    answers = []
    for email in (agent1.email, "ninguem@demo.local"):
        for _ in range(5):
            login(client, email, "errada")
        response = login(client, email, "errada")
        answers.append((response.status_code, list(response.context["form"].non_field_errors())))
    assert answers[0] == answers[1]
    assert answers[0][0] == 429 and "Muitas tentativas" in answers[0][1][0]


def test_a_lock_is_kept_however_many_other_keys_are_counted(client, agent1, checks):
    for _ in range(5):
        login(client, agent1.email, "errada")
    # The old file cache dropped entries past 300: a guesser could flush a lock with other keys.
    factory = RequestFactory()
    for n in range(320):
        request = factory.post(LOGIN, REMOTE_ADDR=f"10.{n // 250}.{n % 250}.1")
        assert throttle.reserve(request, f"outro{n}@demo.local").granted
    assert LoginCounter.objects.count() >= 3 * 320
    before = checks.count
    assert login(client, agent1.email, f.PASSWORD).status_code == 429
    assert checks.count == before


def test_the_typed_login_is_stored_only_as_a_keyed_hash(client, agent1):
    login(client, agent1.email, "errada", ip="203.0.113.77")
    keys = list(LoginCounter.objects.values_list("key", flat=True))
    assert len(keys) == 3 and all(len(key) == 64 for key in keys)
    assert not any(agent1.email in key or "203.0.113.77" in key for key in keys)
