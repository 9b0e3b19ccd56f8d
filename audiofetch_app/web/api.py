"""The REST face: start, watch, cancel and delete jobs; stream a page's ZIP to the caller.

Thin on purpose: every route calls the same services the window and the CLI use.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from audiofetch_app import sources
from audiofetch_app.core import registry, targets, transfer_limits
from audiofetch_app.core.address_guard import is_network_peer
from audiofetch_app.core.job_context import JobError
from audiofetch_app.core.job_record import JobState
from audiofetch_app.core.net_errors import NetError
from audiofetch_app.web import streams
from audiofetch_app.web.auth import LOCAL_USER, LOGGED_IN

if TYPE_CHECKING:
    from audiofetch_app.sources.runtime import Runtime


class DownloadRequest(BaseModel):
    url: str = Field(max_length=4096)
    kind: str = Field(default="auto", max_length=40)  # auto, or a source: space, page, direct
    name: str | None = Field(default=None, max_length=300)
    workers: int | None = Field(default=None, ge=1, le=20)
    plugin: str | None = Field(default=None, max_length=40)
    zip: bool | None = None
    stream: bool = False  # page only: collect the ZIP from /api/stream/{job_id}
    # Where to save instead of the download folder: an address ("/music", "s3://bucket/x")
    # or a target spec ({"type": ..., with the kind's fields}); see GET /api/targets.
    target: str | dict[str, Any] | None = None
    max_filesize: int | str | None = None  # bytes, or a size like "50M" or "2G"
    # The source's own options as its options model names them (a page's `tracks` chosen
    # from a preview, `seen` from the browser extension, a Space's `format`, ...); the fields
    # above win. Those naming files on this computer (LOCAL_ONLY_OPTIONS) are taken only from
    # a request with the local token (the user who owns the data folder, as the CLI is).
    options: dict[str, Any] | None = None


class PreviewRequest(BaseModel):
    url: str = Field(max_length=4096)
    kind: str = Field(default="auto", max_length=40)
    options: dict[str, Any] | None = None  # the source's own options, as for /api/download


LOCAL_ONLY_OPTIONS = ("output_dir", "cookies_file")


def validation_sentence(exc: RequestValidationError) -> str:
    """FastAPI's list of what is wrong with a request, as one sentence (the first fault)."""
    errors = exc.errors()
    if not errors:
        return "The request is not valid."
    first = errors[0]
    where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path"))
    message = str(first.get("msg", "is not valid")).rstrip(".")
    if first.get("type") == "json_invalid":
        return "The request body is not valid JSON."
    if first.get("type") == "missing":
        return f"The request needs {where or 'a body'}."
    return f"{where}: {message}." if where else f"{message}."


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    """Every 422 answers with a `detail` sentence, as the REST API's other errors do."""
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"detail": validation_sentence(exc)}, status_code=422)


def checked_options(options: dict[str, Any] | None, *, local: bool) -> dict[str, Any]:
    """A REST request's `options`. JobError for `stream` (its own field hands the ZIP to
    this caller); HTTP 403 for an option naming a file on this computer unless `local` (the
    request showed the local token)."""
    for name in options or {}:
        if name == "stream":
            raise JobError("options: stream is a field of its own (\"stream\": true).")
        if name in LOCAL_ONLY_OPTIONS and not local:
            raise HTTPException(403, detail=f"The option {name} names a file on this "
                                            "computer, so only its command line (with the "
                                            "local token) may give it.")
    return dict(options or {})


def from_network(request: Request) -> bool:
    """The request came from another device (not this computer)."""
    return is_network_peer(request.client.host if request.client else None)


def job_json(job: Any) -> dict[str, Any]:
    data = job.to_dict()
    data["progress"] = job.progress
    return data


