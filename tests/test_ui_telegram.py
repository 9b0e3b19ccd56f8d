"""The Telegram tab, the Jobs view's paused jobs and the Settings' Telegram part, through
NiceGUI's simulated user, on the fake Telegram world (`tg_world`)."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from nicegui.elements.upload_files import SmallFileUpload
from nicegui.testing.user import User
from nicegui.testing.user_simulation import user_simulation
from telethon.crypto import AuthKey
from telethon.sessions import SQLiteSession

from audiofetch_app.core import registry
from audiofetch_app.core.job_context import JobContext
from audiofetch_app.core.job_record import JobState
from audiofetch_app.sources.runtime import Runtime, open_runtime
from audiofetch_app.sources.telegram import gateway as gw
from audiofetch_app.ui import shell, state
from audiofetch_app.ui.telegram.login import qr_svg
from audiofetch_app.web.lan.access import LanAccess
from tests.desktop import until
from tests.telegram_app import (
    API_HASH,
    API_ID,
    CODE,
    CODE_2FA,
    FORUM_PEER,
    MUSIC_PEER,
    PASSWORD_2FA,
    PHONE,
    PHONE_2FA,
    PRIVATE_INVITE,
)

SLOW = 50  # should_see retries (0.1 s each) for anything that waits on the fake Telegram

status_release = asyncio.Event()


async def _status_job(ctx: JobContext) -> None:
    ctx.set_status("Telegram asks to wait: 12 s")
    await status_release.wait()


registry.register(registry.Source("t_tg_status", "test", _status_job))


# ---------------------------------------------------------------- fixtures


@pytest.fixture
async def runtime(tg_world) -> AsyncIterator[Runtime]:
    rt = await open_runtime(console_log=False)
    state.set_runtime(rt)
    state.set_lan(LanAccess(rt.store, rt.settings))
    yield rt
    status_release.set()
    state.set_runtime(None)
    state.set_lan(None)
    await rt.close()


@pytest.fixture
async def keys(runtime: Runtime) -> None:
    await runtime.telegram.credentials.set(API_ID, API_HASH)


@pytest.fixture
async def session_id(runtime: Runtime, keys) -> str:
    login = runtime.telegram.login
    login_id = await login.start_login(PHONE)
    await login.submit_code(login_id, CODE)
    return (await login.finish(login_id, "Main")).id


@asynccontextmanager
async def _page() -> AsyncIterator[User]:
    async with user_simulation(root=shell.build) as simulated:
        await simulated.open("/")
        yield simulated


@pytest.fixture
async def user(runtime: Runtime) -> AsyncIterator[User]:
    """The app without Telegram API credentials."""
    async with _page() as simulated:
        yield simulated


@pytest.fixture
async def keyed_user(runtime: Runtime, keys) -> AsyncIterator[User]:
    """The app with credentials and no session yet."""
    async with _page() as simulated:
        await simulated.should_see(marker="tg-login", retries=SLOW)
        yield simulated


@pytest.fixture
async def session_user(runtime: Runtime, session_id: str) -> AsyncIterator[User]:
    """The app with credentials and one session, "Main"."""
    async with _page() as simulated:
        await simulated.should_see(marker=f"tg-session-{session_id}", retries=SLOW)
        yield simulated


def _set(user: User, marker: str, value) -> None:
    """Choose a value in a select or toggle (what a click on one of its options does)."""
    element = user.find(marker=marker).elements.pop()
    with user:
        element.set_value(value)


async def _logged_in_string(world) -> tuple[str, bytes]:
    """A string session (and its auth key) of PHONE, logged in on the fake Telegram."""
    gateway = world.factory(None, int(API_ID), API_HASH)
    await gateway.connect()
    code_hash = await gateway.send_code(PHONE)
    await gateway.sign_in(PHONE, CODE, code_hash)
    return await gateway.export_session(), gateway.key


async def _add_source(runtime: Runtime, session_id: str, out: Path, **options):
    return await runtime.telegram.add_source(
        session_id, "@music", target={"type": "folder", "path": str(out)}, **options)


# ---------------------------------------------------------------- credentials and login


async def test_credentials_come_first_with_the_how_to(user: User, runtime: Runtime) -> None:
    await user.should_see(marker="tg-credentials", retries=SLOW)
    with user.scope(marker="tg-credentials"):
        await user.should_see("my.telegram.org")
    await user.should_not_see(marker="tg-login")
    user.find(marker="tg-api-id").type("abc")
    user.find(marker="tg-api-hash").type(API_HASH)
    user.find(marker="tg-api-save").click()
    await user.should_see("The api_id is a number; copy it from my.telegram.org.", retries=SLOW)
    assert not await runtime.telegram.credentials.is_set()
    user.find(marker="tg-api-id").clear().type(API_ID)
    user.find(marker="tg-api-save").click()
    await user.should_see(marker="tg-login", retries=SLOW)
    await user.should_not_see(marker="tg-credentials")
    assert await runtime.telegram.credentials.get() == (int(API_ID), API_HASH)


async def test_login_by_code_wrong_code_then_right(keyed_user: User, runtime: Runtime,
                                                   tg_world) -> None:
    user = keyed_user
    user.find(marker="tg-phone").type("+44 7700 900123")
    user.find(marker="tg-send-code").click()
    await user.should_see(marker="tg-code", retries=SLOW)
    assert tg_world.sent_codes == [PHONE]
    user.find(marker="tg-code").type("00000")
    user.find(marker="tg-submit-code").click()
    await user.should_see("The code is not correct; check it and try again.", retries=SLOW)
    user.find(marker="tg-code").clear().type(CODE)
    user.find(marker="tg-submit-code").click()
    await user.should_see(marker="tg-session-name", retries=SLOW)
    user.find(marker="tg-session-name").type("My phone")
    user.find(marker="tg-finish").click()
    await user.should_see("+44 •••• ••23", retries=SLOW)
    [record] = await runtime.telegram.sessions.list_all()
    with user.scope(marker=f"tg-session-{record.id}"):
        await user.should_see("My phone")
        await user.should_see("Ada Lovelace · +44 •••• ••23")
    await user.should_see(marker="tg-phone")  # ready for another login
    await user.should_not_see(content="900123")  # the whole phone is nowhere on the page


async def test_expired_code_and_flood_wait_let_the_user_try_again(keyed_user: User,
                                                                  tg_world) -> None:
    user = keyed_user
    tg_world.fail("send_code", gw.FloodWait(42))
    user.find(marker="tg-phone").type(PHONE)
    user.find(marker="tg-send-code").click()
    await user.should_see("Telegram asks to wait 42 seconds before trying again.",
                          retries=SLOW)
    user.find(marker="tg-send-code").click()
    await user.should_see(marker="tg-code", retries=SLOW)
    tg_world.expire_codes()
    user.find(marker="tg-code").type(CODE)
    user.find(marker="tg-submit-code").click()
    await user.should_see("The code has expired; ask for a new one.", retries=SLOW)
    user.find(marker="tg-resend").click()
    await user.should_see("A new code is on its way.", retries=SLOW)
    assert tg_world.sent_codes == [PHONE, PHONE]
    user.find(marker="tg-submit-code").click()
    await user.should_see(marker="tg-session-name", retries=SLOW)


async def test_two_step_password_wrong_then_right(keyed_user: User, runtime: Runtime) -> None:
    user = keyed_user
    user.find(marker="tg-phone").type(PHONE_2FA)
    user.find(marker="tg-send-code").click()
    await user.should_see(marker="tg-code", retries=SLOW)
    user.find(marker="tg-code").type(CODE_2FA)
    user.find(marker="tg-submit-code").click()
    await user.should_see(marker="tg-password", retries=SLOW)
    user.find(marker="tg-password").type("not-it")
    user.find(marker="tg-submit-password").click()
    await user.should_see("The two-step verification password is not correct; try again.",
                          retries=SLOW)
    user.find(marker="tg-password").clear().type(PASSWORD_2FA)
    user.find(marker="tg-submit-password").click()
    await user.should_see(marker="tg-session-name", retries=SLOW)
    user.find(marker="tg-session-name").type("Work")
    user.find(marker="tg-finish").click()
    await user.should_see("Grace Hopper · +15 •••• ••87", retries=SLOW)
    assert [r.name for r in await runtime.telegram.sessions.list_all()] == ["Work"]


async def test_qr_login_shows_the_code_renews_it_and_logs_in(keyed_user: User,
                                                             runtime: Runtime, tg_world) -> None:
    user = keyed_user
    _set(user, "tg-login-method", "qr")
    await user.should_see(marker="tg-qr-start", retries=SLOW)
    user.find(marker="tg-qr-start").click()
    await user.should_see(marker="tg-qr", retries=SLOW)
    picture = user.find(marker="tg-qr").elements.pop()
    [(_gateway, qr)] = runtime.telegram.login._qr.values()
    first = qr.url
    assert picture.content == qr_svg(first) and picture.content.startswith("<svg")
    qr.expires = 0  # Telegram's token runs out: the login renews it, the picture follows
    await until(lambda: qr.url != first and picture.content == qr_svg(qr.url))
    tg_world.scan_qr(qr.url, PHONE)
    await user.should_see(marker="tg-session-name", retries=SLOW)
    await user.should_not_see(marker="tg-qr")
    user.find(marker="tg-finish").click()  # no name: the account's name
    await user.should_see("Ada Lovelace · +44 •••• ••23", retries=SLOW)
    assert [r.name for r in await runtime.telegram.sessions.list_all()] == ["Ada Lovelace"]
    assert not runtime.telegram.login._qr  # the QR connection is closed


async def test_qr_login_then_two_step_password(keyed_user: User, runtime: Runtime,
                                               tg_world) -> None:
    user = keyed_user
    _set(user, "tg-login-method", "qr")
    await user.should_see(marker="tg-qr-start", retries=SLOW)
    user.find(marker="tg-qr-start").click()
    await user.should_see(marker="tg-qr", retries=SLOW)
    [(_gateway, qr)] = runtime.telegram.login._qr.values()
    tg_world.scan_qr(qr.url, PHONE_2FA)
    await user.should_see(marker="tg-password", retries=SLOW)
    user.find(marker="tg-password").type(PASSWORD_2FA)
    user.find(marker="tg-submit-password").click()
    await user.should_see(marker="tg-session-name", retries=SLOW)
    user.find(marker="tg-session-name").type("Work")
    user.find(marker="tg-finish").click()
    await user.should_see("Grace Hopper · +15 •••• ••87", retries=SLOW)


async def test_paste_a_string_session(keyed_user: User, runtime: Runtime, tg_world) -> None:
    user = keyed_user
    string, _key = await _logged_in_string(tg_world)
    _set(user, "tg-login-method", "import")
    await user.should_see(marker="tg-session-string")
    user.find(marker="tg-import-name").type("Pasted")
    user.find(marker="tg-session-string").type("not-a-session")
    user.find(marker="tg-import-string").click()
    await user.should_see("This is not a Telethon string session.", retries=SLOW)
    user.find(marker="tg-session-string").clear().type(f"  {string}\n")
    user.find(marker="tg-import-string").click()
    await user.should_see("Ada Lovelace · +44 •••• ••23", retries=SLOW)
    assert [r.name for r in await runtime.telegram.sessions.list_all()] == ["Pasted"]
    await user.should_not_see(content=string[:40])  # the secret left the form


async def test_upload_a_session_file_and_the_temp_copy_is_removed(
        keyed_user: User, runtime: Runtime, tg_world, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    user = keyed_user
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    _string, key = await _logged_in_string(tg_world)
    made = SQLiteSession(str(tmp_path / "phone"))
    made.set_dc(4, "149.154.167.91", 443)
    made.auth_key = AuthKey(key)
    made.save()
    made.close()
    _set(user, "tg-login-method", "import")
    await user.should_see(marker="tg-session-upload")
    upload = user.find(marker="tg-session-upload").elements.pop()
    with user:
        await upload.handle_uploads([SmallFileUpload("junk.session", "", b"no sqlite" * 9)])
    await user.should_see("This file is not a Telethon .session file.", retries=SLOW)
    data = (tmp_path / "phone.session").read_bytes()
    with user:
        await upload.handle_uploads([SmallFileUpload("phone.session", "", data)])
    await user.should_see("Ada Lovelace · +44 •••• ••23", retries=SLOW)
    assert [r.name for r in await runtime.telegram.sessions.list_all()] == ["Ada Lovelace"]
    assert list(temp.iterdir()) == []


# ---------------------------------------------------------------- sessions


async def test_rename_channels_and_delete_a_session(session_user: User, runtime: Runtime,
                                                   session_id: str, tg_world,
                                                   tmp_path: Path) -> None:
    user = session_user
    with user.scope(marker=f"tg-session-{session_id}"):
        user.find(marker="tg-rename").click()
    await user.should_see(marker="tg-rename-dialog", retries=SLOW)
    user.find(marker="tg-dialog-input").clear().type("Renamed")
    user.find(marker="tg-dialog-ok").click()
    await user.should_not_see(marker="tg-rename-dialog", retries=SLOW)
    assert (await runtime.telegram.sessions.get(session_id)).name == "Renamed"
    with user.scope(marker=f"tg-session-{session_id}"):
        await user.should_see("Renamed")
        user.find(marker="tg-channels").click()
        await user.should_see(marker=f"tg-channel-{MUSIC_PEER}", retries=SLOW)
        await user.should_see("A Forum")
        await user.should_see("friends")
        await user.should_not_see("Secret Tapes")  # private, not joined
    # Refused while a source reads through it, with the service's sentence.
    source = await _add_source(runtime, session_id, tmp_path / "out")
    with user.scope(marker=f"tg-session-{session_id}"):
        user.find(marker="tg-delete-session").click()
    await user.should_see(marker="tg-confirm-delete-session", retries=SLOW)
    user.find(marker="tg-dialog-ok").click()
    await user.should_see("Sources still use this session (Music)", retries=SLOW)
    assert await runtime.telegram.sessions.get(session_id)
    await runtime.telegram.delete_source(source.id)
    with user.scope(marker=f"tg-session-{session_id}"):
        user.find(marker="tg-delete-session").click()
    await user.should_see(marker="tg-confirm-delete-session", retries=SLOW)
    user.find(marker="tg-dialog-ok").click()
    await user.should_not_see(marker=f"tg-session-{session_id}", retries=SLOW)
    assert await runtime.telegram.sessions.list_all() == []
    assert tg_world.logged_out


# ---------------------------------------------------------------- sources


async def test_add_music_from_the_channel_list_then_sync_now(session_user: User,
                                                            runtime: Runtime, session_id: str,
                                                            tmp_path: Path) -> None:
    user = session_user
    out = tmp_path / "out"
    with user.scope(marker=f"tg-session-{session_id}"):
        user.find(marker="tg-channels").click()
        await user.should_see(marker=f"tg-channel-{MUSIC_PEER}", retries=SLOW)
        with user.scope(marker=f"tg-channel-{MUSIC_PEER}"):
            user.find(marker="tg-add-as-source").click()
    await user.should_see(marker="tg-source-form", retries=SLOW)
    await user.should_see("Music · channel · @music", retries=SLOW)
    for kind, ticked in (("music", True), ("voice", True), ("round", False),
                         ("document", True)):
        assert user.find(marker=f"tg-kind-{kind}").elements.pop().value is ticked
    user.find(marker="tg-form-target-folder-path").clear().type(str(out))
    user.find(marker="tg-form-save").click()
    await user.should_not_see(marker="tg-source-form", retries=SLOW)
    [source] = await runtime.telegram.list_sources()
    assert (source.title, source.ref, source.target["path"]) == ("Music", "@music", str(out))
    row = f"tg-source-{source.id}"
    await user.should_see(marker=row, retries=SLOW)
    with user.scope(marker=row):
        await user.should_see("Never synced")
        await user.should_see("Session Main")
        user.find(marker="tg-sync-now").click()
    await until(lambda: (job := runtime.telegram.sync_job(source.id)) is not None
                 and job.state == JobState.DONE)
    with user.scope(marker=row):
        await user.should_see("4 files", retries=SLOW)
        await user.should_see("Last sync", retries=SLOW)
        await user.should_not_see("Never synced")
    assert len([p for p in out.rglob("*") if p.is_file()]) == 4
    job = runtime.telegram.sync_job(source.id)
    await user.should_see(marker=f"job-{job.id}", retries=SLOW)  # in the Jobs view too


async def test_add_by_typing_a_name_an_invite_and_a_forum_with_some_topics(
        session_user: User, runtime: Runtime, tg_world, tmp_path: Path) -> None:
    user = session_user

    async def open_form() -> None:
        user.find(marker="tg-add-source").click()
        await user.should_see(marker="tg-source-form", retries=SLOW)
        user.find(marker="tg-form-target-folder-path").clear().type(str(tmp_path / "out"))

    await open_form()
    user.find(marker="tg-form-ref").type("@music")
    user.find(marker="tg-form-save").click()  # no look-up needed to add
    await user.should_not_see(marker="tg-source-form", retries=SLOW)
    await open_form()
    user.find(marker="tg-form-ref").type(f"https://t.me/+{PRIVATE_INVITE}")
    user.find(marker="tg-form-lookup").click()
    await user.should_see("Secret Tapes · channel", retries=SLOW)
    user.find(marker="tg-form-save").click()
    await user.should_not_see(marker="tg-source-form", retries=SLOW)
    await open_form()
    user.find(marker="tg-form-ref").type(str(FORUM_PEER))
    user.find(marker="tg-form-lookup").click()
    await user.should_see(marker="tg-form-all-topics", retries=SLOW)
    await user.should_see("A Forum · forum")
    user.find(marker="tg-form-all-topics").click()  # choose some topics: only Jazz
    user.find(marker="tg-topic-9").click()
    user.find(marker="tg-form-save").click()
    await user.should_not_see(marker="tg-source-form", retries=SLOW)
    sources = {s.title: s for s in await runtime.telegram.list_sources()}
    assert set(sources) == {"Music", "Secret Tapes", "A Forum"}
    assert sources["A Forum"].topics == [5] and sources["Music"].topics is None
    assert tg_world.joined  # the invite was used
    for source in sources.values():
        await user.should_see(marker=f"tg-source-{source.id}", retries=SLOW)


async def test_form_errors_are_sentences_and_edit_changes_a_source(
        session_user: User, runtime: Runtime, session_id: str, tmp_path: Path) -> None:
    user = session_user
    source = await _add_source(runtime, session_id, tmp_path / "out")
    user.find(marker="tg-add-source").click()
    await user.should_see(marker="tg-source-form", retries=SLOW)
    user.find(marker="tg-form-ref").type("@nobody_here")
    user.find(marker="tg-form-lookup").click()
    await user.should_see("There is no channel or group with that name or link.", retries=SLOW)
    user.find(marker="tg-form-cancel").click()
    await user.should_not_see(marker="tg-source-form", retries=SLOW)
    user.find(marker="tg-tab-sources").click()
    await user.should_see(marker=f"tg-source-{source.id}", retries=SLOW)
    with user.scope(marker=f"tg-source-{source.id}"):
        user.find(marker="tg-edit-source").click()
    await user.should_see(marker="tg-source-form", retries=SLOW)
    user.find(marker="tg-kind-voice").click()
    user.find(marker="tg-form-exts").type("zip")
    user.find(marker="tg-form-date-from").type("2024-13-01")
    user.find(marker="tg-form-save").click()
    await user.should_see("“2024-13-01” is not a date; write it as 2024-05-31.", retries=SLOW)
    user.find(marker="tg-form-date-from").clear().type("2024-01-01")
    user.find(marker="tg-form-interval").clear().type("6")
    user.find(marker="tg-form-save").click()
    await user.should_not_see(marker="tg-source-form", retries=SLOW)
    changed = await runtime.telegram.get_source(source.id)
    assert changed.keep["kinds"] == ["music", "document"]
    assert changed.keep["extensions"] == ["zip"] and changed.keep["date_from"] == "2024-01-01"
    assert changed.interval_hours == 6 and changed.next_run_at
    with user.scope(marker=f"tg-source-{source.id}"):
        await user.should_see("syncs every 6 hours", retries=SLOW)
        await user.should_see("also .zip")
        await user.should_see("next run")


async def test_an_s3_target_from_the_form_keeps_its_secret_in_the_vault(
        session_user: User, runtime: Runtime) -> None:
    user = session_user
    secret = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"
    user.find(marker="tg-add-source").click()
    await user.should_see(marker="tg-source-form", retries=SLOW)
    user.find(marker="tg-form-ref").type("@music")
    _set(user, "tg-form-target-type", "s3")
    await user.should_see(marker="tg-form-target-s3-url")
    await user.should_not_see(marker="tg-form-target-folder-path")
    user.find(marker="tg-form-target-s3-url").type("s3://my-bucket/music")
    user.find(marker="tg-form-target-s3-endpoint-url").type("http://127.0.0.1:9000")
    user.find(marker="tg-form-target-s3-region").type("eu-central-1")
    user.find(marker="tg-form-target-s3-key-id").type("AKIAEXAMPLE")
    user.find(marker="tg-form-save").click()
    await user.should_see("Enter the secret access key for S3.", retries=SLOW)
    user.find(marker="tg-form-target-s3-secret").type(secret)
    user.find(marker="tg-form-save").click()
    await user.should_not_see(marker="tg-source-form", retries=SLOW)
    [source] = await runtime.telegram.list_sources()
    target = dict(source.target)
    ref = target.pop("secret_ref")
    assert target == {"type": "s3", "url": "s3://my-bucket/music",
                      "endpoint_url": "http://127.0.0.1:9000", "region": "eu-central-1",
                      "key_id": "AKIAEXAMPLE"}
    assert runtime.vault.get(ref) == secret and secret not in runtime.store.path.read_text()
    with user.scope(marker=f"tg-source-{source.id}"):
        await user.should_see("to s3://my-bucket/music", retries=SLOW)
        user.find(marker="tg-edit-source").click()
    await user.should_see(marker="tg-source-form", retries=SLOW)
    assert user.find(marker="tg-form-target-s3-key-id").elements.pop().value == "AKIAEXAMPLE"
    assert user.find(marker="tg-form-target-s3-secret").elements.pop().value == ""
    user.find(marker="tg-form-target-s3-region").clear().type("us-east-1")
    user.find(marker="tg-form-save").click()  # the secret left empty: the stored one stays
    await user.should_not_see(marker="tg-source-form", retries=SLOW)
    changed = await runtime.telegram.get_source(source.id)
    assert changed.target["region"] == "us-east-1" and changed.target["secret_ref"] == ref
    assert runtime.vault.get(ref) == secret


async def test_a_failing_sync_shows_its_sentence(session_user: User, runtime: Runtime,
                                                 session_id: str, tg_world,
                                                 tmp_path: Path) -> None:
    user = session_user
    source = await _add_source(runtime, session_id, tmp_path / "out")
    user.find(marker="tg-tab-sources").click()
    await user.should_see(marker=f"tg-source-{source.id}", retries=SLOW)
    tg_world.fail("iter_messages", gw.NotAuthorized())
    with user.scope(marker=f"tg-source-{source.id}"):
        user.find(marker="tg-sync-now").click()
    await until(lambda: (job := runtime.telegram.sync_job(source.id)) is not None
                 and job.state == JobState.FAILED)
    with user.scope(marker=f"tg-source-{source.id}"):
        await user.should_see("Last sync failed: This Telegram session is no longer logged "
                              "in; log in again.", retries=SLOW)


async def test_delete_a_source(session_user: User, runtime: Runtime, session_id: str,
                               tmp_path: Path) -> None:
    user = session_user
    source = await _add_source(runtime, session_id, tmp_path / "out")
    user.find(marker="tg-tab-sources").click()
    await user.should_see(marker=f"tg-source-{source.id}", retries=SLOW)
    with user.scope(marker=f"tg-source-{source.id}"):
        user.find(marker="tg-delete-source").click()
    await user.should_see(marker="tg-confirm-delete-source", retries=SLOW)
    user.find(marker="tg-dialog-ok").click()
    await user.should_not_see(marker=f"tg-source-{source.id}", retries=SLOW)
    assert await runtime.telegram.list_sources() == []


# ---------------------------------------------------------------- paused jobs and status


async def test_paused_sync_in_the_row_and_jobs_view_with_resume_now(
        session_user: User, runtime: Runtime, session_id: str, tg_world,
        tmp_path: Path) -> None:
    user = session_user
    source = await _add_source(runtime, session_id, tmp_path / "out", keep={"kinds": ["voice"]})
    tg_world.fail("download", gw.FloodWait(3 * 3600))
    user.find(marker="tg-tab-sources").click()
    await user.should_see(marker=f"tg-source-{source.id}", retries=SLOW)
    with user.scope(marker=f"tg-source-{source.id}"):
        user.find(marker="tg-sync-now").click()
    await until(lambda: (job := runtime.telegram.sync_job(source.id)) is not None
                 and job.state == JobState.PAUSED)
    job = runtime.telegram.sync_job(source.id)
    with user.scope(marker=f"tg-source-{source.id}"):
        await user.should_see("Paused until", retries=SLOW)
        await user.should_see("Telegram asks to wait 3 hours")
    await user.should_see(marker=f"job-{job.id}", retries=SLOW)  # the list redraws soon after
    with user.scope(marker=f"job-{job.id}"):
        await user.should_see("Paused until", retries=SLOW)
        await user.should_see("paused")
        await user.should_see(marker="cancel")
    _set(user, "jobs-filter", "Problems")  # it goes on by itself: not a problem
    await user.should_not_see(marker=f"job-{job.id}")
    _set(user, "jobs-filter", "Active")
    await user.should_see(marker=f"job-{job.id}")
    with user.scope(marker=f"job-{job.id}"):
        user.find(marker="resume-now").click()
    await until(lambda: runtime.jobs.get(job.id).state == JobState.DONE)
    with user.scope(marker=f"tg-source-{source.id}"):
        await user.should_see("1 file", retries=SLOW)
        await user.should_not_see("Paused until", retries=SLOW)
    _set(user, "jobs-filter", "All")
    with user.scope(marker=f"job-{job.id}"):
        await user.should_see("done", retries=SLOW)
        await user.should_not_see(marker="resume-now")


async def test_jobs_view_shows_a_running_jobs_status(keyed_user: User, runtime: Runtime) -> None:
    user = keyed_user
    status_release.clear()
    job = await runtime.jobs.submit("t_tg_status", "https://example.com/status")
    await until(lambda: runtime.jobs.get(job.id).status != "")
    await user.should_see(marker=f"job-{job.id}", retries=SLOW)
    with user.scope(marker=f"job-{job.id}"):
        await user.should_see(marker="job-status", retries=SLOW)
        await user.should_see("Telegram asks to wait: 12 s")
    status_release.set()
    await until(lambda: runtime.jobs.get(job.id).state == JobState.DONE)
    with user.scope(marker=f"job-{job.id}"):
        await user.should_not_see(marker="job-status", retries=SLOW)


# ---------------------------------------------------------------- settings


async def test_settings_keep_telegram_credentials_masked_and_workers(
        user: User, runtime: Runtime) -> None:
    user.find(marker="settings").click()
    await user.should_see(marker="tg-api-status")
    await user.should_see(marker="tg-api-status", content="Telegram API: not set")
    user.find(marker="telegram_workers").clear().type("5")
    user.find(marker="settings-tg-api-id").type(API_ID)
    user.find(marker="settings-tg-api-hash").type("short")
    user.find(marker="save").click()
    await user.should_see("The api_hash is 32 letters and digits", retries=SLOW)
    user.find(marker="settings-tg-api-hash").clear().type(API_HASH)
    user.find(marker="save").click()
    await user.should_see("Settings saved.", retries=SLOW)
    assert runtime.settings.get().telegram_workers == 5
    assert await runtime.telegram.credentials.get() == (int(API_ID), API_HASH)
    assert API_HASH not in runtime.store.path.read_text()
    user.find(marker="settings").click()
    await user.should_see(marker="tg-api-status", content=f"api_hash ••••{API_HASH[-4:]}",
                          retries=SLOW)
    await user.should_not_see(content=API_HASH)
    user.find(marker="settings-tg-api-clear").click()
    await user.should_see(marker="tg-api-status", content="Telegram API: not set",
                          retries=SLOW)
    assert not await runtime.telegram.credentials.is_set()
    user.find(marker="telegram_workers").clear().type("11")
    user.find(marker="save").click()
    await user.should_see("Nothing was saved: a number is outside its allowed range.",
                          retries=SLOW)
    assert user.find(marker="telegram_workers").elements.pop().error == "Allowed: 1 to 10."


async def test_settings_choose_the_time_zone_of_telegram_dates(
        session_user: User, runtime: Runtime) -> None:
    user = session_user
    user.find(marker="settings").click()
    await user.should_see(marker="telegram_time_zone")
    user.find(marker="telegram_time_zone").clear().type("Mars/Olympus")
    user.find(marker="save").click()
    await user.should_see("“Mars/Olympus” is not a time zone", retries=SLOW)
    assert runtime.settings.get().telegram_time_zone == ""
    user.find(marker="telegram_time_zone").clear().type("Asia/Tokyo")
    user.find(marker="save").click()
    await user.should_see("Settings saved.", retries=SLOW)
    assert runtime.settings.get().telegram_time_zone == "Asia/Tokyo"
    user.find(marker="tg-add-source").click()
    await user.should_see(marker="tg-source-form", retries=SLOW)
    await user.should_see(marker="tg-form-date-zone",
                          content="Days and dates in names are in Asia/Tokyo", retries=SLOW)
