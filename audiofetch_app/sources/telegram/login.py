"""Logging in to Telegram step by step: phone, code, 2FA password, name; or an imported session.

A half-finished login (phone, phone_code_hash, the not-yet-authorized session) lives only in
the vault, encrypted, and expires `LOGIN_TTL` seconds after it started. Each step builds a
fresh gateway from it, so a login survives the window being reloaded.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from audiofetch_app.core.job_context import JobError
from audiofetch_app.core.logs import register_secret
from audiofetch_app.sources.telegram.gateway import (
    BadSession,
    InvalidPhone,
    PasswordNeeded,
    QrLogin,
    TelegramError,
    TelegramGateway,
)
from audiofetch_app.sources.telegram.sessions import SessionRecord, TelegramSessions

LOGIN_TTL = 5 * 60
LOGIN_PREFIX = "telegram_login:"


class LoginStep(StrEnum):
    QR = "qr"  # waiting for the QR code to be scanned in a logged-in Telegram app
    CODE = "code"  # waiting for the code Telegram sent
    PASSWORD = "password"  # waiting for the two-step verification password
    DONE = "done"  # logged in; waiting for a name for the session


class LoginExpired(JobError):
    """The half-finished login is gone (expired, finished or never started)."""


@dataclass
class _Pending:
    phone: str
    phone_code_hash: str
    session: str
    step: LoginStep
    expires_at: float

    def dump(self) -> str:
        return json.dumps({"phone": self.phone, "phone_code_hash": self.phone_code_hash,
                           "session": self.session, "step": self.step.value,
                           "expires_at": self.expires_at})

    @classmethod
    def load(cls, raw: str) -> _Pending:
        d = json.loads(raw)
        return cls(d["phone"], d["phone_code_hash"], d["session"], LoginStep(d["step"]),
                   float(d["expires_at"]))


def normalize_phone(phone: str) -> str:
    """"+44 7700 900123" -> "+447700900123"; raises InvalidPhone for anything else."""
    raw = (phone or "").strip()
    digits = "".join(ch for ch in raw if ch.isdigit())
    if not 7 <= len(digits) <= 15 or any(ch not in "+0123456789 -()." for ch in raw):
        raise InvalidPhone("Write the phone number with its country code, like +44 7700 900123.")
    register_secret("+" + digits)
    register_secret(digits)
    return "+" + digits


def session_from_file(path: Path) -> str:
    """A Telethon SQLite `.session` file's login as a StringSession string (file read only)."""
    from telethon.crypto import AuthKey  # Telethon is slow to import: only when needed
    from telethon.sessions import StringSession

    try:
        uri = Path(path).resolve().as_uri() + "?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as conn:
            row = conn.execute("select * from sessions").fetchone()
    except (sqlite3.Error, OSError, ValueError) as exc:
        raise BadSession("This file is not a Telethon .session file.") from exc
    if row is None or len(row) < 4 or not row[3] or len(row[3]) != 256:
        raise BadSession("This .session file holds no login.")
    dc_id, address, port, key = row[:4]
    session = StringSession()
    session.set_dc(int(dc_id), str(address), int(port))
    session.auth_key = AuthKey(bytes(key))
    value = session.save()
    register_secret(value)
    return value


