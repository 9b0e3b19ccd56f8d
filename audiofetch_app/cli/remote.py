"""The command line as a client of the open app: while the window (or `serve`) owns the data
folder, commands run their jobs there, over its REST API on loopback.

The app publishes its `url` in the data folder's instance.json (core.instance); the command
shows it the per-install local token (`local.token`, mode 0600, sources.runtime.local_token)
as `Authorization: Bearer`. Progress comes from `GET /api/events?job_id=` (server-sent
events) and is drawn by the same ProgressPrinter; the outcome is said by common.outcome, so
the exit codes are those of a job run here. If the app stops while a job runs, the command
says so in one sentence and exits EXIT_FAILED; the job is then interrupted and resumable.
Ctrl-C only stops watching: the job goes on in the app.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from audiofetch_app.core.job_record import Job

READY_WAIT = 90.0  # seconds an app that is still starting may take to answer
HEARTBEAT_LIMIT = 60.0  # the app sends a comment every 15 s; silence this long is a dead app


class RemoteError(Exception):
    """The app refused or could not be reached; the message is one sentence. `status` is the
    HTTP status (0: no answer at all)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class AppGone(RemoteError):
    """The app stopped answering while a job was being followed."""


class RemoteApp:
    """The open AudioFetch at `url`, reached with the local `token`."""

    def __init__(self, url: str, token: str | None) -> None:
        self.url = url.rstrip("/")
        headers = {"authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.AsyncClient(base_url=self.url, headers=headers, trust_env=False,
                                      timeout=httpx.Timeout(30.0, connect=5.0))

    async def close(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> RemoteApp:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- requests ---------------------------------------------------------------------------

    async def call(self, method: str, path: str, **kw: Any) -> Any:
        """The JSON answer of one request; RemoteError with the app's sentence on refusal."""
        try:
            response = await self.http.request(method, path, **kw)
        except httpx.HTTPError:
            raise RemoteError(f"AudioFetch at {self.url} does not answer; if it was closed, "
                              "run this command again.") from None
        if response.status_code == 401:
            raise RemoteError(f"AudioFetch at {self.url} did not accept this computer's local "
                              "token; run the command with the same data folder "
                              "(AUDIOFETCH_HOME) as the open app.", 401)
        if response.status_code >= 400:
            raise RemoteError(_detail(response), response.status_code)
        return response.json()

    async def ready(self, wait: float = READY_WAIT) -> None:
        """Return once the app answers (it may still be starting); RemoteError after `wait`
        seconds without an answer."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            try:
                await self.call("GET", "/api/jobs", params={"limit": 1})
                return
            except RemoteError as exc:
                if exc.status == 401 or loop.time() > deadline:
                    raise
            except ValueError:  # a page that is not JSON: the app's API is not up yet
                if loop.time() > deadline:
                    raise RemoteError(f"AudioFetch at {self.url} does not answer as "
                                      "expected; run this command again.") from None
            await asyncio.sleep(0.25)

    async def submit(self, payload: dict[str, Any]) -> str:
        """Start a download (`POST /api/download`); its job id."""
        return str((await self.call("POST", "/api/download", json=payload))["job_id"])

    async def job(self, job_id: str) -> Job:
        return Job.from_dict(await self.call("GET", f"/api/status/{job_id}"))

    async def jobs(self, states: list[str] | None, limit: int) -> list[Job]:
        params: dict[str, Any] = {"limit": max(1, min(limit, 500))}
        if states:
            params["state"] = states
        answer = await self.call("GET", "/api/jobs", params=params)
        return [Job.from_dict(j) for j in answer["jobs"]]

    async def retry(self, job_id: str) -> Job:
        return Job.from_dict(await self.call("POST", f"/api/jobs/{job_id}/retry"))

    async def delete(self, job_id: str, files: bool) -> None:
        await self.call("DELETE", f"/api/jobs/{job_id}", params={"files": str(files).lower()})

    # -- following a job --------------------------------------------------------------------

    async def follow(self, job_id: str, on_change: Any) -> Job:
        """Feed `on_change(job)` every change of the job until it ends, and return it.
        AppGone when the app stops answering before that."""
        while True:
            try:
                async for kind, job in self._events(job_id):
                    if kind == "removed":
                        raise RemoteError(f"Job {job_id} was deleted in the open AudioFetch.")
                    on_change(job)
                    if not job.active:
                        return job
            except (httpx.HTTPError, ValueError):
                pass
            # The stream broke: a blip goes on where it was; a closed app ends the command.
            try:
                job = await self.job(job_id)
            except RemoteError as exc:
                if exc.status:
                    raise
                raise AppGone(f"AudioFetch at {self.url} stopped before the job finished; "
                              f"it continues with: audiofetch jobs resume {job_id}") from None
            if not job.active:
                return job
            await asyncio.sleep(0.5)  # the app answers but its stream broke: not in a spin

    async def _events(self, job_id: str) -> AsyncIterator[tuple[str, Job]]:
        timeout = httpx.Timeout(30.0, connect=5.0, read=HEARTBEAT_LIMIT)
        async with self.http.stream("GET", "/api/events", params={"job_id": job_id},
                                    timeout=timeout) as response:
            if response.status_code != 200:
                raise RemoteError(_detail(response) if response.status_code != 401 else
                                  "The open AudioFetch refused to show the job's progress.",
                                  response.status_code)
            kind, data = "message", ""
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    kind = line[6:].strip()
                elif line.startswith("data:"):
                    data += line[5:].strip()
                elif not line and data:
                    yield kind, Job.from_dict(json.loads(data))
                    kind, data = "message", ""


def _detail(response: httpx.Response) -> str:
    """The app's one sentence for a refusal (`detail`), else one of ours."""
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    if isinstance(detail, str) and detail:
        return detail
    return f"The open AudioFetch answered {response.status_code} to this request."


async def reach(info: dict[str, Any]) -> RemoteApp | None:
    """The open app `info` (instance.json) names, once it answers; None after saying why
    it cannot be used."""
    import sys

    from audiofetch_app.sources.runtime import local_token

    app = RemoteApp(str(info["url"]), local_token())
    try:
        await app.ready()
    except RemoteError as exc:
        await app.close()
        print(str(exc), file=sys.stderr)
        return None
    return app
