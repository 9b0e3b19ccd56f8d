"""The REST face of Telegram: credentials, login, sessions, channels, sources and sync.

Thin like api.py: each route calls TelegramService. A JobError becomes `{detail: sentence}`
with its status (404 unknown id, 409 no API credentials, 410 login gone, 429 FLOOD_WAIT with
Retry-After, else 400); no response carries a session string, the api_hash or a full phone.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Form, HTTPException, Query, Request, Response, UploadFile
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field

from audiofetch_app.core.job_context import JobError
from audiofetch_app.core.targets import public_spec as public_target
from audiofetch_app.sources.telegram.catalog import SourceNotFound
from audiofetch_app.sources.telegram.credentials import HOW_TO, CredentialsMissing
from audiofetch_app.sources.telegram.gateway import FloodWait
from audiofetch_app.sources.telegram.login import LoginExpired
from audiofetch_app.sources.telegram.sessions import SessionNotFound

if TYPE_CHECKING:
    from audiofetch_app.sources.runtime import Runtime
    from audiofetch_app.sources.telegram.service import TelegramService

MAX_SESSION_FILE = 1024 * 1024  # a Telethon .session file is a few KiB; more is not one
QR_WAIT_LIMIT = 30.0  # seconds a GET /login/{id}/qr may hold the request open

Id = Annotated[str, PathParam(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
Name = Annotated[str, Field(min_length=1, max_length=64)]
Kind = Literal["music", "voice", "round", "document"]


# ---------------------------------------------------------------- errors as sentences


def error_response(exc: JobError) -> JSONResponse:
    """The JSON answer for a failure a user can cause."""
    headers = {}
    if isinstance(exc, FloodWait):
        status = 429
        headers["Retry-After"] = str(exc.seconds)
    elif isinstance(exc, SessionNotFound | SourceNotFound):
        status = 404
    elif isinstance(exc, LoginExpired):
        status = 410  # the half-finished login is gone for good: start again
    elif isinstance(exc, CredentialsMissing):
        status = 409
    else:
        status = 400
    return JSONResponse({"detail": str(exc)}, status_code=status, headers=headers)


def _sentence(exc: RequestValidationError) -> str:
    # Pydantic's own errors repeat the input, which may be a code or a password: say only
    # where and what is wrong.
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "path",
                                                                        "query"))
    what = str(first.get("msg", "Invalid request")).rstrip(".")
    return f"{where}: {what}." if where else f"{what}."


class _SpeakingRoute(APIRoute):
    """Turns JobErrors and malformed requests into `{detail: sentence}` answers."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()

        async def speak(request: Request) -> Response:
            try:
                return await handler(request)
            except JobError as exc:
                return error_response(exc)
            except RequestValidationError as exc:
                return JSONResponse({"detail": _sentence(exc)}, status_code=422)

        return speak


# ---------------------------------------------------------------- request bodies


class CredentialsIn(BaseModel):
    api_id: int = Field(gt=0, lt=2**63)
    api_hash: str = Field(min_length=1, max_length=64)


class PhoneIn(BaseModel):
    phone: str = Field(min_length=1, max_length=32)


class CodeIn(BaseModel):
    code: str = Field(min_length=1, max_length=16)


class PasswordIn(BaseModel):
    password: str = Field(min_length=1, max_length=256)


class NameIn(BaseModel):
    name: Name


class StringSessionIn(BaseModel):
    name: Name
    string_session: str = Field(min_length=1, max_length=4096)


class KeepIn(BaseModel):
    """What a source keeps; fields left out take their defaults (music, voice, document)."""

    kinds: list[Kind] | None = Field(default=None, max_length=4)
    extensions: list[Annotated[str, Field(max_length=16)]] | None = Field(default=None,
                                                                         max_length=50)
    date_from: str | None = Field(
        default=None, max_length=10, examples=["2024-05-31"],
        description="Keep posts from this day (YYYY-MM-DD) on. Days are in the time zone "
                    "Settings chooses for Telegram dates, else in the computer's.")
    date_to: str | None = Field(
        default=None, max_length=10, examples=["2024-12-31"],
        description="Keep posts up to this day (inclusive), in the same time zone.")


class TargetIn(BaseModel):
    """A storage target: `type` names the kind (GET /api/targets lists them and their
    fields: a folder's `path`; S3's `url`, keys, endpoint and region); passed on as is."""

    model_config = ConfigDict(extra="allow")
    type: str = Field(default="folder", max_length=40)
    path: str | None = Field(default=None, max_length=4096)
    url: str | None = Field(default=None, max_length=2048)
    endpoint_url: str | None = Field(default=None, max_length=2048)
    region: str | None = Field(default=None, max_length=64)
    key_id: str | None = Field(default=None, max_length=256)
    secret: str | None = Field(default=None, max_length=512)


