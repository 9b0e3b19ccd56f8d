"""Saved downloads: the files and folders in the download folder, by name, safely.

A name is one entry directly in the folder. Anything else (a path, `..`, a hidden or partial
file, a link pointing outside) is refused, so no request can reach past the folder.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from audiofetch_app.core.job_context import JobError
from audiofetch_app.core.zipstream import ZipMember


class BadName(JobError):
    """Not the name of an entry in the download folder."""


class NotSaved(JobError):
    """No saved download by that name."""


@dataclass(frozen=True)
class SavedItem:
    name: str
    is_folder: bool
    size: int
    files: int
    modified: float


def _hidden(name: str) -> bool:
    return name.startswith(".") or name.endswith(".part")


def check_name(name: str) -> str:
    """`name` if it can only mean one entry right in the folder; raises BadName otherwise."""
    if (not name or name in (".", "..") or len(name) > 255 or any(c in name for c in "/\\\0:")
            or _hidden(name) or Path(name).is_absolute() or name != name.strip()):
        raise BadName("That is not the name of a saved download.")
    return name


def resolve(root: Path, name: str) -> Path:
    """The saved entry `name` under `root`; raises BadName or NotSaved."""
    check_name(name)
    base = root.resolve()
    path = base / name
    try:
        real = path.resolve(strict=True)
    except (FileNotFoundError, RuntimeError):
        raise NotSaved(f"There is no saved download called {name}.") from None
    if real.parent != base and base not in real.parents:
        raise BadName("That is not the name of a saved download.")
    if path.is_symlink():
        raise BadName("That is not the name of a saved download.")
    return path


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    found: list[Path] = []
    base = path.resolve()
    for dirpath, dirnames, filenames in os.walk(path, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            file = Path(dirpath) / name
            if _hidden(name) or file.is_symlink() or base not in file.resolve().parents:
                continue
            found.append(file)
    return found


def list_saved(root: Path) -> list[SavedItem]:
    """Every saved download, newest first."""
    if not root.is_dir():
        return []
    items: list[SavedItem] = []
    for entry in root.iterdir():
        if _hidden(entry.name) or entry.is_symlink():
            continue
        files = _files(entry)
        items.append(SavedItem(entry.name, entry.is_dir(), sum(f.stat().st_size for f in files),
                               len(files), entry.stat().st_mtime))
    return sorted(items, key=lambda i: i.modified, reverse=True)


def delete_saved(root: Path, name: str) -> None:
    path = resolve(root, name)
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink()


async def zip_members(root: Path, name: str) -> AsyncIterator[ZipMember]:
    """The members of a ZIP of the saved download `name` (a folder keeps its inner paths)."""
    path = resolve(root, name)
    for file in _files(path):
        inner = file.name if path.is_file() else str(file.relative_to(path).as_posix())
        yield await ZipMember.from_file(file, inner)
