"""Where a source's files go: a local folder, a NAS share (a folder too), or S3.

Every target downloads into a local `.part` file first; `commit` makes it the saved file.
Calls block (file system or network) and are made through `asyncio.to_thread`.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Protocol

from audiofetch_app.core.job_context import JobError

if TYPE_CHECKING:
    from audiofetch_app.core.vault import Vault

FOLDER, S3 = "folder", "s3"


class StorageTarget(Protocol):
    label: str

    def check(self) -> None:
        """Raise JobError with a sentence when the target cannot be written to."""

    def saved_size(self, rel: str) -> int | None:
        """The size of the saved file at `rel`, or None when there is none."""

    def partial(self, rel: str) -> Path:
        """The local `.part` file that `rel` is downloaded into (its folder exists)."""

    def commit(self, partial: Path, rel: str) -> str:
        """Make the finished `partial` the saved file `rel`; returns where it now is."""


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


def public_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """A target spec fit to show or return: secrets (an S3 secret key) masked."""
    return {k: ("***" if "secret" in k or "password" in k else v) for k, v in spec.items()}


def target_label(spec: dict[str, Any]) -> str:
    """How a target spec reads in a list: the folder path or the s3:// URL."""
    return str(spec.get("path") or spec.get("url") or "")


def check_spec(spec: dict[str, Any] | None, default_folder: Path,
               secrets: Vault = None) -> dict[str, Any]:
    """A clean target spec from what a user entered; raises JobError with what is wrong.

    Blocks (an S3 secret is written to the vault `secrets`): call it through to_thread."""
    spec = dict(spec or {})
    kind = spec.get("type") or FOLDER
    if kind == FOLDER:
        path = str(spec.get("path") or "").strip() or str(default_folder)
        return {"type": FOLDER, "path": str(Path(path).expanduser())}
    if kind == S3:
        from audiofetch_app.sources.telegram.targets_s3 import check_s3_spec

        return check_s3_spec(spec, secrets)
    raise JobError(f"Unknown storage target {kind!r}; use a folder or s3.")


def open_target(spec: dict[str, Any], *, staging: Path, secrets: Vault) -> StorageTarget:
    """The target a spec describes; `staging` holds `.part` files for remote targets."""
    if spec.get("type", FOLDER) == FOLDER:
        return FolderTarget(Path(spec["path"]).expanduser())
    if spec["type"] == S3:
        from audiofetch_app.sources.telegram.targets_s3 import S3Target

        return S3Target.open(spec, staging=staging, secrets=secrets)
    raise JobError(f"Unknown storage target {spec.get('type')!r}.")
