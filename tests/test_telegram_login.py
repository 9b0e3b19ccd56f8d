"""Telegram login flow, session imports and sessions, on real TinyDB files and FakeTelegram."""

from __future__ import annotations

from pathlib import Path

import pytest
from telethon.crypto import AuthKey
from telethon.sessions import SQLiteSession

from audiofetch_app.core.job_context import JobError
from audiofetch_app.core.store import Store
from audiofetch_app.core.vault import Vault
from audiofetch_app.sources.telegram import gateway as gw
from audiofetch_app.sources.telegram.credentials import ApiCredentials, CredentialsMissing
from audiofetch_app.sources.telegram.login import LoginExpired, LoginStep, TelegramLogin
from audiofetch_app.sources.telegram.sessions import TelegramSessions
from tests.fakes.telegram import FakeTelegram

PHONE = "+447700900123"
PHONE_2FA = "+15550100987"
API_HASH = "0123456789abcdef0123456789abcdef"


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


class App:
    def __init__(self, home: Path) -> None:
        self.db_path = home / "db.json"
        self.store = Store(self.db_path)
        self.vault = Vault(self.store, home / "key")
        self.world = FakeTelegram()
        self.world.add_account(PHONE, code="11111")
        self.world.add_account(PHONE_2FA, code="22222", password="hunter2-secret",
                               first_name="Grace", last_name="Hopper")
        self.world.add_channel(11, "Music", "music")
        self.world.add_channel(12, "A Forum", forum=True)
        self.world.add_basic_group(13, "friends")
        self.credentials = ApiCredentials(self.vault)
        self.sessions = TelegramSessions(self.store, self.vault, self.world.factory,
                                         self.credentials)
        self.clock = Clock()
        self.login = TelegramLogin(self.sessions, clock=self.clock)

    def raw(self) -> str:
        return self.db_path.read_text(encoding="utf-8")


@pytest.fixture
async def app(af_home: Path) -> App:
    a = App(af_home)
    await a.credentials.set("12345", API_HASH)
    return a


async def test_credentials_are_needed_and_checked(af_home: Path) -> None:
    a = App(af_home)
    with pytest.raises(CredentialsMissing, match=r"my\.telegram\.org"):
        await a.login.start_login(PHONE)
    with pytest.raises(JobError, match="api_id"):
        await a.credentials.set("abc", API_HASH)
    with pytest.raises(JobError, match="api_hash"):
        await a.credentials.set("12345", "short")
    await a.credentials.set(" 12345 ", API_HASH.upper())
    assert await a.credentials.get() == (12345, API_HASH)
    assert await a.credentials.is_set()


async def test_login_with_code(app: App) -> None:
    login_id = await app.login.start_login("+44 7700 900123")
    assert app.world.sent_codes == [PHONE]
    assert await app.login.submit_code(login_id, "11111") is LoginStep.DONE
    record = await app.login.finish(login_id, "  My phone ")
    assert record.name == "My phone"
    assert record.masked_phone == "+44 •••• ••23"
    assert record.display_name == "Ada Lovelace"
    assert [r.id for r in await app.sessions.list_all()] == [record.id]
    with pytest.raises(LoginExpired):
        await app.login.submit_code(login_id, "11111")  # finished logins are gone


async def test_login_with_2fa_wrong_then_right_password(app: App) -> None:
    login_id = await app.login.start_login(PHONE_2FA)
    assert await app.login.submit_code(login_id, "22222") is LoginStep.PASSWORD
    with pytest.raises(JobError, match="not complete"):
        await app.login.finish(login_id, "x")
    with pytest.raises(gw.WrongPassword, match="not correct"):
        await app.login.submit_password(login_id, "wrong-password")
    assert await app.login.submit_password(login_id, "hunter2-secret") is LoginStep.DONE
    record = await app.login.finish(login_id, "Work")
    assert record.display_name == "Grace Hopper" and record.masked_phone == "+15 •••• ••87"


async def test_wrong_code_then_right_code(app: App) -> None:
    login_id = await app.login.start_login(PHONE)
    with pytest.raises(gw.WrongCode) as info:
        await app.login.submit_code(login_id, "00000")
    assert isinstance(info.value, JobError)
    assert str(info.value) == "The code is not correct; check it and try again."
    assert await app.login.submit_code(login_id, "1 1 1 1 1") is LoginStep.DONE


