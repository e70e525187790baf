"""Settings: profile selection, the both-URLs error, DEBUG off, the generated SECRET_KEY."""

import stat

import pytest

from tests.iaze.helpers import manage, settings_value

pytestmark = pytest.mark.slow  # child processes


def test_both_database_urls_stop_startup_with_a_clear_message(tmp_path):
    result = manage(
        "check",
        data_dir=tmp_path,
        MONGO_URL="mongodb://127.0.0.1:27017",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/iaze",
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "Both MONGO_URL and DATABASE_URL are set" in result.stderr


def test_check_passes_on_the_default_profile(tmp_path):
    result = manage("check", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr


def test_debug_is_off_by_default(tmp_path):
    assert settings_value("settings.DEBUG", tmp_path) == "False"
    assert settings_value("settings.DEBUG", tmp_path, DEBUG="1") == "True"


def test_secret_key_is_generated_once_and_reused(tmp_path):
    first = settings_value("settings.SECRET_KEY", tmp_path)
    key_file = tmp_path / "secret_key"
    assert key_file.read_text().strip() == first
    assert len(first) >= 50
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert settings_value("settings.SECRET_KEY", tmp_path) == first  # a restart keeps sessions valid
    other = tmp_path / "other"
    assert settings_value("settings.SECRET_KEY", other) != first  # generated, not a constant


def test_processes_starting_together_on_a_fresh_data_dir_share_one_secret_key(tmp_path):
    # Gunicorn workers import the settings at the same moment; differing keys would
    # make each worker reject the others' session cookies.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        keys = list(pool.map(lambda _: settings_value("settings.SECRET_KEY", tmp_path), range(8)))
    assert len(set(keys)) == 1 and len(keys[0]) >= 50
    assert (tmp_path / "secret_key").read_text().strip() == keys[0]
    assert sorted(p.name for p in tmp_path.iterdir() if "secret" in p.name) == ["secret_key"]


def test_secret_key_from_the_environment_wins_and_writes_nothing(tmp_path):
    assert settings_value("settings.SECRET_KEY", tmp_path, SECRET_KEY="from-env-123") == "from-env-123"
    assert not (tmp_path / "secret_key").exists()


def test_default_profile_is_embedded_sqlite_in_data_dir(tmp_path):
    out = settings_value(
        "settings.DB_PROFILE, settings.DATABASES['default']['NAME'], "
        "settings.DATABASES['default']['OPTIONS']['init_command']",
        tmp_path,
    )
    assert out.startswith(f"sqlite {tmp_path / 'iaze.sqlite3'} ")
    assert "journal_mode=WAL" in out


def test_database_url_selects_postgresql(tmp_path):
    out = settings_value(
        "settings.DB_PROFILE, settings.DATABASES['default']['ENGINE'], settings.DATABASES['default']['NAME']",
        tmp_path,
        DATABASE_URL="postgres://u:p@db.example:5432/iaze",
    )
    assert out == "postgresql django.db.backends.postgresql iaze"


def test_mongo_url_selects_mongodb_with_support_chat_default(tmp_path):
    expr = (
        "settings.DB_PROFILE, settings.DATABASES['default']['ENGINE'], settings.DATABASES['default']['NAME'], "
        "settings.DEFAULT_AUTO_FIELD, settings.MIGRATION_MODULES['auth']"
    )
    out = settings_value(expr, tmp_path, MONGO_URL="mongodb://127.0.0.1:1")
    assert out == (
        "mongodb django_mongodb_backend support_chat "
        "django_mongodb_backend.fields.ObjectIdAutoField mongo_migrations.auth"
    )
    named = settings_value(
        "settings.DATABASES['default']['NAME']", tmp_path, MONGO_URL="mongodb://127.0.0.1:1", MONGO_DB_NAME="outra_base"
    )
    assert named == "outra_base"


def test_sql_profiles_do_not_switch_on_mongodb_pieces(tmp_path):
    out = settings_value(
        "settings.DEFAULT_AUTO_FIELD, 'django_mongodb_backend' in settings.INSTALLED_APPS, "
        "bool(getattr(settings, 'MIGRATION_MODULES', {}))",
        tmp_path,
    )
    assert out == "django.db.models.BigAutoField False False"


CONTRACT_VARIABLES = {
    "MONGO_URL",
    "MONGO_DB_NAME",
    "DATABASE_URL",
    "DATA_DIR",
    "SECRET_KEY",
    "DEBUG",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
}


def test_env_example_documents_every_variable():
    import re

    from tests.iaze.helpers import ROOT

    example = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", example, flags=re.M))
    settings_source = (ROOT / "iaze/settings.py").read_text()
    read_by_settings = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z][A-Z0-9_]+)"', settings_source))
    assert CONTRACT_VARIABLES <= documented
    assert read_by_settings <= documented, read_by_settings - documented
