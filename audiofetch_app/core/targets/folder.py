"""A local folder, or a NAS share mounted as one, as a storage target."""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from audiofetch_app.core.job_context import JobError

if TYPE_CHECKING:
    from audiofetch_app.core.vault import Vault

NAME = "folder"
LABEL = "Folder"
EXAMPLE = "~/Music/AudioFetch"  # an address of this kind, for help texts
# The fields a person fills in, for the faces: (name, label, is it a secret).
FIELDS = (("path", "Folder (a NAS share mounted as a folder works too)", False),)


@dataclass
class FolderTarget:
    """A local folder, or a NAS share mounted as one (`/mnt/nas/music`, `\\\\nas\\music`)."""

    root: Path

    @property
    def label(self) -> str:
        return str(self.root)

    def check(self) -> None:
        root = self.root
        if not root.exists():
            # A missing parent usually means an unmounted share: do not create a look-alike.
            if not root.parent.exists():
                raise JobError(f"The folder {root} cannot be reached; is the drive or share "
                               "connected?")
            try:
                root.mkdir(exist_ok=True)
            except OSError as exc:
                raise JobError(f"Could not create the folder {root}: "
                               f"{exc.strerror or exc}.") from exc
        if not root.is_dir():
            raise JobError(f"{root} is not a folder.")
        # Write a file rather than ask os.access: network shares (SMB, NFS with root squash)
        # and read-only mounts answer os.access wrongly.
        try:
            handle, probe = tempfile.mkstemp(prefix=".audiofetch-check-", dir=root)
        except PermissionError as exc:
            raise JobError(f"AudioFetch may not write to {root}.") from exc
        except OSError as exc:
            raise JobError(f"Could not write to {root}: {exc.strerror or exc}.") from exc
        os.close(handle)
        with contextlib.suppress(OSError):
            os.unlink(probe)

    def _path(self, rel: str) -> Path:
        path = self.root.joinpath(*PurePosixPath(rel).parts)
        if self.root.resolve() not in path.resolve().parents:
            raise JobError("A file name would leave the target folder.")
        return path

    def saved_size(self, rel: str) -> int | None:
        try:
            return self._path(rel).stat().st_size
        except FileNotFoundError:
            return None

    def partial(self, rel: str) -> Path:
        path = self._path(rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.with_name(path.name + ".part")

    def commit(self, partial: Path, rel: str) -> str:
        final = self._path(rel)
        os.replace(partial, final)
        return str(final)


def claims(text: str) -> bool:
    """Any text that is not a URL names a folder."""
    return "://" not in text


def spec_from_text(text: str) -> dict[str, Any]:
    """The spec of the folder `text` names (`~` expanded)."""
    return {"type": NAME, "path": str(Path(text).expanduser())}


def check_spec(spec: dict[str, Any], default_folder: Path, secrets: Vault | None = None
               ) -> dict[str, Any]:
    """A clean folder spec; an empty path means `default_folder`."""
    path = str(spec.get("path") or "").strip() or str(default_folder)
    return {"type": NAME, "path": str(Path(path).expanduser())}


def open_target(spec: dict[str, Any], *, staging: Path, secrets: Vault | None) -> FolderTarget:
    return FolderTarget(Path(spec["path"]).expanduser())


def label(spec: dict[str, Any]) -> str:
    return str(spec.get("path") or "")


def secret_refs(spec: dict[str, Any]) -> list[str]:
    return []
