"""Backup and restore of every protected table, for every database profile."""

from ops.backup.export import backup
from ops.backup.restore import RestoreError, restore

__all__ = ["RestoreError", "backup", "restore"]
