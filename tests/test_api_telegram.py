"""`/api/telegram/...` over HTTP against the real router and the fake Telegram.

Every response of every test is checked afterwards for the secrets a login handles.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from telethon.crypto import AuthKey
from telethon.sessions import SQLiteSession

from audiofetch_app.sources.runtime import Runtime, open_runtime
from audiofetch_app.sources.telegram import gateway as gw
from audiofetch_app.sources.telegram.credentials import HOW_TO
from audiofetch_app.web.api import build_router
from audiofetch_app.web.telegram_api import public_target
from tests.fakes import telegram as fake
from tests.telegram_app import (
    API_HASH,
    API_ID,
    CODE,
    CODE_2FA,
    FORUM_PEER,
    PASSWORD_2FA,
    PHONE,
    PHONE_2FA,
    PRIVATE_INVITE,
)

TG = "/api/telegram"
S3_SECRET = "s3-secret-access-key-0123456789"


@dataclass
class Api:
    client: httpx.AsyncClient
    runtime: Runtime
    world: fake.FakeTelegram
    secrets: list[str] = field(default_factory=list)  # session strings seen in the vault

    async def ready(self) -> None:
        answer = await self.client.put(f"{TG}/credentials",
                                       json={"api_id": API_ID, "api_hash": API_HASH})
        assert answer.status_code == 200 and answer.json() == {"is_set": True}

    async def logged_in(self, phone: str = PHONE, name: str = "Main") -> dict[str, Any]:
        await self.ready()
        login_id = (await self.client.post(f"{TG}/login", json={"phone": phone})).json()[
            "login_id"]
        step = await self.client.post(f"{TG}/login/{login_id}/code",
                                      json={"code": CODE if phone == PHONE else CODE_2FA})
        if step.json()["step"] == "password":
            await self.client.post(f"{TG}/login/{login_id}/password",
                                   json={"password": PASSWORD_2FA})
        record = await self.client.post(f"{TG}/login/{login_id}/finish", json={"name": name})
        assert record.status_code == 201, record.text
        self.secrets.append(await self.runtime.telegram.sessions.session_string(
            record.json()["id"]))
        return record.json()


@pytest.fixture
async def api(tg_world: fake.FakeTelegram) -> AsyncIterator[Api]:
    runtime = await open_runtime(console_log=False)
    app = FastAPI()
    app.include_router(build_router(lambda: runtime))
    seen: list[str] = []

    async def keep(response: httpx.Response) -> None:
        await response.aread()
        seen.append(f"{response.headers}\n{response.text}")

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://test",
                                 event_hooks={"response": [keep]}) as client:
        harness = Api(client, runtime, tg_world)
        yield harness
    sessions = runtime.telegram.sessions
    harness.secrets += [await sessions.session_string(r.id) for r in await sessions.list_all()]
    await runtime.close()
    text = "\n".join(seen)
    for secret in [API_HASH, PHONE.lstrip("+"), PHONE_2FA.lstrip("+"), PASSWORD_2FA,
                   S3_SECRET, *harness.secrets]:
        assert secret not in text


async def authorized_string(world: fake.FakeTelegram, phone: str = PHONE) -> str:
    """A string session the fake world knows as logged in to `phone`."""
    gateway = world.factory(None, 1, "x")
    await gateway.connect()
    world.authorized[gateway.key] = phone
    return await gateway.export_session()


# ---------------------------------------------------------------- credentials and login


async def test_credentials_never_come_back(api: Api) -> None:
    client = api.client
    assert (await client.get(f"{TG}/credentials")).json() == {"is_set": False, "how_to": HOW_TO}
    missing = await client.post(f"{TG}/login", json={"phone": PHONE})
    assert missing.status_code == 409 and missing.json() == {"detail": HOW_TO}
    bad = await client.put(f"{TG}/credentials", json={"api_id": API_ID, "api_hash": "xyz"})
    assert bad.status_code == 400 and "32 letters" in bad.json()["detail"]
    not_number = await client.put(f"{TG}/credentials", json={"api_id": "abc", "api_hash": "x"})
    assert not_number.status_code == 422 and not_number.json()["detail"].startswith("api_id:")
    await api.ready()
    assert (await client.get(f"{TG}/credentials")).json()["is_set"] is True
    assert (await client.delete(f"{TG}/credentials")).json() == {"is_set": False}


async def test_login_by_code_and_two_step_password(api: Api) -> None:
    client = api.client
    await api.ready()
    started = await client.post(f"{TG}/login", json={"phone": "+44 7700 900123"})
    assert started.status_code == 200 and started.json()["step"] == "code"
    login_id = started.json()["login_id"]
    wrong = await client.post(f"{TG}/login/{login_id}/code", json={"code": "99999"})
    assert wrong.status_code == 400 and "not correct" in wrong.json()["detail"]
    right = await client.post(f"{TG}/login/{login_id}/code", json={"code": CODE})
    assert right.json() == {"step": "done"}
    record = await client.post(f"{TG}/login/{login_id}/finish", json={"name": "Main"})
    assert record.status_code == 201
    assert {"name": "Main", "display_name": "Ada Lovelace",
            "masked_phone": "+44 •••• ••23"}.items() <= record.json().items()
    gone = await client.post(f"{TG}/login/{login_id}/code", json={"code": CODE})
    assert gone.status_code == 410 and "start again" in gone.json()["detail"]

    login_id = (await client.post(f"{TG}/login", json={"phone": PHONE_2FA})).json()["login_id"]
    step = await client.post(f"{TG}/login/{login_id}/code", json={"code": CODE_2FA})
    assert step.json() == {"step": "password"}
    wrong = await client.post(f"{TG}/login/{login_id}/password", json={"password": "nope"})
    assert wrong.status_code == 400 and "password is not correct" in wrong.json()["detail"]
    right = await client.post(f"{TG}/login/{login_id}/password",
                              json={"password": PASSWORD_2FA})
    assert right.json() == {"step": "done"}
    assert (await client.post(f"{TG}/login/{login_id}/finish",
                              json={"name": "Work"})).status_code == 201
    names = [s["name"] for s in (await client.get(f"{TG}/sessions")).json()]
    assert names == ["Main", "Work"]
    for s in await api.runtime.telegram.sessions.list_all():
        api.secrets.append(await api.runtime.telegram.sessions.session_string(s.id))


async def test_expired_code_resend_and_cancel(api: Api) -> None:
    client = api.client
    await api.ready()
    login_id = (await client.post(f"{TG}/login", json={"phone": PHONE})).json()["login_id"]
    api.world.expire_codes()
    expired = await client.post(f"{TG}/login/{login_id}/code", json={"code": CODE})
    assert expired.status_code == 400 and "expired" in expired.json()["detail"]
    assert (await client.post(f"{TG}/login/{login_id}/resend")).json() == {"step": "code"}
    assert (await client.post(f"{TG}/login/{login_id}/code",
                              json={"code": CODE})).json() == {"step": "done"}
    assert (await client.delete(f"{TG}/login/{login_id}")).json() == {"cancelled": login_id}
    assert (await client.post(f"{TG}/login/{login_id}/finish",
                              json={"name": "x"})).status_code == 410
    assert api.world.logged_out  # an authorized login that was cancelled is logged out


async def test_qr_login(api: Api) -> None:
    client = api.client
    await api.ready()
    started = (await client.post(f"{TG}/login/qr")).json()
    assert started["url"].startswith("tg://login?token=") and started["svg"].startswith("<svg")
    login_id = started["login_id"]
    waiting = await client.get(f"{TG}/login/{login_id}/qr", params={"wait": 0})
    assert waiting.json() == {"step": "qr", "url": started["url"]}
    api.world.scan_qr(started["url"], PHONE_2FA)
    scanned = await client.get(f"{TG}/login/{login_id}/qr", params={"wait": 1})
    assert scanned.json() == {"step": "password", "url": None}
    await client.post(f"{TG}/login/{login_id}/password", json={"password": PASSWORD_2FA})
    record = await client.post(f"{TG}/login/{login_id}/finish", json={"name": "QR"})
    assert record.json()["display_name"] == "Grace Hopper"
    too_long = await client.get(f"{TG}/login/{login_id}/qr", params={"wait": 3600})
    assert too_long.status_code == 422 and too_long.json()["detail"].startswith("wait:")


async def test_flood_wait_is_429_with_retry_after(api: Api) -> None:
    await api.ready()
    api.world.fail("send_code", gw.FloodWait(42))
    answer = await api.client.post(f"{TG}/login", json={"phone": PHONE})
    assert answer.status_code == 429 and answer.headers["retry-after"] == "42"
    assert answer.json() == {"detail": "Telegram asks to wait 42 seconds before trying again."}


async def test_malformed_requests_get_a_sentence_without_the_input(api: Api) -> None:
    client = api.client
    await api.ready()
    secret_ish = "7" * 40
    long_code = await client.post(f"{TG}/login/{'a' * 32}/code", json={"code": secret_ish})
    assert long_code.status_code == 422 and isinstance(long_code.json()["detail"], str)
    assert long_code.json()["detail"].startswith("code:") and secret_ish not in long_code.text
    bad_id = await client.get(f"{TG}/sources/not%20an%20id")
    assert bad_id.status_code == 422 and bad_id.json()["detail"].startswith("source_id:")
    not_json = await client.post(f"{TG}/login", content=b"{", headers={
        "content-type": "application/json"})
    assert not_json.status_code == 422 and isinstance(not_json.json()["detail"], str)
    bad_phone = await client.post(f"{TG}/login", json={"phone": "call me"})
    assert bad_phone.status_code == 400 and "country code" in bad_phone.json()["detail"]


# ---------------------------------------------------------------- sessions


async def test_import_string_and_file_sessions(api: Api, tmp_path: Path) -> None:
    client = api.client
    await api.ready()
    string = await authorized_string(api.world)
    api.secrets.append(string)
    imported = await client.post(f"{TG}/sessions/import",
                                 json={"name": "Pasted", "string_session": string})
    assert imported.status_code == 201 and imported.json()["display_name"] == "Ada Lovelace"
    junk = await client.post(f"{TG}/sessions/import",
                             json={"name": "Junk", "string_session": "not-a-session"})
    assert junk.status_code == 400 and "not a Telethon" in junk.json()["detail"]

    file_session = SQLiteSession(str(tmp_path / "phone"))
    file_session.set_dc(4, "149.154.167.91", 443)
    file_session.auth_key = AuthKey(api.world.factory(await authorized_string(api.world), 1,
                                                      "x").key)
    file_session.save()
    file_session.close()
    upload = await client.post(f"{TG}/sessions/upload", data={"name": "From file"}, files={
        "file": ("phone.session", (tmp_path / "phone.session").read_bytes())})
    assert upload.status_code == 201, upload.text
    assert upload.json()["name"] == "From file"
    not_sqlite = await client.post(f"{TG}/sessions/upload", data={"name": "x"},
                                   files={"file": ("x.session", b"junk" * 100)})
    assert not_sqlite.status_code == 400 and "not a Telethon" in not_sqlite.json()["detail"]
    huge = await client.post(f"{TG}/sessions/upload", data={"name": "x"},
                             files={"file": ("x.session", b"\0" * (1024 * 1024 + 1))})
    assert huge.status_code == 413 and "too big" in huge.json()["detail"]
    assert len((await client.get(f"{TG}/sessions")).json()) == 2


async def test_sessions_rename_channels_delete(api: Api) -> None:
    client = api.client
    session = await api.logged_in()
    renamed = await client.patch(f"{TG}/sessions/{session['id']}", json={"name": "Phone"})
    assert renamed.json()["name"] == "Phone"
    empty = await client.patch(f"{TG}/sessions/{session['id']}", json={"name": "   "})
    assert empty.status_code == 400 and "name" in empty.json()["detail"]
    found = (await client.get(f"{TG}/sessions/{session['id']}/channels")).json()
    assert [c["title"] for c in found] == ["A Forum", "friends", "Music"]
    assert found[0] == {"id": FORUM_PEER, "title": "A Forum", "username": None,
                        "is_group": True, "is_forum": True}
    for method, path in (("GET", "/sessions/nope/channels"), ("PATCH", "/sessions/nope"),
                         ("DELETE", "/sessions/nope")):
        missing = await client.request(method, TG + path, json={"name": "x"})
        assert missing.status_code == 404 and "no Telegram session" in missing.json()["detail"]
    source = (await client.post(f"{TG}/sources", json={"session_id": session["id"],
                                                       "ref": "@music"})).json()
    refused = await client.delete(f"{TG}/sessions/{session['id']}")
    assert refused.status_code == 400 and "Sources still use" in refused.json()["detail"]
    assert (await client.delete(f"{TG}/sources/{source['id']}")).status_code == 200
    deleted = await client.delete(f"{TG}/sessions/{session['id']}")
    assert deleted.json() == {"deleted": session["id"], "logged_out": True}
    assert (await client.get(f"{TG}/sessions")).json() == []


# ---------------------------------------------------------------- sources and sync


async def test_sources_add_list_edit_delete(api: Api, tmp_path: Path) -> None:
    client = api.client
    session_id = (await api.logged_in())["id"]
    out = str(tmp_path / "out")
    music = await client.post(f"{TG}/sources", json={
        "session_id": session_id, "ref": "https://t.me/music",
        "keep": {"kinds": ["music", "voice"], "extensions": ["zip"]},
        "target": {"type": "folder", "path": out}, "interval_hours": 6})
    assert music.status_code == 201, music.text
    body = music.json()
    assert body["title"] == "Music" and body["target"] == {"type": "folder", "path": out}
    assert body["keep"]["kinds"] == ["music", "voice"] and body["sync"] is None
    private = await client.post(f"{TG}/sources", json={
        "session_id": session_id, "ref": f"t.me/+{PRIVATE_INVITE}"})
    assert private.status_code == 201 and private.json()["title"] == "Secret Tapes"
    twice = await client.post(f"{TG}/sources", json={"session_id": session_id,
                                                     "ref": "@music"})
    assert twice.status_code == 400 and "already a source" in twice.json()["detail"]
    no_topic = await client.post(f"{TG}/sources", json={
        "session_id": session_id, "ref": str(FORUM_PEER), "topics": [7]})
    assert no_topic.status_code == 400 and "no topic 7" in no_topic.json()["detail"]
    forum = await client.post(f"{TG}/sources", json={
        "session_id": session_id, "ref": str(FORUM_PEER), "topics": [5, 9]})
    assert forum.json()["topics"] == [5, 9] and forum.json()["is_forum"] is True
    nobody = await client.post(f"{TG}/sources", json={"session_id": "nope", "ref": "@music"})
    assert nobody.status_code == 404
    bad_kind = await client.post(f"{TG}/sources", json={
        "session_id": session_id, "ref": "@music", "keep": {"kinds": ["musik"]}})
    assert bad_kind.status_code == 422 and bad_kind.json()["detail"].startswith("keep.kinds")

    listed = (await client.get(f"{TG}/sources")).json()
    assert [s["title"] for s in listed] == ["A Forum", "Music", "Secret Tapes"]
    forum_id, music_id = listed[0]["id"], listed[1]["id"]
    edited = await client.patch(f"{TG}/sources/{music_id}", json={
        "keep": {"kinds": ["music"], "date_from": "2024-01-01"}, "interval_hours": 0})
    assert edited.status_code == 200, edited.text
    assert edited.json()["keep"]["kinds"] == ["music"] and edited.json()["interval_hours"] == 0
    assert edited.json()["target"]["path"] == out  # what was not sent stays
    all_topics = await client.patch(f"{TG}/sources/{forum_id}", json={"topics": None})
    assert all_topics.json()["topics"] is None
    bad_date = await client.patch(f"{TG}/sources/{music_id}",
                                  json={"keep": {"date_from": "May"}})
    assert bad_date.status_code == 400 and "not a date" in bad_date.json()["detail"]
    assert (await client.get(f"{TG}/sources/{music_id}")).json()["keep"]["kinds"] == ["music"]
    s3 = await client.patch(f"{TG}/sources/{music_id}", json={"target": {
        "type": "s3", "url": "s3://bucket/music", "key_id": "AKIAEXAMPLE", "secret": S3_SECRET}})
    assert s3.status_code == 200, s3.text
    assert s3.json()["target"]["url"] == "s3://bucket/music"
    assert s3.json()["target"].get("secret") in (None, "***")
    assert (await client.delete(f"{TG}/sources/{forum_id}")).json() == {"deleted": forum_id}
    for method in ("GET", "DELETE", "PATCH"):
        gone = await client.request(method, f"{TG}/sources/{forum_id}", json={})
        assert gone.status_code == 404 and "no Telegram source" in gone.json()["detail"]
    assert (await client.post(f"{TG}/sources/{forum_id}/sync")).status_code == 404


async def test_sync_saves_the_files_and_shows_the_job(api: Api, tmp_path: Path) -> None:
    client = api.client
    session_id = (await api.logged_in())["id"]
    out = tmp_path / "out"
    source = (await client.post(f"{TG}/sources", json={
        "session_id": session_id, "ref": "@music",
        "target": {"type": "folder", "path": str(out)}})).json()
    started = await client.post(f"{TG}/sources/{source['id']}/sync")
    job_id = started.json()["job_id"]
    await asyncio.wait_for(api.runtime.jobs.wait(job_id), 30)
    state = (await client.get(f"{TG}/sources/{source['id']}")).json()
    assert state["files"] == 4 and state["last_result"] is None
    assert state["sync"]["job_id"] == job_id and state["sync"]["state"] == "done"
    assert len([p for p in out.rglob("*") if p.is_file()]) == 4
    status = (await client.get(f"/api/status/{job_id}")).json()
    assert status["kind"] == "telegram" and status["output_path"] == str(out)

    api.world.fail("iter_messages", gw.NotAuthorized())
    failing = (await client.post(f"{TG}/sources/{source['id']}/sync")).json()["job_id"]
    await asyncio.wait_for(api.runtime.jobs.wait(failing), 30)
    listed = (await client.get(f"{TG}/sources")).json()[0]
    assert listed["sync"]["state"] == "failed"
    assert "no longer logged in" in listed["sync"]["error"]
    assert "no longer logged in" in listed["last_result"]


async def test_routes_are_in_the_openapi_schema(api: Api) -> None:
    app = FastAPI()
    app.include_router(build_router(lambda: api.runtime))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app),
                                 base_url="http://test") as client:
        schema = (await client.get("/openapi.json")).json()
    paths = schema["paths"]
    keep = schema["components"]["schemas"]["KeepIn"]["properties"]
    assert "time zone Settings chooses for Telegram dates" in keep["date_from"]["description"]
    assert "same time zone" in keep["date_to"]["description"]
    for path, method in [("/credentials", "put"), ("/login", "post"), ("/login/qr", "post"),
                         ("/login/{login_id}/qr", "get"), ("/login/{login_id}/code", "post"),
                         ("/login/{login_id}/password", "post"),
                         ("/login/{login_id}/finish", "post"), ("/login/{login_id}", "delete"),
                         ("/sessions", "get"), ("/sessions/import", "post"),
                         ("/sessions/upload", "post"), ("/sessions/{session_id}", "patch"),
                         ("/sessions/{session_id}/channels", "get"), ("/sources", "post"),
                         ("/sources/{source_id}", "patch"),
                         ("/sources/{source_id}/sync", "post")]:
        assert method in paths[TG + path], path
    assert "/api/download" in paths  # the jobs routes are still there


def test_targets_are_shown_without_their_secret() -> None:
    spec = {"type": "s3", "url": "s3://bucket/music", "key_id": "AKIA1", "secret": "hush"}
    assert public_target(spec) == {**spec, "secret": "***"}
