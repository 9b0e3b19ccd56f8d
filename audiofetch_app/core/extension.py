"""The browser extension AudioFetch ships (Manifest V3, Chromium browsers and Firefox 128+):
where its folder is, and its ZIP.

The folder `audiofetch_app/extension/` is loaded unpacked (Chrome/Edge: Developer mode →
Load unpacked; Firefox: about:debugging → Load Temporary Add-on → its manifest.json), or
packed into a ZIP by `build_zip` (`audiofetch extension --zip FILE`), the form stores and
Firefox's signing take.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

EXTENSION_DIR = Path(__file__).resolve().parent.parent / "extension"


def version() -> str:
    """The extension's version, from its manifest."""
    manifest = json.loads((EXTENSION_DIR / "manifest.json").read_text(encoding="utf-8"))
    return str(manifest["version"])


def build_zip(dest: Path) -> Path:
    """Write the extension's files into the ZIP `dest` (manifest.json at its root, files in
    name order, fixed dates, so the same files always make the same ZIP); returns `dest`.
    OSError when `dest` cannot be written."""
    files = sorted(p for p in EXTENSION_DIR.rglob("*") if p.is_file())
    tmp = dest.with_name(dest.name + ".part")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(EXTENSION_DIR).as_posix(),
                                   date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes())
    os.replace(tmp, dest)
    return dest
