"""The project's own source files, for the tests that scan them (nothing deleted, no provider named outside the
adapters): one walker, so every scan skips the same folders."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Not the project's own source: tools, data, generated or vendored files, tests and migrations.
SKIP_DIRS = frozenset(
    {
        ".venv",
        ".git",
        "tests",
        "migrations",
        "mongo_migrations",
        "node_modules",
        "staticfiles",
        "data",
        "__pycache__",
        "locale",
        "static",
    }
)


def project_files(suffix: str, *, skip: frozenset[str] | set[str] = SKIP_DIRS) -> Iterator[tuple[str, Path]]:
    """(path relative to the project, absolute path) of every file ending in `suffix`, in a stable order."""
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = sorted(d for d in dirs if d not in skip and not d.startswith("."))
        for name in sorted(files):
            if name.endswith(suffix):
                path = Path(folder, name)
                yield path.relative_to(ROOT).as_posix(), path
