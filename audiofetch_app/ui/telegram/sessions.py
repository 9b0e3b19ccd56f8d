"""The Sessions sub-page: log in, and each session with its channels, rename and delete."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import ui

from audiofetch_app.sources.telegram.gateway import Channel
from audiofetch_app.sources.telegram.service import TelegramService
from audiofetch_app.sources.telegram.sessions import SessionRecord
from audiofetch_app.ui.telegram.common import ask_text, channel_kind, confirm, sentence
from audiofetch_app.ui.telegram.login import LoginPanel

AddSource = Callable[[SessionRecord, Channel], Awaitable[None] | None]


async def _call(callback: Callable[..., Any] | None, *args: Any) -> None:
    if callback is not None:
        result = callback(*args)
        if result is not None:
            await result


class SessionCard:
    """One session: who it is, its channels on demand, rename and delete."""

    def __init__(self, page: SessionsPage, record: SessionRecord) -> None:
        self.page = page
        self.record = record
        with ui.card().props("flat bordered").classes("w-full q-pa-sm tg-session") \
                .mark(f"tg-session-{record.id}"):
            with ui.row().classes("w-full items-center no-wrap gap-2"):
                ui.icon("account_circle").classes("text-2xl")
                with ui.column().classes("gap-0 grow min-w-0"):
                    self.title = ui.label(record.name).classes("text-body1") \
                        .mark("tg-session-title")
                    ui.label(f"{record.display_name} · {record.masked_phone}") \
                        .classes("text-caption text-grey-7").mark("tg-session-account")
                ui.button("Channels", icon="forum", on_click=self.toggle_channels) \
                    .props("flat dense no-caps").mark("tg-channels")
                ui.button(icon="edit", on_click=self.rename) \
                    .props('flat dense round aria-label="Rename"').tooltip("Rename") \
                    .mark("tg-rename")
                ui.button(icon="delete", on_click=self.delete) \
                    .props('flat dense round aria-label="Delete"').tooltip("Delete") \
                    .mark("tg-delete-session")
            self.channels = ui.column().classes("w-full gap-1 q-pl-lg") \
                .mark("tg-channel-list")
            self.channels.set_visibility(False)

    async def toggle_channels(self) -> None:
        if self.channels.visible:
            self.channels.set_visibility(False)
            return
        self.channels.clear()
        with self.channels:
            spinner = ui.spinner()
        self.channels.set_visibility(True)
        try:
            found = await self.page.service.sessions.channels(self.record.id)
        except Exception as exc:
            self.channels.clear()
            with self.channels:
                ui.label(sentence(exc)).classes("text-negative").mark("tg-channels-error")
            return
        finally:
            spinner.delete()
        self.channels.clear()
        with self.channels:
            if not found:
                ui.label("This account reads no channels or groups yet.") \
                    .classes("text-grey-7")
            for channel in found:
                self._channel_row(channel)

    def _channel_row(self, channel: Channel) -> None:
        with ui.row().classes("w-full items-center no-wrap gap-2 tg-channel") \
                .mark(f"tg-channel-{channel.id}"):
            ui.label(channel.title).classes("text-body2")
            extra = channel_kind(channel) + (f" · @{channel.username}" if channel.username
                                             else "")
            ui.label(extra).classes("text-caption text-grey-7")
            ui.space()
            ui.button("Add as source", icon="add",
                      on_click=lambda: _call(self.page.on_add_source, self.record, channel)) \
                .props("flat dense no-caps").mark("tg-add-as-source")

    async def rename(self) -> None:
        name = await ask_text("Rename the session", self.record.name, label="Name",
                              marker="tg-rename-dialog")
        if name is None:
            return
        try:
            self.record = await self.page.service.sessions.rename(self.record.id, name)
        except Exception as exc:
            ui.notify(sentence(exc), type="negative")
            return
        self.title.set_text(self.record.name)
        await _call(self.page.on_changed)

    async def delete(self) -> None:
        if not await confirm(f"Delete the session “{self.record.name}”? AudioFetch logs it "
                             "out of Telegram and forgets it.", "Delete",
                             marker="tg-confirm-delete-session"):
            return
        try:
            await self.page.service.delete_session(self.record.id)
        except Exception as exc:
            ui.notify(sentence(exc), type="negative", multi_line=True)
            return
        ui.notify(f"Session deleted: {self.record.name}.")
        await self.page.refresh()
        await _call(self.page.on_changed)


class SessionsPage:
    """The login panel above the list of sessions."""

    def __init__(self, service: TelegramService, *, on_add_source: AddSource,
                 on_changed: Callable[[], Awaitable[None] | None] | None = None) -> None:
        self.service = service
        self.on_add_source = on_add_source
        self.on_changed = on_changed
        self.records: list[SessionRecord] = []
        self.login = LoginPanel(service.login, self._logged_in)
        ui.label("Sessions").classes("text-subtitle1 q-mt-md")
        self.list = ui.column().classes("w-full gap-2").mark("tg-sessions")
        self.empty = ui.label("No sessions yet: log in above.").classes("text-grey-7")

    async def refresh(self) -> list[SessionRecord]:
        """Load the sessions again and redraw the list; returns them."""
        self.records = await self.service.sessions.list_all()
        self.list.clear()
        with self.list:
            for record in self.records:
                SessionCard(self, record)
        self.empty.set_visibility(not self.records)
        return self.records

    async def _logged_in(self, _record: SessionRecord) -> None:
        await self.refresh()
        await _call(self.on_changed)