class TelegramLogin:
    """The login flow as a service; the UI, CLI and REST all drive this."""

    def __init__(self, sessions: TelegramSessions, *, clock: Callable[[], float] = time.time,
                 ttl: float = LOGIN_TTL) -> None:
        self.sessions = sessions
        self.vault = sessions.vault
        self.clock = clock
        self.ttl = ttl
        # A QR login needs its connection kept open until the code is scanned.
        self._qr: dict[str, tuple[TelegramGateway, QrLogin]] = {}

    # ---------------------------------------------------------------- pending logins

    async def _save(self, login_id: str, pending: _Pending) -> None:
        register_secret(pending.session)
        await asyncio.to_thread(self.vault.set, LOGIN_PREFIX + login_id, pending.dump())

    async def _forget(self, login_id: str) -> None:
        await asyncio.to_thread(self.vault.delete, LOGIN_PREFIX + login_id)

    async def _load(self, login_id: str) -> _Pending:
        raw = await asyncio.to_thread(self.vault.get, LOGIN_PREFIX + str(login_id))
        if raw is None:
            raise LoginExpired("This login has expired or was finished; start again.")
        pending = _Pending.load(raw)
        if self.clock() >= pending.expires_at:
            await self._forget(login_id)
            raise LoginExpired("This login took longer than 5 minutes and has expired; "
                               "start again.")
        return pending

    async def _step(self, login_id: str, pending: _Pending,
                    action: Callable[[TelegramGateway], Any]) -> None:
        """Run `action` on a gateway over the pending session; keep whatever state it left."""
        async with self.sessions._connected(pending.session or None) as gateway:
            try:
                await action(gateway)
            finally:
                # The session can change in any step (another data centre, a new key), and
                # must be kept even when the step failed so that the user can retry.
                pending.session = await gateway.export_session()
                await self._save(login_id, pending)

    # ---------------------------------------------------------------- the steps

    async def start_login(self, phone: str) -> str:
        """Ask Telegram to send a code to `phone`; returns the login id for the next steps."""
        phone = normalize_phone(phone)
        login_id = uuid.uuid4().hex
        pending = _Pending(phone, "", "", LoginStep.CODE, self.clock() + self.ttl)

        async def send(gateway: TelegramGateway) -> None:
            pending.phone_code_hash = await gateway.send_code(phone)

        try:
            await self._step(login_id, pending, send)
        except BaseException:
            await self._forget(login_id)  # nothing to retry: no code was sent
            raise
        return login_id

    async def resend_code(self, login_id: str) -> None:
        """Ask for a new code (after "the code has expired")."""
        pending = await self._load(login_id)
        if pending.step is not LoginStep.CODE:
            raise JobError("The code was already accepted.")

        async def send(gateway: TelegramGateway) -> None:
            pending.phone_code_hash = await gateway.send_code(pending.phone)

        await self._step(login_id, pending, send)

    async def submit_code(self, login_id: str, code: str) -> LoginStep:
        """DONE, or PASSWORD when the account has two-step verification."""
        pending = await self._load(login_id)
        if pending.step is not LoginStep.CODE:
            return pending.step
        code = "".join((code or "").split())
        register_secret(code)

        async def sign_in(gateway: TelegramGateway) -> None:
            try:
                await gateway.sign_in(pending.phone, code, pending.phone_code_hash)
            except PasswordNeeded:
                pending.step = LoginStep.PASSWORD
            else:
                pending.step = LoginStep.DONE

        await self._step(login_id, pending, sign_in)
        return pending.step

    async def submit_password(self, login_id: str, password: str) -> LoginStep:
        """DONE once the two-step verification password is right."""
        pending = await self._load(login_id)
        if pending.step is not LoginStep.PASSWORD:
            raise JobError("No password is needed at this step.")
        register_secret(password)

        async def check(gateway: TelegramGateway) -> None:
            await gateway.check_password(password)
            pending.step = LoginStep.DONE

        await self._step(login_id, pending, check)
        return pending.step

    async def finish(self, login_id: str, session_name: str | None = None) -> SessionRecord:
        """Keep the logged-in session under `session_name` (default: the account's name)."""
        pending = await self._load(login_id)
        if pending.step is not LoginStep.DONE:
            raise JobError("The login is not complete yet; enter the code "
                           "(and password) first.")
        record = await self.sessions.add(session_name, pending.session)
        await self._forget(login_id)
        await self._close_qr(login_id)
        return record

    # ---------------------------------------------------------------- QR login

    async def start_qr(self) -> tuple[str, str]:
        """Begin a QR login; returns (login id, tg://login URL to show as a QR code)."""
        login_id = uuid.uuid4().hex
        api_id, api_hash = await self.sessions.credentials.get()
        gateway = self.sessions.factory(None, api_id, api_hash)
        await gateway.connect()
        try:
            qr = await gateway.qr_login()
            pending = _Pending("", "", await gateway.export_session(), LoginStep.QR,
                               self.clock() + self.ttl)
            await self._save(login_id, pending)
        except BaseException:
            with contextlib.suppress(Exception):
                await gateway.disconnect()
            raise
        self._qr[login_id] = (gateway, qr)
        return login_id, qr.url

    def qr_url(self, login_id: str) -> str | None:
        """The URL to show now for a QR login still waiting (it changes when renewed)."""
        live = self._qr.get(login_id)
        return live[1].url if live else None

    async def wait_qr(self, login_id: str, timeout: float = 10.0) -> LoginStep:
        """Wait up to `timeout` s for the scan: QR (not yet; the code is renewed when it
        expires), PASSWORD (two-step verification comes next) or DONE."""
        pending = await self._load(login_id)
        if pending.step is not LoginStep.QR:
            return pending.step
        live = self._qr.get(login_id)
        if live is None:
            raise LoginExpired("This QR login was interrupted; start again.")
        gateway, qr = live
        try:
            await qr.wait(timeout)
        except TimeoutError:
            if qr.expires_at - time.time() < 5:  # Telegram's QR tokens last about 30 s
                await qr.recreate()
            return LoginStep.QR
        except PasswordNeeded:
            pending.step = LoginStep.PASSWORD
        else:
            pending.step = LoginStep.DONE
        pending.session = await gateway.export_session()
        await self._save(login_id, pending)
        await self._close_qr(login_id)
        return pending.step

    async def _close_qr(self, login_id: str) -> None:
        live = self._qr.pop(login_id, None)
        if live is not None:
            with contextlib.suppress(Exception):
                await live[0].disconnect()

    async def cancel(self, login_id: str) -> None:
        await self._close_qr(login_id)
        with contextlib.suppress(LoginExpired):
            pending = await self._load(login_id)
            await self._discard(pending)
        await self._forget(login_id)

    async def purge_expired(self) -> int:
        """Remove every half-finished login older than the time limit; returns how many."""
        names = await asyncio.to_thread(self.vault.names)
        removed = 0
        for name in names:
            if not name.startswith(LOGIN_PREFIX):
                continue
            raw = await asyncio.to_thread(self.vault.get, name)
            try:
                pending = _Pending.load(raw) if raw else None
            except (ValueError, KeyError, TypeError):
                pending = None
            if pending is None or self.clock() >= pending.expires_at:
                await self._close_qr(name[len(LOGIN_PREFIX):])
                if pending is not None:
                    await self._discard(pending)
                await asyncio.to_thread(self.vault.delete, name)
                removed += 1
        return removed

    async def _discard(self, pending: _Pending) -> None:
        """A login that got as far as being authorized is logged out rather than left behind."""
        if pending.step is not LoginStep.DONE:
            return
        with contextlib.suppress(TelegramError, JobError, OSError):
            async with self.sessions._connected(pending.session) as gateway:
                await gateway.log_out()

    # ---------------------------------------------------------------- imports

    async def import_session_string(self, name: str | None, string: str) -> SessionRecord:
        """Keep a pasted Telethon string session (checked to be logged in)."""
        from telethon.sessions import StringSession

        string = "".join((string or "").split())
        register_secret(string)
        try:
            parsed = StringSession(string)
        except Exception as exc:  # Telethon raises ValueError, struct.error or binascii.Error
            raise BadSession("This is not a Telethon string session.") from exc
        if parsed.auth_key is None:
            raise BadSession("This string session holds no login.")
        return await self.sessions.add(name, string)

    async def import_session_file(self, name: str | None, path: str | Path) -> SessionRecord:
        """Keep the login from a Telethon `.session` file (the file itself is not kept)."""
        string = await asyncio.to_thread(session_from_file, Path(path))
        return await self.sessions.add(name, string)
