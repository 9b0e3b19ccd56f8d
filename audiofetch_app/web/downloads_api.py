"""REST for saved downloads: list them, fetch one as a streamed ZIP, delete one."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import asdict
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException
from fastapi.responses import StreamingResponse

from audiofetch_app.core import saved
from audiofetch_app.core.job_record import ACTIVE_STATES
from audiofetch_app.core.zipstream import zip_chunks

if TYPE_CHECKING:
    from audiofetch_app.sources.runtime import Runtime


def build_downloads_router(get_runtime: Callable[[], Runtime]) -> APIRouter:
    router = APIRouter(prefix="/api/downloads", tags=["downloads"])

    def root():
        return get_runtime().settings.get().download_path()

    def entry(name: str):
        try:
            return saved.resolve(root(), name)
        except saved.BadName as exc:
            raise HTTPException(400, detail=str(exc)) from exc
        except saved.NotSaved as exc:
            raise HTTPException(404, detail=str(exc)) from exc

    @router.get("")
    async def list_downloads() -> dict[str, Any]:
        """Everything in the download folder, newest first."""
        items = await asyncio.to_thread(saved.list_saved, root())
        return {"folder": str(root()), "downloads": [asdict(i) for i in items]}

    @router.get("/{name}/zip")
    async def download_zip(name: str) -> StreamingResponse:
        """One saved download as a ZIP, streamed (nothing is written on the server)."""
        path = entry(name)
        stem = path.stem if path.is_file() else path.name
        return StreamingResponse(
            zip_chunks(saved.zip_members(root(), name)), media_type="application/zip",
            headers={"Content-Disposition":
                     f"attachment; filename*=UTF-8''{quote(stem, safe='')}.zip"})

    @router.delete("/{name}")
    async def delete_download(name: str) -> dict[str, str]:
        """Delete a saved download (refused while a job still writes to it)."""
        path = entry(name)
        for job in get_runtime().jobs.list(states=ACTIVE_STATES):  # not the whole history
            if job.output_path and (
                    job.output_path == str(path) or str(path) in job.output_path):
                raise HTTPException(409, detail="A running job is still writing this "
                                                "download; cancel it first.")
        try:
            await asyncio.to_thread(saved.delete_saved, root(), name)
        except OSError as exc:
            raise HTTPException(500, detail=f"Could not delete {name}: "
                                            f"{exc.strerror or exc}.") from exc
        return {"deleted": name}

    return router
