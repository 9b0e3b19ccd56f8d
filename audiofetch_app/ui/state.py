"""The services the UI talks to, set once when the server starts (or by a test)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from audiofetch_app.sources.runtime import Runtime
    from audiofetch_app.ui.lan_settings import LanControl

_runtime: Runtime | None = None
_lan: LanControl | None = None
native_mode = False
lan_mode = False  # served on the network behind the password: show Log out


def set_runtime(runtime: Runtime | None) -> None:
    global _runtime
    _runtime = runtime


def runtime() -> Runtime:
    if _runtime is None:
        raise RuntimeError("AudioFetch is still starting.")
    return _runtime


def set_lan(lan: LanControl | None) -> None:
    """The LAN password control the start-up module made (the web face's LanAccess)."""
    global _lan
    _lan = lan


def lan() -> LanControl:
    if _lan is None:
        raise RuntimeError("AudioFetch is still starting.")
    return _lan


def from_network() -> bool:
    """The browser of the page being built or used is on another device (a LAN client)."""
    from nicegui import ui

    from audiofetch_app.core.address_guard import is_network_peer

    request = getattr(ui.context.client, "request", None)
    client = getattr(request, "client", None)
    return is_network_peer(getattr(client, "host", None))
