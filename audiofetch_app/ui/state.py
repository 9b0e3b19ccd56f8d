"""The services the UI talks to, set once when the server starts (or by a test)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from audiofetch_app.runtime import Runtime

_runtime: Runtime | None = None
native_mode = False
lan_mode = False  # served on the network behind the password: show Log out


def set_runtime(runtime: Runtime | None) -> None:
    global _runtime
    _runtime = runtime


def runtime() -> Runtime:
    if _runtime is None:
        raise RuntimeError("AudioFetch is still starting.")
    return _runtime
