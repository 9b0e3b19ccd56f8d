"""Small helpers the Telegram tab's modules share: error sentences and times in words."""

from __future__ import annotations

import logging
import time
from datetime import datetime

from nicegui import ui

from audiofetch_app.core.job_context import JobError, user_message
from audiofetch_app.sources.telegram.gateway import Channel

log = logging.getLogger(__name__)


def sentence(exc: BaseException) -> str:
    """The one sentence a person sees; anything we did not expect also goes to the log."""
    if not isinstance(exc, JobError | OSError):
        log.exception("Telegram tab: unexpected error", exc_info=exc)
    return user_message(exc)


def channel_kind(channel: Channel) -> str:
    """"channel", "group" or "forum", as a list shows it."""
    if channel.is_forum:
        return "forum"
    return "group" if channel.is_group else "channel"


def when(timestamp: float | None) -> str:
    """"14:05" today, "2024-05-01 14:05" on any other day; "" for None."""
    if not timestamp:
        return ""
    moment = datetime.fromtimestamp(timestamp)
    if moment.date() == datetime.fromtimestamp(time.time()).date():
        return moment.strftime("%H:%M")
    return moment.strftime("%Y-%m-%d %H:%M")


async def confirm(question: str, ok: str, *, marker: str) -> bool:
    """Ask a yes/no question in a dialog; True when the user chose `ok`."""
    with ui.dialog() as dialog, ui.card().mark(marker):
        ui.label(question)
        with ui.row().classes("w-full justify-end"):
            ui.button("Cancel", on_click=lambda: dialog.submit(False)).props("flat") \
                .mark("tg-dialog-cancel")
            ui.button(ok, on_click=lambda: dialog.submit(True)).props("color=negative") \
                .mark("tg-dialog-ok")
    try:
        return bool(await dialog)
    finally:
        if not dialog.is_deleted:
            dialog.delete()


async def ask_text(title: str, value: str, *, label: str, marker: str) -> str | None:
    """Ask for one line of text in a dialog; None when cancelled."""
    with ui.dialog() as dialog, ui.card().classes("w-96").mark(marker):
        ui.label(title).classes("text-subtitle1")
        field = ui.input(label, value=value).props("outlined dense autofocus") \
            .classes("w-full").mark("tg-dialog-input")
        field.on("keydown.enter", lambda: dialog.submit(field.value or ""))
        with ui.row().classes("w-full justify-end"):
            ui.button("Cancel", on_click=lambda: dialog.submit(None)).props("flat") \
                .mark("tg-dialog-cancel")
            ui.button("Save", on_click=lambda: dialog.submit(field.value or "")) \
                .mark("tg-dialog-ok")
    try:
        return await dialog
    finally:
        if not dialog.is_deleted:
            dialog.delete()