def build_router(get_runtime: Callable[[], Runtime]) -> APIRouter:
    router = APIRouter(prefix="/api")

    def jobs():
        return get_runtime().jobs

    def require(job_id: str):
        job = jobs().get(job_id)
        if job is None:
            raise HTTPException(404, detail=f"There is no job {job_id}.")
        return job

    @router.post("/download")
    async def start_download(request: DownloadRequest, http: Request) -> dict[str, str]:
        raw = {"name": request.name, "workers": request.workers, "plugin": request.plugin,
               "zip": request.zip, "stream": request.stream or None}
        try:
            if request.max_filesize is not None:
                try:
                    raw["max_filesize"] = transfer_limits.parse_size(request.max_filesize)
                except ValueError as exc:
                    raise JobError(f"max_filesize: {exc}") from None
            if isinstance(request.target, str):
                raw["target"] = targets.spec_from_text(request.target)
            elif request.target is not None:
                raw["target"] = request.target
            link = sources.recognise(request.url, request.kind)
            source = registry.get(link.kind)
            if request.stream and "stream" not in source.options.names():
                raise JobError(f"{source.label} downloads cannot be streamed as a ZIP; page "
                               "downloads can.")
            given = checked_options(request.options, local=getattr(http.state, LOCAL_USER,
                                                                     False))
            given.update({k: v for k, v in raw.items()
                          if v is not None and k in source.options.names()})
            if request.stream:
                jobs().stream_consumer = streams.hub.produce  # this face collects the ZIP
            job = await sources.submit(get_runtime(), link.url, link.kind, given,
                                       title=request.name or "",
                                       from_network=from_network(http))
        except JobError as exc:
            raise HTTPException(422, detail=str(exc)) from exc
        return {"job_id": job.id}

    @router.get("/preview")
    async def preview(http: Request, url: str = Query(max_length=4096),
                      kind: str = Query(default="auto", max_length=40)) -> dict[str, Any]:
        """What a link holds before downloading: a Space's metadata, a page's tracks."""
        try:
            found = await sources.preview(get_runtime(), url, kind,
                                          from_network=from_network(http))
        except (JobError, NetError) as exc:
            raise HTTPException(422, detail=str(exc)) from exc
        return jsonable_encoder(dataclasses.asdict(found))

    @router.post("/preview")
    async def preview_with_options(request: PreviewRequest, http: Request) -> dict[str, Any]:
        """`GET /api/preview` with the source's options: a page's `plugin`, or `seen` (what
        the user's browser saw the page play, from the browser extension) to merge with
        what AudioFetch finds."""
        try:
            found = await sources.preview(
                get_runtime(), request.url, request.kind,
                checked_options(request.options, local=getattr(http.state, LOCAL_USER, False)),
                from_network=from_network(http))
        except (JobError, NetError) as exc:
            raise HTTPException(422, detail=str(exc)) from exc
        return jsonable_encoder(dataclasses.asdict(found))

    @router.get("/targets")
    async def target_kinds() -> list[dict[str, Any]]:
        """The kinds of storage target and the fields each takes."""
        return [{"type": k.NAME, "label": k.LABEL, "example": k.EXAMPLE,
                 "fields": [{"name": n, "label": label, "secret": secret}
                            for n, label, secret in k.FIELDS]} for k in targets.kinds()]

    @router.get("/status/{job_id}")
    async def status(job_id: str) -> dict[str, Any]:
        return job_json(require(job_id))

    @router.get("/jobs")
    async def list_jobs(offset: int = Query(default=0, ge=0),
                        limit: int = Query(default=100, ge=1, le=500),
                        state: Annotated[list[JobState] | None, Query()] = None) -> dict[str, Any]:
        """Jobs newest first; `state` (repeatable) keeps only jobs in those states."""
        page_of_jobs, total = jobs().page(offset=offset, limit=limit, states=state or None)
        return {"total": total, "jobs": [job_json(j) for j in page_of_jobs]}

    @router.post("/jobs/{job_id}/retry")
    async def retry(job_id: str) -> dict[str, Any]:
        """Queue a job again; it resumes where it stopped when it can."""
        require(job_id)
        try:
            return job_json(await jobs().retry(job_id))
        except JobError as exc:
            raise HTTPException(409, detail=str(exc)) from exc

    @router.post("/jobs/{job_id}/cancel")
    async def cancel(job_id: str) -> dict[str, Any]:
        require(job_id)
        return job_json(await jobs().cancel(job_id))

    @router.delete("/jobs/{job_id}")
    async def delete(http: Request, job_id: str, files: bool = False) -> dict[str, str]:
        """Forget a job; `files=true` also removes what it saved, for its owner only: the
        local token (this computer's command line) or a LAN login, never any local program
        that can reach loopback."""
        require(job_id)
        if files and not (getattr(http.state, LOCAL_USER, False)
                          or getattr(http.state, LOGGED_IN, False)):
            raise HTTPException(403, detail="Deleting a job's files needs the local token "
                                            "(the command line on this computer) or a login; "
                                            "nothing was deleted.")
        await jobs().delete(job_id, with_files=files)
        return {"deleted": job_id}

    @router.get("/stream/{job_id}")
    async def stream(job_id: str) -> StreamingResponse:
        job = require(job_id)
        if not job.options.get("stream"):
            raise HTTPException(409, detail="This job saves to disk; start it with "
                                            "\"stream\": true to collect it here.")
        if not job.active:
            raise HTTPException(409, detail=f"This stream is over (the job is {job.state.value});"
                                            " start the download again to get a new one.")
        try:
            blocks = await streams.hub.attach(job_id)
        except streams.StreamGone as exc:
            raise HTTPException(409, detail=str(exc)) from exc
        name = (job.title or "audio").replace('"', "")
        return StreamingResponse(blocks, media_type="application/zip", headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{_quote(name)}.zip"})

    from audiofetch_app.web.telegram_api import build_telegram_router

    router.include_router(build_telegram_router(get_runtime, prefix="/telegram"))
    return router


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")
