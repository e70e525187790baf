"""Nothing is deleted: the project's own source may not contain a way to delete data.

Scanned: every Python file of the project outside tests and migrations (AST, so
comments and docstrings do not count), plus the shell-level files that run in
production or CI. Each finding is (path, rule); a finding is allowed only when it
is in WHITELIST with the reason it is legitimate, and every whitelist entry must
still match something, so the list cannot rot into a blanket exemption.
"""

import ast
import re
from pathlib import Path

import pytest

from tests.support import sources

ROOT = sources.ROOT
SHELL_FILES = ["Makefile", "Dockerfile", ".ci/run", "scripts", "compose.yaml", "docker-compose.yml", "deploy"]

# Attributes whose use deletes data (Django querysets/instances, pymongo, mongosh).
DESTRUCTIVE_ATTRS = {
    "delete_many",
    "delete_one",
    "find_one_and_delete",
    "drop_collection",
    "drop_database",
    "dropDatabase",
    "sql_flush",
    "execute_sql_flush",
    "delete_model",
    "remove_field",
}
SQL_DESTRUCTIVE = re.compile(
    r"\bTRUNCATE\b|(?i:\btruncate\s+table\b)|(?i:\bdrop\s+(table|database|schema|collection)\b)"
    r"|(?i:\bdelete\s+from\b)|dropDatabase|drop_collection|delete_many"
)
SHELL_DESTRUCTIVE = re.compile(
    r"manage\.py\s+(flush|sqlflush)\b|\bflush\s+--no-?input|dropDatabase|drop_collection|deleteMany"
    r"|\bTRUNCATE\b|(?i:\bdrop\s+(table|database))|(?i:\bdelete\s+from\b)|dropdb\b"
)

# (path, rule) -> why it is legitimate.
WHITELIST = {
    (
        "ops/management/commands/flush.py",
        "flush-command",
    ): "the refusal itself: it subclasses Django's flush only to refuse any non-test database",
    (
        "ops/migration_safety.py",
        "sql-destructive",
    ): "the migration-safety check's own detection patterns (regexes that find DROP/TRUNCATE/DELETE)",
    (
        "ops/migration_safety.py",
        "cascade",
    ): "the migration-safety check compares on_delete with CASCADE in order to refuse it",
}


def _docstring_nodes(tree):
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = getattr(node, "body", [])
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                yield body[0].value


