"""Known vulnerabilities of the locked packages: pip-audit over a lock file, and a verdict CI can act on.

    python scripts/audit_deps.py requirements-dev.lock      (`make audit`; .ci/run)

pip-audit asks PyPI's advisory data about every pinned version (`--vulnerability-service pypi`: the
only service reached from where CI runs). The lock pins every package, so nothing is resolved
(`--no-deps --disable-pip`). Exit status:

- 1 when a locked package has a known vulnerability that IGNORED does not accept (upgrade the pin when
  a fixed version exists, `make lock`, test), or when pip-audit itself breaks for any other reason;
- 0 with a WARNING when the service could not be asked (no network, a timeout) or did not answer for
  some packages: an outage must not turn CI red, and it must never read as a clean audit either;
- 0 when every package was audited and none has a known vulnerability.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

# Vulnerability id (PYSEC-…, GHSA-…, CVE-…) → why it is accepted: no fixed version yet, or the vulnerable
# code is never reached by IAZE. Each entry is passed to pip-audit as --ignore-vuln.
IGNORED: dict[str, str] = {}

# pip-audit's own per-request timeout (seconds), and the whole audit's.
REQUEST_TIMEOUT = 15
AUDIT_TIMEOUT = 600
UNREACHABLE = re.compile(
    r"ConnectionError|ProxyError|ConnectTimeout|ReadTimeout|Timeout|Max retries exceeded|NameResolution"
    r"|Temporary failure in name resolution|Network is unreachable|ServiceError",
)


@dataclass
class Verdict:
    status: int
    lines: list[str]


def command(lock: str, output: str) -> list[str]:
    cmd = [
        sys.executable,
        "-m",
        "pip_audit",
        "--vulnerability-service",
        "pypi",
        "--requirement",
        lock,
        "--no-deps",
        "--disable-pip",
        "--progress-spinner",
        "off",
        "--timeout",
        str(REQUEST_TIMEOUT),
        "--format",
        "json",
        "--output",
        output,
    ]
    for vuln_id in sorted(IGNORED):
        cmd += ["--ignore-vuln", vuln_id]
    return cmd


def judge(returncode: int, report: dict | None, stderr: str) -> Verdict:
    """The verdict on one pip-audit run: its exit status, its JSON report (None if it wrote none), its stderr."""
    if report is None:
        if UNREACHABLE.search(stderr):
            last = stderr.strip().splitlines()[-1] if stderr.strip() else "no answer"
            return Verdict(0, [f"WARNING: the vulnerability service could not be reached; NOT audited ({last[:300]})"])
        return Verdict(1, ["pip-audit failed:", *stderr.strip().splitlines()[-20:]])
    deps = report.get("dependencies", [])
    found = [
        f"{dep['name']} {dep.get('version', '?')}: {vuln['id']} "
        f"(fixed in {', '.join(vuln.get('fix_versions') or []) or 'no release yet'})"
        for dep in deps
        for vuln in dep.get("vulns") or []
    ]
    skipped = [dep for dep in deps if dep.get("skip_reason")]
    lines = [f"audited {len(deps) - len(skipped)} of {len(deps)} locked packages"]
    for vuln_id, reason in sorted(IGNORED.items()):
        lines.append(f"accepted {vuln_id}: {reason}")
    if found:
        return Verdict(1, [*lines, "known vulnerabilities:", *(f"  {line}" for line in found)])
    if returncode != 0:
        return Verdict(1, [*lines, "pip-audit failed:", *stderr.strip().splitlines()[-20:]])
    if skipped:
        reasons = sorted({dep["skip_reason"].split(":")[0] for dep in skipped})
        lines.append(
            f"WARNING: {len(skipped)} packages could not be audited ({'; '.join(reasons)}): "
            + ", ".join(dep["name"] for dep in skipped[:12])
            + (" …" if len(skipped) > 12 else "")
        )
        return Verdict(0, lines)
    return Verdict(0, [*lines, "no known vulnerabilities"])


def audit(lock: str) -> Verdict:
    with tempfile.TemporaryDirectory() as tmp:
        output = str(Path(tmp) / "audit.json")
        try:
            done = subprocess.run(command(lock, output), capture_output=True, text=True, timeout=AUDIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            return judge(1, None, f"Timeout: the audit took more than {AUDIT_TIMEOUT} s")
        path = Path(output)
        report = json.loads(path.read_text()) if path.is_file() and path.stat().st_size else None
        return judge(done.returncode, report, done.stderr)


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not Path(argv[0]).is_file():
        print("usage: audit_deps.py LOCK_FILE", file=sys.stderr)
        return 2
    verdict = audit(argv[0])
    for line in verdict.lines:
        print(f"audit: {line}", file=sys.stderr if line.startswith("WARNING") else sys.stdout)
    return verdict.status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
