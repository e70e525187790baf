"""Dockerfile and compose files. Docker cannot run on the test machines: the files are parsed and their
promises checked (data on named volumes, a replica set, non-root, health check)."""

import re
import shutil
import subprocess

import pytest
import yaml

from tests.ops.helpers import ROOT


def _compose(name: str) -> dict:
    return yaml.safe_load((ROOT / name).read_text())


@pytest.mark.parametrize(
    "name, db, db_volume, db_path",
    [
        ("compose.yaml", "mongo", "mongo-data", "/data/db"),
        ("compose.postgres.yaml", "postgres", "pg-data", "/var/lib/postgresql/data"),
    ],
)
def test_compose_keeps_data_on_named_volumes(name, db, db_volume, db_path):
    spec = _compose(name)
    services = spec["services"]
    assert {db, "app", "worker"} <= set(services)
    assert f"{db_volume}:{db_path}" in services[db]["volumes"]
    assert {db_volume, "app-data"} <= set(spec["volumes"])  # named volumes, declared: they outlive containers
    for svc in ("app", "worker"):
        assert "app-data:/data" in services[svc]["volumes"]
        assert services[svc]["environment"]["DATA_DIR"] == "/data"
        assert services[svc]["restart"] == "unless-stopped"
    assert services["worker"]["command"] == ["python", "manage.py", "worker", "--loop"]
    assert services["worker"]["depends_on"]["app"]["condition"] == "service_healthy"
    assert "8000" in services["app"]["ports"][0]


def test_compose_runs_mongodb_7_as_a_one_node_replica_set():
    services = _compose("compose.yaml")["services"]
    mongo = services["mongo"]
    assert mongo["image"] == "mongo:7" and "--replSet" in mongo["command"]
    init = services["mongo-init"]
    assert "rs.initiate" in " ".join(init["entrypoint"]) and init["restart"] == "no"
    env = services["app"]["environment"]
    assert "replicaSet=rs0" in env["MONGO_URL"] and "DATABASE_URL" not in env
    assert services["app"]["depends_on"]["mongo-init"]["condition"] == "service_completed_successfully"


def test_postgres_variant_uses_database_url():
    env = _compose("compose.postgres.yaml")["services"]["app"]["environment"]
    assert env["DATABASE_URL"].startswith("postgres://") and "MONGO_URL" not in env


def test_dockerfile_is_production_shaped():
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim", text, re.M)
    user = re.findall(r"^USER (\S+)", text, re.M)
    assert user and user[-1] not in ("root", "0")
    assert "collectstatic" in text and "app=iaze.asgi:application" in text and "exec gunicorn $app" in text
    assert re.search(r"^HEALTHCHECK .*\n?.*?/healthz", text, re.M | re.S)
    assert 'VOLUME ["/data"]' in text and "DATA_DIR=/data" in text
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {"data", ".venv", ".env", ".git"} <= set(ignored)  # no local database or secrets in the image


def test_the_image_installs_production_requirements_only():
    text = (ROOT / "Dockerfile").read_text()
    assert "requirements.lock" in text and "requirements-dev" not in text
    tools = (
        "pytest",
        "pytest-django",
        "playwright",
        "mongomock",
        "pyinstrument",
        "ruff",
        "mypy",
        "secantusdb",
        "pip-audit",
    )
    for name in ("requirements.txt", "requirements.lock"):
        prod = {
            line.split("==")[0].split("[")[0].lower()
            for line in (ROOT / name).read_text().splitlines()
            if line and not line.startswith(("#", " "))
        }
        for tool in tools:
            assert tool not in prod, (name, tool)
    dev = (ROOT / "requirements-dev.txt").read_text()
    assert dev.startswith("#") and "-r requirements.txt" in dev


def test_compose_config_when_docker_compose_is_installed():
    """`docker compose config` validates against the compose schema; it needs no daemon."""
    if not shutil.which("docker") or subprocess.run(["docker", "compose", "version"], capture_output=True).returncode:
        pytest.skip("by design: docker compose is not installed here (no Docker engine); the YAML checks above ran")
    for name in ("compose.yaml", "compose.postgres.yaml"):
        r = subprocess.run(["docker", "compose", "-f", name, "config", "-q"], cwd=ROOT, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
