"""Parallel logins against the throttle on a real server: 16 threads, one barrier, each its own client.

At most `limit` of them may reach the password check (counted at User.check_password); the rest are
refused with 429 before it. The old cache-based throttle let 8 of them through a limit of 5.
"""

import pytest
from django.test import Client

from tests import factories as f
from tests.accounts.test_login_throttle import PasswordChecks
from tests.support.races import race

pytestmark = [pytest.mark.realserver, pytest.mark.django_db(transaction=True)]

THREADS = 16
LOGIN = "/accounts/login/"


@pytest.fixture
def checks(monkeypatch):
    return PasswordChecks(monkeypatch)


def post(email, password, ip):
    return Client().post(LOGIN, {"username": email, "password": password}, REMOTE_ADDR=ip).status_code


def test_16_addresses_guessing_one_account_get_exactly_the_account_limit(agent1, checks, settings):
    limit = settings.LOGIN_THROTTLE_ACCOUNT_FAILURES
    assert limit < THREADS

    statuses = race(THREADS, lambda i: post(agent1.email, f"errada{i}", f"203.0.113.{i}"))

    assert sorted(statuses) == [200] * limit + [429] * (THREADS - limit), statuses
    assert checks.count == limit
    # Locked for everyone now, the right password included, and it is not even checked.
    assert post(agent1.email, f.PASSWORD, "198.51.100.1") == 429
    assert checks.count == limit


def test_one_address_spraying_16_accounts_gets_exactly_the_address_limit(tenant, checks, settings):
    settings.LOGIN_THROTTLE_IP_FAILURES = 5
    users = [f.make_user(f"spray{i}@race.local", reseller=tenant.reseller) for i in range(THREADS)]

    statuses = race(THREADS, lambda i: post(users[i].email, "123456", "203.0.113.200"))

    assert sorted(statuses) == [200] * 5 + [429] * (THREADS - 5), statuses
    assert checks.count == 5


def test_16_parallel_guesses_from_one_address_at_one_account_get_exactly_five(agent1, checks, settings):
    limit = settings.LOGIN_THROTTLE_FAILURES

    statuses = race(THREADS, lambda i: post(agent1.email, f"errada{i}", "203.0.113.250"))

    assert sorted(statuses) == [200] * limit + [429] * (THREADS - limit), statuses
    assert checks.count == limit