async def test_expired_code_then_new_code(app: App) -> None:
    login_id = await app.login.start_login(PHONE)
    app.world.expire_codes()
    with pytest.raises(gw.CodeExpired, match="ask for a new one"):
        await app.login.submit_code(login_id, "11111")
    await app.login.resend_code(login_id)
    assert await app.login.submit_code(login_id, "11111") is LoginStep.DONE


async def test_flood_wait_during_login(app: App) -> None:
    app.world.fail("send_code", gw.FloodWait(42))
    with pytest.raises(gw.FloodWait) as info:
        await app.login.start_login(PHONE)
    assert str(info.value) == "Telegram asks to wait 42 seconds before trying again."
    assert not [n for n in app.vault.names() if n.startswith("telegram_login:")]
    login_id = await app.login.start_login(PHONE)
    app.world.fail("sign_in", gw.FloodWait(300))
    with pytest.raises(gw.FloodWait, match="5 minutes"):
        await app.login.submit_code(login_id, "11111")
    assert await app.login.submit_code(login_id, "11111") is LoginStep.DONE


async def test_invalid_phone(app: App) -> None:
    with pytest.raises(gw.InvalidPhone, match="country code"):
        await app.login.start_login("call me")
    with pytest.raises(gw.InvalidPhone):
        await app.login.start_login("+19998887777")  # no such account


async def test_login_expires_after_five_minutes(app: App) -> None:
    login_id = await app.login.start_login(PHONE)
    app.clock.now += 299
    with pytest.raises(gw.WrongCode):
        await app.login.submit_code(login_id, "99999")
    app.clock.now += 2
    with pytest.raises(LoginExpired, match="5 minutes"):
        await app.login.submit_code(login_id, "11111")
    assert not [n for n in app.vault.names() if n.startswith("telegram_login:")]


async def test_purge_expired(app: App) -> None:
    old = await app.login.start_login(PHONE)
    old_done = await app.login.start_login(PHONE_2FA)
    await app.login.submit_code(old_done, "22222")
    await app.login.submit_password(old_done, "hunter2-secret")
    app.clock.now += 200
    fresh = await app.login.start_login(PHONE)
    assert await app.login.purge_expired() == 0
    app.clock.now += 101
    assert await app.login.purge_expired() == 2
    assert len(app.world.logged_out) == 1  # the authorized but unnamed login was logged out
    names = [n for n in app.vault.names() if n.startswith("telegram_login:")]
    assert names == [f"telegram_login:{fresh}"]
    with pytest.raises(LoginExpired):
        await app.login.submit_code(old, "11111")


async def test_import_string_session(app: App) -> None:
    login_id = await app.login.start_login(PHONE)
    await app.login.submit_code(login_id, "11111")
    session = (await app.login._load(login_id)).session
    record = await app.login.import_session_string("Pasted", f"  {session}\n")
    assert record.masked_phone == "+44 •••• ••23"
    with pytest.raises(gw.BadSession):
        await app.login.import_session_string("Junk", "not-a-session")
    unauthorized = app.world.factory(None, 1, "x")
    await unauthorized.connect()
    with pytest.raises(gw.NotAuthorized):
        await app.login.import_session_string("Nope", await unauthorized.export_session())


async def test_import_session_file(app: App, tmp_path: Path) -> None:
    login_id = await app.login.start_login(PHONE)
    await app.login.submit_code(login_id, "11111")
    key = app.world.factory((await app.login._load(login_id)).session, 1, "x").key
    file_session = SQLiteSession(str(tmp_path / "phone"))
    file_session.set_dc(4, "149.154.167.91", 443)
    file_session.auth_key = AuthKey(key)
    file_session.save()
    file_session.close()
    record = await app.login.import_session_file("From file", tmp_path / "phone.session")
    assert record.display_name == "Ada Lovelace"
    channels = await app.sessions.channels(record.id)
    assert [c.title for c in channels] == ["A Forum", "friends", "Music"]
    (tmp_path / "junk.session").write_bytes(b"not sqlite at all" * 10)
    with pytest.raises(gw.BadSession, match="not a Telethon"):
        await app.login.import_session_file("Junk", tmp_path / "junk.session")
    empty = SQLiteSession(str(tmp_path / "empty"))
    empty.save()
    empty.close()
    with pytest.raises(gw.BadSession, match="no login"):
        await app.login.import_session_file("Empty", tmp_path / "empty.session")


