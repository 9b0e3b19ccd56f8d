"""Where finished files go: a protocol, and the kinds of storage target, found by name.

A kind is a module in this package that declares `NAME`, `LABEL`, `EXAMPLE` and `FIELDS`
(what a person fills in: name, label, whether it is a secret) and offers `claims(text)`,
`spec_from_text(text)`, `check_spec(spec, default_folder, secrets)`,
`open_target(spec, staging=, secrets=)`, `label(spec)` and `secret_refs(spec)`. A spec is a
JSON object with `type` naming the kind; secrets never stay in it (the vault keeps them and
the spec names them). Adding a kind is one module plus one line in `KINDS`.

Every target downloads into a local `.part` file first; `commit` makes it the saved file.
Calls block (file system or network) and are made through `asyncio.to_thread`.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol

from audiofetch_app.core.job_context import JobError

if TYPE_CHECKING:
    from audiofetch_app.core.vault import Vault

KINDS = ("folder", "s3")  # module names, in the order the faces offer them
DEFAULT = "folder"


class StorageTarget(Protocol):
    """An open target. `rel` is a relative POSIX path inside it."""

    @property
    def label(self) -> str: ...

    def check(self) -> None:
        """Raise JobError with a sentence when the target cannot be written to."""

    def saved_size(self, rel: str) -> int | None:
        """The size of the saved file at `rel`, or None when there is none."""

    def partial(self, rel: str) -> Path:
        """The local `.part` file that `rel` is downloaded into (its folder exists)."""

    def commit(self, partial: Path, rel: str) -> str:
        """Make the finished `partial` the saved file `rel`; returns where it now is."""


def find(name: str | None) -> ModuleType:
    """The module of the kind `name` (the default kind for None); JobError if unknown."""
    name = name or DEFAULT
    if name not in KINDS:
        raise JobError(f"Unknown storage target {name!r}; use one of: {', '.join(KINDS)}.")
    return importlib.import_module(f"{__name__}.{name}")


def kinds() -> list[ModuleType]:
    """Every kind, in the order the faces offer them."""
    return [find(name) for name in KINDS]


def spec_from_text(text: str) -> dict[str, Any]:
    """The spec a typed address names (a folder path, s3://bucket/folder, ...): the first
    kind that claims it; JobError if none does. Not yet checked (see `check_spec`)."""
    text = (text or "").strip()
    for kind in kinds():
        if kind.claims(text):
            return kind.spec_from_text(text)
    raise JobError(f"AudioFetch cannot save to {text!r}; give a folder or an s3:// address.")


def check_spec(spec: dict[str, Any] | None, default_folder: Path,
               secrets: Vault | None = None) -> dict[str, Any]:
    """A clean target spec from what a user entered; JobError says what is wrong.

    Blocks (a secret is written to the vault `secrets`): call it through to_thread."""
    spec = dict(spec or {})
    return find(spec.get("type")).check_spec(spec, default_folder, secrets)


def open_target(spec: dict[str, Any], *, staging: Path, secrets: Vault | None
                ) -> StorageTarget:
    """The target a checked spec describes; `staging` holds `.part` files of remote ones."""
    return find(spec.get("type")).open_target(spec, staging=staging, secrets=secrets)


def check_folder(path: Path) -> None:
    """A local folder a job will write into, checked as a folder target is: made when only
    it is missing, refused when its parent is missing too (an unplugged drive or share),
    written to once. JobError with one sentence; blocks (call it through to_thread)."""
    open_target({"type": DEFAULT, "path": str(path)}, staging=path, secrets=None).check()


def is_local(spec: dict[str, Any] | None) -> bool:
    """True when the spec is a folder on this machine (files are written there directly)."""
    return (spec or {}).get("type", DEFAULT) == DEFAULT


def public_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """A target spec fit to show or return: secrets masked."""
    return {k: ("***" if "secret" in k or "password" in k else v) for k, v in spec.items()}


def target_label(spec: dict[str, Any]) -> str:
    """How a target spec reads in a list: the folder path or the s3:// address."""
    return find(spec.get("type")).label(spec) if spec else ""


def secret_refs(spec: dict[str, Any]) -> list[str]:
    """The vault names of the secrets a checked spec uses."""
    return find(spec.get("type")).secret_refs(spec) if spec else []
