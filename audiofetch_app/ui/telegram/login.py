"""Logging in to Telegram in the window: by code (and 2FA), by QR code, or by importing a session.

The steps themselves live in `TelegramLogin`; this panel only shows the step it is at, the
sentence of the last error, and lets the user try again.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import segno
from nicegui import ui

from audiofetch_app.sources.telegram.gateway import mask_phone
from audiofetch_app.sources.telegram.login import LoginExpired, LoginStep, TelegramLogin
from audiofetch_app.sources.telegram.sessions import SessionRecord
from audiofetch_app.ui.telegram.common import sentence

METHODS = {"code": "Phone number", "qr": "QR code", "import": "Import a session"}
QR_WAIT = 5.0  # seconds one wait for the scan may take before the picture is looked at again
QR_POLL = 0.2  # seconds between two waits
MAX_SESSION_FILE = 5 * 1024 * 1024  # a Telethon .session file is a few tens of KB


def qr_svg(url: str) -> str:
    """The QR code of `url` as inline SVG."""
    return segno.make(url).svg_inline(scale=4)


class LoginPanel:
    """Log in step by step; `on_done(record)` is called with each session kept."""

    def __init__(self, login: TelegramLogin,
                 on_done: Callable[[SessionRecord], Awaitable[None] | None]) -> None:
        self.login = login
        self.on_done = on_done
        self.login_id: str | None = None
        self.masked_phone = ""
        self.qr_timer: ui.timer | None = None
        self.qr_picture: ui.html | None = None
        self.qr_shown = ""
        self.import_name: ui.input | None = None  # on the import form only
        self._busy = False
        with ui.card().props("flat bordered").classes("w-full tg-login").mark("tg-login") \
                as self.card:
            ui.label("Log in to Telegram").classes("text-subtitle1")
            self.method = ui.toggle(METHODS, value="code", on_change=self._method_changed) \
                .props("no-caps dense").mark("tg-login-method")
            self.body = ui.column().classes("w-full gap-2")
            self.error = ui.label().classes("text-negative tg-login-error") \
                .mark("tg-login-error")
        ui.context.client.on_delete(self._client_gone)
        self._show_start()

    # ---------------------------------------------------------------- plumbing

    async def _run(self, action: Callable[[], Awaitable[Any]]) -> Any:
        """Run one step; its error becomes the sentence under the form. None on failure."""
        if self._busy:
            return None
        self._busy = True
        self.error.set_text("")
        try:
            return await action()
        except LoginExpired as exc:
            self.login_id = None
            self._show_start()
            self.error.set_text(str(exc))
        except Exception as exc:
            self.error.set_text(sentence(exc))
        finally:
            self._busy = False
        return None

    async def _method_changed(self) -> None:
        await self.abandon()
        self.error.set_text("")
        self._show_start()

    async def abandon(self) -> None:
        """Drop a half-finished login (and its QR connection)."""
        self._stop_qr(current=True)
        login_id, self.login_id = self.login_id, None
        if login_id is not None:
            with contextlib.suppress(Exception):
                await self.login.cancel(login_id)

    async def _client_gone(self) -> None:
        with contextlib.suppress(Exception):  # the app may be closing too
            await self.abandon()

    def _show_start(self) -> None:
        self._stop_qr(current=True)
        self.body.clear()
        self.import_name = None
        with self.body:
            if self.method.value == "qr":
                self._qr_start()
            elif self.method.value == "import":
                self._import_form()
            else:
                self._phone_form()

    def _restart_button(self) -> None:
        ui.button("Start again", on_click=self._method_changed).props("flat no-caps") \
            .mark("tg-login-restart")

    # ---------------------------------------------------------------- by code

    def _phone_form(self) -> None:
        ui.label("Your phone number, with its country code. Telegram sends a code to your "
                 "Telegram app (or by SMS).").classes("text-grey-8")
        with ui.row().classes("w-full items-start gap-2"):
            phone = ui.input("Phone number", placeholder="+44 20 7946 0000") \
                .props("outlined dense").classes("w-64").mark("tg-phone")
            phone.on("keydown.enter", lambda: self.send_code(phone.value or ""))
            ui.button("Send code", icon="sms",
                      on_click=lambda: self.send_code(phone.value or "")) \
                .classes("q-mt-xs").mark("tg-send-code")

    async def send_code(self, phone: str) -> None:
        async def start() -> None:
            self.login_id = await self.login.start_login(phone)
            self.masked_phone = mask_phone(phone)
            self._show_code()

        await self._run(start)

    def _show_code(self) -> None:
        self.body.clear()
        with self.body:
            ui.label(f"Telegram sent a code for {self.masked_phone} to your Telegram app "
                     "(or by SMS).").classes("text-grey-8")
            with ui.row().classes("w-full items-start gap-2"):
                code = ui.input("Code").props("outlined dense autocomplete=one-time-code") \
                    .classes("w-40").mark("tg-code")
                code.on("keydown.enter", lambda: self.submit_code(code.value or ""))
                ui.button("Log in", icon="login",
                          on_click=lambda: self.submit_code(code.value or "")) \
                    .classes("q-mt-xs").mark("tg-submit-code")
                ui.button("Send a new code", on_click=self.resend_code) \
                    .props("flat no-caps").classes("q-mt-xs").mark("tg-resend")
            self._restart_button()

    async def submit_code(self, code: str) -> None:
        async def submit() -> None:
            self._next(await self.login.submit_code(self._login_id(), code))

        await self._run(submit)

    async def resend_code(self) -> None:
        async def resend() -> None:
            await self.login.resend_code(self._login_id())
            ui.notify("A new code is on its way.", type="info")

        await self._run(resend)

    def _login_id(self) -> str:
        if self.login_id is None:
            raise LoginExpired("This login has expired or was finished; start again.")
        return self.login_id

    def _next(self, step: LoginStep) -> None:
        if step is LoginStep.PASSWORD:
            self._show_password()
        elif step is LoginStep.DONE:
            self._show_name()

    # ---------------------------------------------------------------- 2FA and name

    def _show_password(self) -> None:
        self.body.clear()
        with self.body:
            ui.label("This account has two-step verification; enter its password.") \
                .classes("text-grey-8")
            with ui.row().classes("w-full items-start gap-2"):
                password = ui.input("Password", password=True, password_toggle_button=True) \
                    .props("outlined dense").classes("w-64").mark("tg-password")
                password.on("keydown.enter", lambda: self.submit_password(password.value or ""))
                ui.button("Continue", icon="lock_open",
                          on_click=lambda: self.submit_password(password.value or "")) \
                    .classes("q-mt-xs").mark("tg-submit-password")
            self._restart_button()

    async def submit_password(self, password: str) -> None:
        async def submit() -> None:
            self._next(await self.login.submit_password(self._login_id(), password))

        await self._run(submit)

    def _show_name(self) -> None:
        self.body.clear()
        with self.body:
            ui.label("Logged in. Give this session a name, for example the phone it "
                     "belongs to; left empty, it is named after the account.") \
                .classes("text-grey-8")
            with ui.row().classes("w-full items-start gap-2"):
                name = ui.input("Session name", placeholder="the account's name") \
                    .props("outlined dense").classes("w-64").mark("tg-session-name")
                name.on("keydown.enter", lambda: self.finish(name.value or ""))
                ui.button("Save session", icon="save",
                          on_click=lambda: self.finish(name.value or "")) \
                    .classes("q-mt-xs").mark("tg-finish")

    async def finish(self, name: str) -> None:
        async def keep() -> SessionRecord:
            record = await self.login.finish(self._login_id(), name.strip() or None)
            self.login_id = None
            return record

        record = await self._run(keep)
        if record is not None:
            await self._done(record)

    async def _done(self, record: SessionRecord) -> None:
        self._show_start()
        ui.notify(f"Session saved: {record.name} ({record.display_name}).", type="positive")
        result = self.on_done(record)
        if result is not None:
            await result

    # ---------------------------------------------------------------- by QR code

    def _qr_start(self) -> None:
        ui.label("Show a QR code here and scan it with Telegram on a phone where you are "
                 "logged in: Settings → Devices → Link Desktop Device.").classes("text-grey-8")
        ui.button("Show QR code", icon="qr_code_2", on_click=self.start_qr).mark("tg-qr-start")

    async def start_qr(self) -> None:
        async def start() -> None:
            self.login_id, url = await self.login.start_qr()
            self._show_qr(url)

        await self._run(start)

    def _show_qr(self, url: str) -> None:
        self.body.clear()
        with self.body:
            ui.label("Scan this code with Telegram on your phone: Settings → Devices → "
                     "Link Desktop Device.").classes("text-grey-8")
            self.qr_picture = ui.html(qr_svg(url), sanitize=False) \
                .classes("tg-qr bg-white q-pa-sm").mark("tg-qr")
            self.qr_shown = url
            ui.label("Waiting for the scan… the code renews itself.") \
                .classes("text-caption text-grey-7")
            self._restart_button()
        with self.card:  # outside the body, so that clearing the body cannot cancel a poll
            self.qr_timer = ui.timer(QR_POLL, self._poll_qr)

    async def _poll_qr(self) -> None:
        login_id = self.login_id
        if login_id is None:
            return
        try:
            step = await self.login.wait_qr(login_id, timeout=QR_WAIT)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if self.login_id != login_id:
                return  # abandoned meanwhile
            self._stop_qr(current=False)
            self.login_id = None
            self._show_start()
            self.error.set_text(sentence(exc))
            return
        if self.login_id != login_id:
            return
        if step is LoginStep.QR:
            url = self.login.qr_url(login_id)
            if url and url != self.qr_shown and self.qr_picture is not None:
                self.qr_picture.set_content(qr_svg(url))  # Telegram renewed the token
                self.qr_shown = url
            return
        self._stop_qr(current=False)
        self._next(step)

    def _stop_qr(self, *, current: bool) -> None:
        """Stop polling; `current` also cancels a wait in progress (not from inside it)."""
        if self.qr_timer is not None:
            self.qr_timer.cancel(with_current_invocation=current)
            self.qr_timer = None
        self.qr_picture = None
        self.qr_shown = ""

    # ---------------------------------------------------------------- imports

    def _import_form(self) -> None:
        ui.label("Bring a login from another Telethon app: paste its string session, or "
                 "upload its .session file.").classes("text-grey-8")
        self.import_name = ui.input("Session name", placeholder="the account's name") \
            .props("outlined dense").classes("w-64").mark("tg-import-name")
        with ui.row().classes("w-full items-start gap-2"):
            string = ui.textarea("String session").props("outlined dense autogrow") \
                .classes("grow").mark("tg-session-string")
            ui.button("Import", icon="input",
                      on_click=lambda: self.import_string(string.value or "")) \
                .classes("q-mt-xs").mark("tg-import-string")
        ui.upload(label="Telethon .session file", auto_upload=True,
                  max_file_size=MAX_SESSION_FILE, on_upload=self._uploaded) \
            .props('accept=".session" flat bordered').classes("w-full") \
            .mark("tg-session-upload")

    def _chosen_name(self) -> str | None:
        """The name typed on the import form; None names the session after the account."""
        typed = self.import_name.value if self.import_name is not None else ""
        return (typed or "").strip() or None

    async def import_string(self, string: str) -> None:
        name = self._chosen_name()
        record = await self._run(lambda: self.login.import_session_string(name, string))
        if record is not None:
            await self._done(record)

    async def _uploaded(self, event: Any) -> None:
        await self.import_file(event.file)

    async def import_file(self, upload: Any) -> None:
        """Keep the login of an uploaded .session file (a NiceGUI FileUpload), via a temp file."""
        name = self._chosen_name()

        async def keep() -> SessionRecord:
            # A private temp file (mode 0600): the session file holds the account's key.
            fd, raw = tempfile.mkstemp(prefix="audiofetch-", suffix=".session")
            os.close(fd)
            path = Path(raw)
            try:
                await upload.save(path)
                return await self.login.import_session_file(name, path)
            finally:
                await asyncio.to_thread(path.unlink, True)

        record = await self._run(keep)
        if record is not None:
            await self._done(record)
