"""Settings → Browser extension: where the extension's folder is, how to load it, and the
address its options page asks for."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nicegui import ui

from audiofetch_app.core.extension import EXTENSION_DIR

if TYPE_CHECKING:
    from audiofetch_app.sources.runtime import Runtime

DEFAULT_ADDRESS = "http://127.0.0.1:8765"
STEPS = (
    "Chrome, Edge or Brave: open chrome://extensions, turn on Developer mode, click "
    "“Load unpacked” and choose the folder above.",
    "Firefox 128 or newer: open about:debugging → This Firefox → “Load Temporary Add-on” and "
    "choose manifest.json in that folder (it stays until Firefox closes).",
    "In the extension's options, enter the address below. On a page that plays audio, click "
    "the AudioFetch button (or right-click → “Save audio with AudioFetch”).",
)


def app_address(runtime: Runtime) -> str:
    """The address this AudioFetch answers at, as the extension should be told."""
    try:
        return str(runtime.lock.read_info().get("url") or DEFAULT_ADDRESS)
    except AttributeError:  # a runtime without an instance lock (tests)
        return DEFAULT_ADDRESS


class ExtensionHelp:
    """An expansion in the Settings dialog."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        with ui.expansion("Browser extension", icon="extension").classes("w-full") \
                .mark("settings-extension"):
            ui.label("Sends the audio a page really plays (players built by JavaScript "
                     "included) and X Space links to AudioFetch.")
            with ui.row().classes("items-center gap-1"):
                ui.label("Folder:")
                ui.label(str(EXTENSION_DIR)).classes("font-mono text-caption") \
                    .mark("extension-folder")
                ui.button(icon="content_copy",
                          on_click=lambda: ui.clipboard.write(str(EXTENSION_DIR))) \
                    .props("flat dense round").tooltip("Copy the folder's path")
            with ui.column().classes("gap-0"):
                for number, step in enumerate(STEPS, 1):
                    ui.label(f"{number}. {step}").classes("text-body2")
            with ui.row().classes("items-center gap-1"):
                ui.label("Address:")
                self.address = ui.label(app_address(runtime)).classes("font-mono") \
                    .mark("extension-address")
            ui.label("An AudioFetch shared on the network asks the extension for its "
                     "password once (in the extension's options); the extension keeps the "
                     "login, never the password.").classes("text-caption")