class SourceIn(BaseModel):
    session_id: str = Field(min_length=1, max_length=64)
    ref: str = Field(min_length=1, max_length=512, examples=["@music", "t.me/+AbCdEf12"])
    keep: KeepIn | None = None
    topics: list[int] | None = Field(default=None, max_length=500)
    template: str | None = Field(default=None, max_length=300)
    target: TargetIn | None = None
    interval_hours: float = Field(default=0.0, ge=0, le=720)


class SourceEdit(BaseModel):
    """Only the fields sent change; `"topics": null` means every topic of a forum."""

    session_id: str | None = Field(default=None, min_length=1, max_length=64)
    keep: KeepIn | None = None
    topics: list[int] | None = Field(default=None, max_length=500)
    template: str | None = Field(default=None, max_length=300)
    target: TargetIn | None = None
    interval_hours: float | None = Field(default=None, ge=0, le=720)


# ---------------------------------------------------------------- answers


def _job_json(job: Any) -> dict[str, Any] | None:
    if job is None:
        return None
    return {"job_id": job.id, "state": job.state.value, "error": job.error,
            "status": job.status, "resume_at": job.resume_at, "progress": job.progress,
            "bytes_done": job.bytes_done, "items_done": job.items_done,
            "finished_at": job.finished_at}


def _source_json(tg: TelegramService, source: Any) -> dict[str, Any]:
    return {**source.to_dict(), "target": public_target(source.target),
            "sync": _job_json(tg.sync_job(source.id))}


def _keep(keep: KeepIn | None) -> dict[str, Any] | None:
    return None if keep is None else keep.model_dump(exclude_none=True)


def _target(target: TargetIn | None) -> dict[str, Any] | None:
    return None if target is None else target.model_dump(exclude_none=True)


def _qr_svg(url: str) -> str:
    import segno

    return segno.make(url).svg_inline(scale=4, dark="#000", light="#fff")


# ---------------------------------------------------------------- routes


