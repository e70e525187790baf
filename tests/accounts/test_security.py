"""Login throttling, sessions ending on password change or deactivation, and `check --deploy`."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.urls import reverse

from accounts import throttle
from tests import factories as f

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
ROOT = Path(__file__).resolve().parents[2]


def _login(client, email, password, **extra):
    return client.post(LOGIN, {"username": email, "password": password}, **extra)


def test_five_wrong_passwords_lock_that_email_from_that_address(client, agent1, agent2):
    for _ in range(5):
        response = _login(client, agent1.email, "errada")
        assert response.status_code == 200 and "_auth_user_id" not in client.session
    response = _login(client, agent1.email, f.PASSWORD)  # even the right password is not checked now
    assert response.status_code == 429 and "_auth_user_id" not in client.session
    assert "Muitas tentativas" in response.content.decode()
    # Same address, another e-mail; same e-mail, another address: both still fine.
    assert _login(client, agent2.email, f.PASSWORD).status_code == 302
    client.logout()
    assert _login(client, agent1.email, f.PASSWORD, REMOTE_ADDR="10.0.0.9").status_code == 302


def test_the_lock_ends_after_the_window(client, agent1, monkeypatch, settings):
    for _ in range(5):
        _login(client, agent1.email, "errada")
    assert _login(client, agent1.email, f.PASSWORD).status_code == 429
    later = throttle.clock.now() + timedelta(seconds=settings.LOGIN_THROTTLE_WINDOW + 1)
    monkeypatch.setattr(throttle.clock, "now", lambda: later)
    assert _login(client, agent1.email, f.PASSWORD).status_code == 302


def test_a_success_clears_the_count(client, agent1):
    for _ in range(4):
        _login(client, agent1.email, "errada")
    assert _login(client, agent1.email, f.PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        _login(client, agent1.email, "errada")
    assert _login(client, agent1.email, f.PASSWORD).status_code == 302


def test_spraying_many_emails_from_one_address_is_locked(client, settings, tenant):
    settings.LOGIN_THROTTLE_IP_FAILURES = 6
    for n in range(6):
        _login(client, f"alguem{n}@demo.local", "123456")
    user = f.make_user("real@demo.local", reseller=tenant.reseller)
    assert _login(client, user.email, f.PASSWORD).status_code == 429


def test_forged_forwarded_for_does_not_escape_the_lock(client, agent1):
    for n in range(5):
        _login(client, agent1.email, "errada", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
    assert _login(client, agent1.email, f.PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.7").status_code == 429


def test_admin_login_is_throttled_too(client, reseller_user):
    url = reverse("admin:login")
    for _ in range(5):
        client.post(url, {"username": reseller_user.email, "password": "errada"})
    response = client.post(url, {"username": reseller_user.email, "password": f.PASSWORD})
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    assert "Muitas tentativas" in response.content.decode()


def test_password_change_ends_other_sessions(client, django_user_model, agent1, reseller_user):
    from django.test import Client

    agent_browser, boss_laptop, boss_phone = Client(), Client(), Client()
    assert _login(agent_browser, agent1.email, f.PASSWORD).status_code == 302
    assert agent_browser.get("/tickets/").status_code == 200
    for browser in (boss_laptop, boss_phone):
        assert _login(browser, reseller_user.email, f.PASSWORD).status_code == 302
        assert browser.get("/admin/").status_code == 200

    # The reseller changes its own password on the laptop: the laptop stays in, the phone is out.
    response = boss_laptop.post(
        reverse("admin:password_change"),
        {"old_password": f.PASSWORD, "new_password1": "nova-senha-forte-42", "new_password2": "nova-senha-forte-42"},
    )
    assert response.status_code == 302
    assert boss_laptop.get("/admin/").status_code == 200
    assert boss_phone.get("/admin/").status_code == 302

    # And sets the agent's password: the agent's open session ends.
    response = boss_laptop.post(
        reverse("admin:auth_user_password_change", args=[agent1.pk]),
        {"usable_password": "true", "password1": "outra-senha-forte-43", "password2": "outra-senha-forte-43"},
    )
    assert response.status_code == 302
    response = agent_browser.get("/tickets/")
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)


def test_deactivation_ends_the_session(client, agent1):
    assert _login(client, agent1.email, f.PASSWORD).status_code == 302
    agent1.is_active = False
    agent1.save(update_fields=["is_active"])
    assert client.get("/tickets/").status_code == 302


def _manage(*args, **env_overrides):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MONGO_URL", "SECRET_KEY", "DEBUG")}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_under_production_settings(tmp_path):
    production = {
        "DATA_DIR": str(tmp_path),
        "HTTPS": "true",
        "SECURE_HSTS_SECONDS": "31536000",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
        "SECURE_HSTS_PRELOAD": "true",
        "ALLOWED_HOSTS": "atendimento.example.com",
    }
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **production)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
    # The generated key is long and random enough for the check, and kept for the next start.
    key = (tmp_path / "secret_key").read_text().strip()
    assert len(key) >= 50 and len(set(key)) >= 5

    # And the check is real: without HTTPS it fails.
    result = _manage("check", "--deploy", "--fail-level", "WARNING", DATA_DIR=str(tmp_path))
    assert result.returncode != 0 and "SECURE_SSL_REDIRECT" in result.stdout + result.stderr


@pytest.mark.parametrize("url", ["/admin/", "/admin/accounts/user/", "/tickets/", "/tickets/?status=finalizado"])
def test_pages_need_login(client, url):
    response = client.get(url)
    assert response.status_code == 302 and "login" in response["Location"]
