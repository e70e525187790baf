"""Backup and restore of every protected table, for every database profile."""

from .export import backup
from .restore import RestoreError, restore

__all__ = ["RestoreError", "backup", "restore"]