def scan_python(source: str) -> list[tuple[str, int]]:
    """(rule, line) for every destructive construct in one module."""
    tree = ast.parse(source)
    docstrings = {id(n) for n in _docstring_nodes(tree)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "delete":
            found.append(("delete-call", node.lineno))
        elif isinstance(node, ast.Attribute) and node.attr in DESTRUCTIVE_ATTRS:
            found.append(("destructive-api", node.lineno))
        elif (isinstance(node, ast.Attribute) and node.attr == "CASCADE") or (
            isinstance(node, ast.Name) and node.id == "CASCADE"
        ):
            found.append(("cascade", node.lineno))
        elif isinstance(node, ast.keyword) and node.arg == "on_delete" and "CASCADE" in ast.unparse(node.value):
            found.append(("cascade", node.value.lineno))
        elif (
            isinstance(node, ast.Call)
            and _called_name(node) == "call_command"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and node.args[0].value in ("flush", "sqlflush")
        ):
            found.append(("flush-command", node.lineno))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.endswith("commands.flush"):
            found.append(("flush-command", node.lineno))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            if SQL_DESTRUCTIVE.search(node.value) or re.search(r"\bmanage\.py\s+flush\b", node.value):
                found.append(("sql-destructive", node.lineno))
    return found


def _called_name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def scan_shell(text: str) -> list[tuple[str, int]]:
    found = []
    for lineno, line in enumerate(text.splitlines(), 1):
        code = line.split("#", 1)[0] if not line.lstrip().startswith("#!") else ""
        if SHELL_DESTRUCTIVE.search(code):
            found.append(("shell-destructive", lineno))
    return found


def project_python_files():
    for relative, _path in sources.project_files(".py", skip=sources.SKIP_DIRS | {"templates"}):
        yield Path(relative)


def project_shell_files():
    for name in SHELL_FILES:
        path = ROOT / name
        if path.is_dir():
            yield from sorted(p.relative_to(ROOT) for p in path.rglob("*") if p.is_file() and p.suffix != ".py")
        elif path.is_file():
            yield path.relative_to(ROOT)


def all_findings():
    findings = []
    for rel in project_python_files():
        findings += [(rel.as_posix(), rule, line) for rule, line in scan_python((ROOT / rel).read_text())]
    for rel in project_shell_files():
        findings += [(rel.as_posix(), rule, line) for rule, line in scan_shell((ROOT / rel).read_text())]
    return findings


def test_scan_covers_the_project():
    files = {p.as_posix() for p in project_python_files()}
    # The scan must see the code that could delete, and none of the tests or migrations.
    assert {
        "tickets/services/lifecycle.py",
        "iaze/lib/models.py",
        "ops/management/commands/flush.py",
        "whatsapp/models.py",
        "manage.py",
    } <= files
    assert not any(f.startswith("tests/") or "/migrations/" in f for f in files)


def test_no_destructive_code_outside_the_whitelist():
    findings = all_findings()
    unexpected = [f"{path}:{line}: {rule}" for path, rule, line in findings if (path, rule) not in WHITELIST]
    assert not unexpected, "destructive code found (IAZE never deletes):\n" + "\n".join(unexpected)


def test_every_whitelist_entry_is_still_needed():
    used = {(path, rule) for path, rule, _ in all_findings()}
    assert not set(WHITELIST) - used, f"stale whitelist entries: {set(WHITELIST) - used}"


@pytest.mark.parametrize(
    "snippet,rule",
    [
        ("Ticket.objects.filter(pk=1).delete()", "delete-call"),
        ("ticket.delete()", "delete-call"),
        ("db.tickets.delete_many({})", "destructive-api"),
        ("db.drop_collection('tickets')", "destructive-api"),
        ("client.drop_database('support_chat')", "destructive-api"),
        ("db.command('dropDatabase')", "sql-destructive"),
        ("cursor.execute('TRUNCATE tickets')", "sql-destructive"),
        ("cursor.execute('delete from messages where id = %s', [1])", "sql-destructive"),
        ("call_command('flush', interactive=False)", "flush-command"),
        ("from django.core.management.commands.flush import Command", "flush-command"),
        ("t = models.ForeignKey('tickets.Ticket', on_delete=models.CASCADE)", "cascade"),
        ("from django.db.models import CASCADE\nx = ForeignKey(Ticket, on_delete=CASCADE)", "cascade"),
    ],
)
def test_scanner_catches_each_rule(snippet, rule):
    assert rule in {r for r, _ in scan_python(snippet)}


@pytest.mark.parametrize(
    "snippet",
    [
        '"""A docstring may say .delete() and TRUNCATE: it is not code."""',
        "# ticket.delete() in a comment\nx = 1",
        "print('seeding', flush=True)",
        "sys.stdout.flush()",
        "t = models.ForeignKey('tickets.Ticket', on_delete=models.PROTECT)",
        "preview = text[:200]  # truncate",
    ],
)
def test_scanner_ignores_harmless_code(snippet):
    assert scan_python(snippet) == []


@pytest.mark.parametrize(
    "line,bad",
    [
        ("$(PY) manage.py flush --noinput", True),
        ("mongosh --eval 'db.dropDatabase()'", True),
        ("psql -c 'TRUNCATE tickets'", True),
        ("$(PY) manage.py migrate --noinput", False),
        ("# manage.py flush is refused anyway", False),
    ],
)
def test_shell_scanner(line, bad):
    assert bool(scan_shell(line)) is bad
