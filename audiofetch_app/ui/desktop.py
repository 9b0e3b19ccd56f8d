"""Hand a folder to the operating system's file manager."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def open_folder(path: Path) -> None:
    """Open `path` (or the folder holding it) in the file manager; raises OSError."""
    folder = path if path.is_dir() else path.parent
    if not folder.exists():
        raise FileNotFoundError(f"The folder {folder} does not exist any more.")
    if sys.platform == "win32":
        os.startfile(folder)  # type: ignore[attr-defined]
    elif sys.platform == "darwin":
        subprocess.Popen(["open", str(folder)])
    else:
        subprocess.Popen(["xdg-open", str(folder)], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
