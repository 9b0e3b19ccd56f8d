"""`audiofetch restore-database`: put back the last good copy of a damaged database."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from audiofetch_app import settings as settings_mod
from audiofetch_app.cli.common import EXIT_FAILED, EXIT_OK
from audiofetch_app.core.store import StoreError, history_dir, is_damaged, restore_good_copy
from audiofetch_app.sources.runtime import AlreadyRunning, acquire_instance


def _damaged(path: Path) -> bool:
    """The database or any file of its job history does not read cleanly."""
    history = history_dir(path)
    files = [path, *(history.rglob("*.json") if history.is_dir() else [])]
    return any(is_damaged(p) for p in files)


def restore_command(args: argparse.Namespace) -> int:
    """Restore the good copy (only while no AudioFetch uses the data folder)."""
    try:
        lock = acquire_instance()
    except AlreadyRunning as exc:
        print(f"{exc} Close it first.", file=sys.stderr)
        return EXIT_FAILED
    try:
        path = settings_mod.db_path()
        if not args.force and not _damaged(path):
            print(f"The database {path} reads cleanly, so there is nothing to restore (use "
                  "--force to go back to the good copy all the same).", file=sys.stderr)
            return EXIT_FAILED
        kept = restore_good_copy(path)
    except (StoreError, OSError) as exc:
        print(str(exc) if isinstance(exc, StoreError) else
              f"Could not restore the database: {exc.strerror or exc}.", file=sys.stderr)
        return EXIT_FAILED
    finally:
        lock.release()
    print(f"Restored the good copy; the file it replaced is kept as {kept.name}.")
    print(path)
    return EXIT_OK