def build_telegram_router(get_runtime: Callable[[], Runtime], *,
                          prefix: str = "/api/telegram") -> APIRouter:
    """Every Telegram route under `prefix` (api.py mounts it as /telegram under /api)."""
    router = APIRouter(prefix=prefix, tags=["telegram"], route_class=_SpeakingRoute)

    def tg() -> Any:
        return get_runtime().telegram

    # -- credentials

    @router.get("/credentials")
    async def credentials_state() -> dict[str, Any]:
        """Whether api_id and api_hash are entered (never their values)."""
        return {"is_set": await tg().credentials.is_set(), "how_to": HOW_TO}

    @router.put("/credentials")
    async def set_credentials(body: CredentialsIn) -> dict[str, Any]:
        await tg().credentials.set(body.api_id, body.api_hash)
        return {"is_set": True}

    @router.delete("/credentials")
    async def clear_credentials() -> dict[str, Any]:
        await tg().credentials.clear()
        return {"is_set": False}

    # -- login

    @router.post("/login")
    async def start_login(body: PhoneIn) -> dict[str, str]:
        """Telegram sends a code; answer it at /login/{login_id}/code within 5 minutes."""
        return {"login_id": await tg().login.start_login(body.phone), "step": "code"}

    @router.post("/login/qr")
    async def start_qr() -> dict[str, str]:
        """A QR login: show `url` (or `svg`) and poll GET /login/{login_id}/qr."""
        login_id, url = await tg().login.start_qr()
        return {"login_id": login_id, "url": url, "svg": _qr_svg(url)}

    @router.get("/login/{login_id}/qr")
    async def wait_qr(login_id: Id, wait: Annotated[float, Query(ge=0, le=QR_WAIT_LIMIT)] = 0.0
                      ) -> dict[str, Any]:
        """`step` qr (not scanned yet: show `url`, it is renewed), password or done."""
        login = tg().login
        step = await login.wait_qr(login_id, wait)
        return {"step": step.value, "url": login.qr_url(login_id)}

    @router.post("/login/{login_id}/code")
    async def submit_code(login_id: Id, body: CodeIn) -> dict[str, str]:
        """`step` done, or password when the account has two-step verification."""
        return {"step": (await tg().login.submit_code(login_id, body.code)).value}

    @router.post("/login/{login_id}/password")
    async def submit_password(login_id: Id, body: PasswordIn) -> dict[str, str]:
        return {"step": (await tg().login.submit_password(login_id, body.password)).value}

    @router.post("/login/{login_id}/resend")
    async def resend_code(login_id: Id) -> dict[str, str]:
        await tg().login.resend_code(login_id)
        return {"step": "code"}

    @router.post("/login/{login_id}/finish", status_code=201)
    async def finish_login(login_id: Id, body: NameIn) -> dict[str, Any]:
        """Keep the logged-in session under `name`; answers the session."""
        return asdict(await tg().login.finish(login_id, body.name))

    @router.delete("/login/{login_id}")
    async def cancel_login(login_id: Id) -> dict[str, str]:
        await tg().login.cancel(login_id)
        return {"cancelled": login_id}

    # -- sessions

    @router.get("/sessions")
    async def list_sessions() -> list[dict[str, Any]]:
        return [asdict(r) for r in await tg().sessions.list_all()]

    @router.post("/sessions/import", status_code=201)
    async def import_string(body: StringSessionIn) -> dict[str, Any]:
        """Keep a Telethon string session (checked to be logged in)."""
        return asdict(await tg().login.import_session_string(body.name, body.string_session))

    @router.post("/sessions/upload", status_code=201)
    async def import_file(name: Annotated[str, Form(min_length=1, max_length=64)],
                          file: UploadFile) -> dict[str, Any]:
        """Keep the login from a Telethon `.session` file (at most 1 MiB; the file is not
        kept)."""
        data = await file.read(MAX_SESSION_FILE + 1)
        if len(data) > MAX_SESSION_FILE:
            raise HTTPException(413, detail="This file is too big to be a .session file.")
        path = await asyncio.to_thread(_temporary_file, data)
        try:
            return asdict(await tg().login.import_session_file(name, path))
        finally:
            await asyncio.to_thread(os.unlink, path)

    @router.patch("/sessions/{session_id}")
    async def rename_session(session_id: Id, body: NameIn) -> dict[str, Any]:
        return asdict(await tg().sessions.rename(session_id, body.name))

    @router.delete("/sessions/{session_id}")
    async def delete_session(session_id: Id) -> dict[str, Any]:
        """Log out and forget; refused (400) while sources read through the session."""
        return {"deleted": session_id, "logged_out": await tg().delete_session(session_id)}

    @router.get("/sessions/{session_id}/channels")
    async def channels(session_id: Id) -> list[dict[str, Any]]:
        found = await tg().sessions.channels(session_id)
        return [{"id": c.id, "title": c.title, "username": c.username,
                 "is_group": c.is_group, "is_forum": c.is_forum} for c in found]

    # -- sources

    @router.get("/sources")
    async def list_sources() -> list[dict[str, Any]]:
        """Every source with its sync state and its newest sync job (`sync`)."""
        service = tg()
        return [_source_json(service, s) for s in await service.list_sources()]

    @router.post("/sources", status_code=201)
    async def add_source(body: SourceIn) -> dict[str, Any]:
        service = tg()
        source = await service.add_source(
            body.session_id, body.ref, keep=_keep(body.keep), topics=body.topics,
            template=body.template, target=_target(body.target),
            interval_hours=body.interval_hours)
        return _source_json(service, source)

    @router.get("/sources/{source_id}")
    async def get_source(source_id: Id) -> dict[str, Any]:
        service = tg()
        return _source_json(service, await service.get_source(source_id))

    @router.patch("/sources/{source_id}")
    async def edit_source(source_id: Id, body: SourceEdit) -> dict[str, Any]:
        service = tg()
        changes = {name: getattr(body, name) for name in body.model_fields_set}
        if "keep" in changes:
            changes["keep"] = _keep(body.keep)
        if "target" in changes:
            changes["target"] = _target(body.target)
        for name in ("session_id", "interval_hours"):  # null would mean nothing for these
            if name in changes and changes[name] is None:
                del changes[name]
        return _source_json(service, await service.update_source(source_id, **changes))

    @router.delete("/sources/{source_id}")
    async def delete_source(source_id: Id) -> dict[str, str]:
        """Forget the source; the files it saved stay."""
        await tg().delete_source(source_id)
        return {"deleted": source_id}

    @router.post("/sources/{source_id}/sync")
    async def sync_source(source_id: Id) -> dict[str, str]:
        """Queue a sync now (or answer the one already queued or running)."""
        return {"job_id": (await tg().sync_now(source_id)).id}

    return router


def _temporary_file(data: bytes) -> str:
    handle, path = tempfile.mkstemp(suffix=".session", prefix="audiofetch-")
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    return path
