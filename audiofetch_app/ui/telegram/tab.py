"""The Telegram tab: API credentials first, then two sub-pages, Sessions and Sources."""

from __future__ import annotations

from collections.abc import Callable

from nicegui import ui

from audiofetch_app.sources.runtime import Runtime
from audiofetch_app.sources.telegram.catalog import TelegramSource
from audiofetch_app.sources.telegram.gateway import Channel
from audiofetch_app.sources.telegram.sessions import SessionRecord
from audiofetch_app.ui.telegram.common import sentence
from audiofetch_app.ui.telegram.credentials import CredentialsForm
from audiofetch_app.ui.telegram.sessions import SessionsPage
from audiofetch_app.ui.telegram.source_form import SourceForm
from audiofetch_app.ui.telegram.sources import SourcesPage


class TelegramTab:
    """Shows the credentials form until api_id/api_hash are kept, then sessions and sources."""

    def __init__(self, runtime: Runtime, on_started: Callable[[], None]) -> None:
        self.service = runtime.telegram
        self.on_started = on_started
        ui.label("Telegram").classes("text-h6")
        ui.label("Log in with your Telegram account, pick channels and groups, and keep "
                 "their music and voice notes synced to a folder or S3.").classes("text-grey-7")
        self.gate = ui.column().classes("w-full").mark("tg-gate")
        with ui.column().classes("w-full") as self.main:
            with ui.tabs().props("dense no-caps align=left").classes("w-full") as self.tabs:
                # A click reads the page again: REST or the schedule may have changed things.
                self.sources_tab = ui.tab("Sources", icon="sync").mark("tg-tab-sources") \
                    .on("click", self._reload_sources)
                self.sessions_tab = ui.tab("Sessions", icon="account_circle") \
                    .mark("tg-tab-sessions").on("click", self._reload_sessions)
            with ui.tab_panels(self.tabs, value=self.sessions_tab).classes("w-full"):
                with ui.tab_panel(self.sessions_tab):
                    self.sessions = SessionsPage(self.service, on_add_source=self.add_from,
                                                 on_changed=self._sessions_changed)
                with ui.tab_panel(self.sources_tab):
                    self.sources = SourcesPage(self.service, runtime.jobs,
                                               on_add=self.add_source, on_edit=self.edit_source)
        self.main.set_visibility(False)
        self.dialogs = ui.element()  # forms live here, not in rows that a refresh replaces
        self.loading = ui.spinner()
        self.problem = ui.label().classes("text-negative")
        ui.timer(0.01, self.load, once=True)  # once connected: reading the vault is async

    async def load(self) -> None:
        """The credentials form when they are missing, else the sessions and sources."""
        self.loading.set_visibility(True)
        try:
            ready = await self.service.credentials.is_set()
            sessions = await self.sessions.refresh() if ready else []
            if ready:
                await self.sources.refresh(sessions)
        except Exception as exc:
            self.problem.set_text(sentence(exc))
            return
        finally:
            self.loading.set_visibility(False)
        self.problem.set_text("")
        self.gate.clear()
        self.gate.set_visibility(not ready)
        self.main.set_visibility(ready)
        if not ready:
            with self.gate:
                CredentialsForm(self.service.credentials, on_saved=self._credentials_saved)
            return
        self.tabs.set_value(self.sources_tab if sessions else self.sessions_tab)

    async def _reload_sources(self) -> None:
        try:
            await self.sources.refresh(self.sessions.records)
        except Exception as exc:
            ui.notify(sentence(exc), type="negative")

    async def _reload_sessions(self) -> None:
        try:
            await self.sessions.refresh()
        except Exception as exc:
            ui.notify(sentence(exc), type="negative")

    async def _credentials_saved(self) -> None:
        ui.notify("Telegram API credentials saved.", type="positive")
        await self.load()

    async def _sessions_changed(self) -> None:
        await self.sources.refresh(self.sessions.records)

    # ---------------------------------------------------------------- the source form

    async def add_source(self) -> None:
        await self._open_form()

    async def add_from(self, record: SessionRecord, channel: Channel) -> None:
        await self._open_form(session_id=record.id, channel=channel)

    async def edit_source(self, source: TelegramSource) -> None:
        await self._open_form(source=source)

    async def _open_form(self, **preset) -> None:
        if not self.sessions.records:
            ui.notify("Log in to Telegram first, on the Sessions page.", type="warning")
            self.tabs.set_value(self.sessions_tab)
            return
        with self.dialogs:
            form = SourceForm(self.service, self.sessions.records, self._source_saved, **preset)
        await form.open()

    async def _source_saved(self, _source: TelegramSource) -> None:
        await self.sources.refresh(self.sessions.records)
        self.tabs.set_value(self.sources_tab)


def build(runtime: Runtime, on_started: Callable[[], None]) -> None:
    TelegramTab(runtime, on_started)
