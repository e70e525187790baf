"""Folders on disk that hold conversations, readable by the account IAZE runs as and nobody else.

`DATA_DIR`, its media folder and the temporary files beside them are created 0700 whoever creates them
first (the settings, `scripts/run.sh`, a Dockerfile's `mkdir`), and an existing one of ours that is
open to others (0755 from an earlier version, a volume made by `mkdir -p`) is tightened on start. Files
stored in them are 0600 (`FILE_UPLOAD_PERMISSIONS` in the settings). Imported by the settings: no Django.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def private_dir(path: str | os.PathLike[str]) -> Path:
    """Create `path` 0700 (missing parents as usual) and take group and other access off an existing one.

    Only a folder this account owns is changed, and never a shared one (sticky, such as /tmp given as
    DATA_DIR by mistake): tightening it would break every other user of the machine. A 0777 folder of
    ours (a volume opened up to get past a permission error) is tightened like any other."""
    path = Path(path)
    path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    info = path.stat()
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077 and not mode & stat.S_ISVTX and info.st_uid == os.geteuid():
        with contextlib.suppress(OSError):  # a read-only mount: it stays as it is, the app still runs
            path.chmod(mode & PRIVATE_DIR_MODE)
    return path
