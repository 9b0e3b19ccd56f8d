"""The Telegram API credentials form (api_id, api_hash): the tab's first step, and Settings."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import ui

from audiofetch_app.sources.telegram.credentials import HOW_TO, ApiCredentials
from audiofetch_app.ui.telegram.common import sentence

MY_TELEGRAM = "https://my.telegram.org"


def how_to() -> None:
    """The short how-to, with my.telegram.org as a link that opens outside the app."""
    with ui.row().classes("items-center gap-1 text-grey-8"):
        ui.label(HOW_TO).classes("tg-how-to")
        ui.link("Open my.telegram.org", MY_TELEGRAM, new_tab=True)


class CredentialsForm:
    """api_id and api_hash inputs with Save; `on_saved` runs once they are kept."""

    def __init__(self, credentials: ApiCredentials,
                 on_saved: Callable[[], Awaitable[None] | None] | None = None) -> None:
        self.credentials = credentials
        self.on_saved = on_saved
        with ui.card().props("flat bordered").classes("w-full tg-credentials") \
                .mark("tg-credentials"):
            ui.label("Telegram API credentials").classes("text-subtitle1")
            how_to()
            with ui.row().classes("w-full items-start gap-2"):
                self.api_id = ui.input("api_id").props("outlined dense").classes("w-40") \
                    .mark("tg-api-id")
                self.api_hash = ui.input("api_hash", password=True,
                                         password_toggle_button=True) \
                    .props("outlined dense").classes("grow").mark("tg-api-hash")
                ui.button("Save", icon="key", on_click=self.save).classes("q-mt-xs") \
                    .mark("tg-api-save")
            self.error = ui.label().classes("text-negative").mark("tg-api-error")

    async def save(self) -> None:
        try:
            await self.credentials.set(self.api_id.value or "", self.api_hash.value or "")
        except Exception as exc:
            self.error.set_text(sentence(exc))
            return
        self.error.set_text("")
        self.api_id.set_value("")
        self.api_hash.set_value("")
        if self.on_saved is not None:
            result = self.on_saved()
            if result is not None:
                await result
