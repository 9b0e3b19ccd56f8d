"""The Telegram tab: filled by the Telegram source; says what is coming until then."""

from __future__ import annotations

from nicegui import ui

from audiofetch_app.runtime import Runtime


def build(runtime: Runtime, on_started) -> None:
    ui.label("Telegram").classes("text-h6")
    with ui.card().props("flat bordered").classes("w-full"):
        ui.label("Log in with your Telegram account, pick channels and keep their music and "
                 "voice notes synced to a folder.")
        ui.label("Telegram sync is not in this version yet.").classes("text-grey-7")
