"""The lock files pin every package, agree with the top-level pins, and the audit's verdict is the one
documented (scripts/audit_deps.py): a found vulnerability fails, an unreachable service only warns."""

import importlib.util
import json
import re
import sys
from datetime import datetime
from pathlib import Path

import pytest
from packaging.version import Version
from pip_audit._format.json import JsonFormat
from pip_audit._service.interface import ResolvedDependency, SkippedDependency, VulnerabilityResult

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;#]+)")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(name: str) -> dict[str, str]:
    found = {}
    for line in (ROOT / name).read_text().splitlines():
        match = PIN.match(line.strip())
        if match:
            found[canonical(match.group(1))] = match.group(3)
    return found


def requirement_lines(name: str) -> list[str]:
    lines = [line.split("#", 1)[0].strip() for line in (ROOT / name).read_text().splitlines()]
    return [line for line in lines if line]


@pytest.mark.parametrize("lock", ["requirements.lock", "requirements-dev.lock"])
def test_every_locked_package_is_pinned_exactly_and_nothing_names_a_machine(lock):
    lines = requirement_lines(lock)
    assert len(lines) > 20
    loose = [line for line in lines if not PIN.match(line)]
    assert not loose, f"{lock}: not pinned with == (or an index / find-links line): {loose}"


@pytest.mark.parametrize(
    "source,locks",
    [
        ("requirements.txt", ["requirements.lock", "requirements-dev.lock"]),
        ("requirements-dev.txt", ["requirements-dev.lock"]),
    ],
)
def test_top_level_pins_are_the_locked_versions(source, locks):
    top = pins(source)
    assert top, source
    for lock in locks:
        locked = pins(lock)
        differ = {name: (version, locked.get(name)) for name, version in top.items() if locked.get(name) != version}
        assert not differ, f"{source} and {lock} disagree (run `make lock`): {differ}"


def test_the_dev_lock_runs_the_same_versions_as_the_run_lock():
    run, dev = pins("requirements.lock"), pins("requirements-dev.lock")
    differ = {name: (version, dev.get(name)) for name, version in run.items() if dev.get(name) != version}
    assert not differ, differ


def test_make_and_the_image_install_the_locks():
    makefile = (ROOT / "Makefile").read_text()
    assert "-r requirements.lock" in makefile and "-r requirements-dev.lock" in makefile
    assert "pip install -r requirements.lock" in (ROOT / "Dockerfile").read_text()
    assert "make audit" in (ROOT / ".ci/run").read_text()


# --- the audit's verdict --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def audit_deps():
    spec = importlib.util.spec_from_file_location("audit_deps", ROOT / "scripts" / "audit_deps.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["audit_deps"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("audit_deps", None)


def report(result) -> dict:
    """A report exactly as pip-audit's JSON format writes it."""
    return json.loads(JsonFormat(output_desc=False, output_aliases=True).format(result, []))


def vuln(vuln_id, fixed):
    return VulnerabilityResult(
        id=vuln_id,
        description="",
        fix_versions=[Version(v) for v in fixed],
        aliases=set(),
        published=datetime(2026, 1, 1),
    )


def test_a_known_vulnerability_fails(audit_deps):
    found = report(
        {
            ResolvedDependency("django", Version("5.2.19")): [vuln("PYSEC-2099-1", ["5.2.20"])],
            ResolvedDependency("requests", Version("2.32.5")): [],
        }
    )
    verdict = audit_deps.judge(1, found, "")
    assert verdict.status == 1
    assert any("django 5.2.19: PYSEC-2099-1 (fixed in 5.2.20)" in line for line in verdict.lines)


def test_a_clean_audit_passes(audit_deps):
    clean = report({ResolvedDependency("django", Version("5.2.19")): []})
    verdict = audit_deps.judge(0, clean, "")
    assert verdict.status == 0 and verdict.lines[-1] == "no known vulnerabilities"


def test_packages_the_service_did_not_answer_for_warn_without_failing(audit_deps):
    partial = report(
        {
            ResolvedDependency("django", Version("5.2.19")): [],
            SkippedDependency("boto3", "Dependency not found on PyPI and could not be audited: boto3 (1.44.5)"): [],
        }
    )
    verdict = audit_deps.judge(0, partial, "")
    assert verdict.status == 0
    assert verdict.lines[0] == "audited 1 of 2 locked packages"
    assert verdict.lines[-1].startswith("WARNING: 1 packages could not be audited") and "boto3" in verdict.lines[-1]


def test_an_unreachable_service_warns_but_another_breakage_fails(audit_deps):
    offline = "requests.exceptions.ConnectionError: HTTPSConnectionPool(host='pypi.org', port=443): Max retries"
    verdict = audit_deps.judge(1, None, offline)
    assert verdict.status == 0 and "could not be reached" in verdict.lines[0]
    verdict = audit_deps.judge(1, None, "pip_audit: error: unrecognized arguments: --nope")
    assert verdict.status == 1


def test_accepted_vulnerabilities_are_passed_to_pip_audit_with_their_reason(audit_deps, monkeypatch):
    monkeypatch.setattr(audit_deps, "IGNORED", {"GHSA-xxxx-yyyy-zzzz": "no fixed release; IAZE never calls it"})
    cmd = audit_deps.command("requirements-dev.lock", "/tmp/out.json")
    assert cmd[cmd.index("--ignore-vuln") + 1] == "GHSA-xxxx-yyyy-zzzz"
    assert {"--no-deps", "--disable-pip"} <= set(cmd) and cmd[cmd.index("--vulnerability-service") + 1] == "pypi"
    clean = report({ResolvedDependency("django", Version("5.2.19")): []})
    assert "accepted GHSA-xxxx-yyyy-zzzz: no fixed release; IAZE never calls it" in audit_deps.judge(0, clean, "").lines