async def logged_in(app: App, phone: str = PHONE, name: str = "Phone") -> str:
    login_id = await app.login.start_login(phone)
    step = await app.login.submit_code(login_id, "11111" if phone == PHONE else "22222")
    if step is LoginStep.PASSWORD:
        await app.login.submit_password(login_id, "hunter2-secret")
    return (await app.login.finish(login_id, name)).id


async def test_sessions_crud(app: App) -> None:
    first = await logged_in(app)
    second = await logged_in(app, PHONE_2FA, "Work")
    assert [r.name for r in await app.sessions.list_all()] == ["Phone", "Work"]
    renamed = await app.sessions.rename(first, "Personal")
    assert renamed.name == "Personal"
    with pytest.raises(JobError, match="name"):
        await app.sessions.rename(first, "   ")
    channels = await app.sessions.channels(second)
    forum = next(c for c in channels if c.is_forum)
    assert forum.title == "A Forum" and forum.is_group
    assert await app.sessions.delete(first) is True
    assert len(app.world.logged_out) == 1
    assert [r.id for r in await app.sessions.list_all()] == [second]
    assert f"telegram_session:{first}" not in app.vault.names()
    with pytest.raises(JobError, match="no Telegram session"):
        await app.sessions.channels(first)


async def test_delete_works_when_log_out_cannot(app: App) -> None:
    sid = await logged_in(app)
    app.world.unreachable = True
    assert await app.sessions.delete(sid) is False
    assert await app.sessions.list_all() == []
    assert app.vault.names() == ["telegram_api_hash", "telegram_api_id"]


async def test_revoked_session_says_log_in_again(app: App) -> None:
    sid = await logged_in(app)
    app.world.authorized.clear()
    with pytest.raises(gw.NotAuthorized, match="log in again"):
        await app.sessions.channels(sid)


async def test_nothing_secret_in_the_raw_database(app: App) -> None:
    sid = await logged_in(app, PHONE_2FA, "Work")
    pending = await app.login.start_login(PHONE)
    with pytest.raises(gw.WrongCode):
        await app.login.submit_code(pending, "12399")
    session_string = await app.sessions.session_string(sid)
    pending_session = (await app.login._load(pending)).session
    raw = app.raw()
    assert "+15 •••• ••87" in raw
    for secret in (session_string, session_string[1:40], pending_session[1:40], API_HASH,
                   "hunter2-secret", "22222", "12399", "15550100987", "5550100987",
                   "447700900123", "7700900123", "hash0"):
        assert secret not in raw, secret


async def test_qr_login(app: App) -> None:
    login_id, url = await app.login.start_qr()
    assert url.startswith("tg://login?token=")
    assert await app.login.wait_qr(login_id, timeout=0.01) is LoginStep.QR
    app.world.scan_qr(app.login.qr_url(login_id), PHONE)
    assert await app.login.wait_qr(login_id, timeout=0.01) is LoginStep.DONE
    record = await app.login.finish(login_id, "QR phone")
    assert record.masked_phone == "+44 •••• ••23"
    assert app.login.qr_url(login_id) is None  # the connection was let go


async def test_qr_login_renews_its_code_and_asks_2fa(app: App) -> None:
    login_id, url = await app.login.start_qr()
    _gateway, qr = app.login._qr[login_id]
    qr.expires = 0  # the token ran out
    assert await app.login.wait_qr(login_id, timeout=0.01) is LoginStep.QR
    fresh = app.login.qr_url(login_id)
    assert fresh != url
    app.world.scan_qr(fresh, PHONE_2FA)
    assert await app.login.wait_qr(login_id, timeout=0.01) is LoginStep.PASSWORD
    with pytest.raises(gw.WrongPassword):
        await app.login.submit_password(login_id, "wrong")
    assert await app.login.submit_password(login_id, "hunter2-secret") is LoginStep.DONE
    assert (await app.login.finish(login_id, "Grace")).display_name == "Grace Hopper"


async def test_qr_login_expires_and_is_let_go(app: App) -> None:
    login_id, _url = await app.login.start_qr()
    gateway, _qr = app.login._qr[login_id]
    app.clock.now += 301
    assert await app.login.purge_expired() == 1
    assert app.login.qr_url(login_id) is None and not gateway.connected
    with pytest.raises(LoginExpired):
        await app.login.wait_qr(login_id)
