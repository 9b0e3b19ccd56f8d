"""The REST face: jobs over HTTP, and a page's ZIP streamed to the caller with nothing kept."""

from __future__ import annotations

import asyncio
import io
import zipfile
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError

import audiofetch_app.sources  # noqa: F401 - registers the sources
from audiofetch_app.sources.runtime import open_runtime
from audiofetch_app.web.api import build_router, validation_error
from tests.desktop import AppProcess, wait_for_http
from tests.media import make_tone
from tests.test_page import serve_site


@pytest.fixture
async def api(af_home: Path):
    runtime = await open_runtime(console_log=False)
    app = FastAPI()
    app.include_router(build_router(lambda: runtime))
    app.add_exception_handler(RequestValidationError, validation_error)  # as server.install
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app),
                                 base_url="http://test") as client:
        yield client, runtime
    await runtime.close()


@pytest.fixture(scope="module")
def mp3(tmp_path_factory) -> bytes:
    return make_tone(tmp_path_factory.mktemp("m") / "t.mp3", seconds=1).read_bytes()


async def test_download_status_list_delete(api, http_server, mp3: bytes) -> None:
    client, runtime = api
    http_server.add("/a/Song.mp3", mp3, content_type="audio/mpeg")
    started = await client.post("/api/download", json={"url": http_server.url_for("/a/Song.mp3")})
    assert started.status_code == 200
    job_id = started.json()["job_id"]
    await asyncio.wait_for(runtime.jobs.wait(job_id), 30)
    status = (await client.get(f"/api/status/{job_id}")).json()
    assert status["state"] == "done" and status["kind"] == "direct" and status["progress"] == 1
    listed = (await client.get("/api/jobs")).json()
    assert listed["total"] == 1 and listed["jobs"][0]["id"] == job_id
    # Files go only for their owner (the local token, a LAN login): not for any local
    # program that reaches loopback. tests/test_cli_client.py deletes them with the token.
    refused = await client.delete(f"/api/jobs/{job_id}?files=true")
    assert refused.status_code == 403 and "nothing was deleted" in refused.json()["detail"]
    assert Path(status["output_path"]).exists() and runtime.jobs.get(job_id) is not None
    assert (await client.delete(f"/api/jobs/{job_id}")).status_code == 200
    assert Path(status["output_path"]).exists()
    missing = await client.get(f"/api/status/{job_id}")
    assert missing.status_code == 404 and "no job" in missing.json()["detail"]


@pytest.mark.parametrize("body, words", [
    ({"url": "ftp://example.com/x.mp3"}, "http"),
    ({"url": "https://x.com/i/spaces/!!", "kind": "space"}, "not an X Space link"),
    ({"url": "https://example.com/page", "plugin": "nope"}, "Unknown plugin"),
    ({"url": "https://example.com/a.mp3", "kind": "direct", "stream": True}, "streamed"),
])
async def test_bad_requests_get_a_sentence(api, body: dict, words: str) -> None:
    client, runtime = api
    response = await client.post("/api/download", json=body)
    assert response.status_code == 422 and words in response.json()["detail"]
    assert runtime.jobs.count() == 0


async def test_kind_auto_picks_the_source(api, fake_x, http_server, mp3: bytes) -> None:
    from tests.fakes.x_server import FakeSpace

    client, runtime = api
    fake_x.add_space(FakeSpace("1YqKDqDkXvWJV", chunks=2))
    space = await client.post("/api/download",
                              json={"url": "https://twitter.com/i/spaces/1YqKDqDkXvWJV?s=1"})
    job = runtime.jobs.get(space.json()["job_id"])
    assert job.kind == "space" and job.url == "https://x.com/i/spaces/1YqKDqDkXvWJV"
    assert (await asyncio.wait_for(runtime.jobs.wait(job.id), 60)).state.value == "done"
    page = await client.post("/api/download", json={"url": serve_site(http_server, mp3)})
    job = runtime.jobs.get(page.json()["job_id"])
    assert job.kind == "page"
    cancelled = await client.post(f"/api/jobs/{job.id}/cancel")
    assert cancelled.json()["state"] in ("cancelled", "done")


def test_stream_zip_to_a_real_client_keeps_nothing(tmp_path: Path, http_server,
                                                   mp3: bytes) -> None:
    url = serve_site(http_server, mp3)
    home = tmp_path / "home"
    with AppProcess(["serve", "--port", "0"], home, tmp_path / "logs") as app:
        base = app.wait_for_url()
        wait_for_http(base, alive=app.check_alive)
        job_id = httpx.post(f"{base}/api/download",
                            json={"url": url, "stream": True, "name": "Streamed"},
                            timeout=30).json()["job_id"]
        body = io.BytesIO()
        with httpx.stream("GET", f"{base}/api/stream/{job_id}", timeout=60) as response:
            assert response.status_code == 200
            assert "Streamed.zip" in response.headers["content-disposition"]
            for block in response.iter_bytes():
                body.write(block)
        with zipfile.ZipFile(body) as archive:
            assert archive.testzip() is None
            assert len(archive.namelist()) == 3
            assert archive.read(sorted(archive.namelist())[0]) == mp3
        status = httpx.get(f"{base}/api/status/{job_id}", timeout=10).json()
        again = httpx.get(f"{base}/api/stream/{job_id}", timeout=10)
        assert again.status_code == 409
    assert status["state"] in ("done", "running")
    downloads = home / "downloads"
    assert not downloads.exists() or not any(downloads.rglob("*"))


@pytest.mark.parametrize("send, words", [
    ({"json": {}}, "The request needs url."),
    ({"json": {"url": "https://e.com/a.mp3", "workers": 99}},
     "workers: Input should be less than or equal to 20."),
    ({"content": b"{not json", "headers": {"content-type": "application/json"}},
     "The request body is not valid JSON."),
])
async def test_every_422_is_a_sentence(api, send: dict, words: str) -> None:
    client, _ = api
    response = await client.post("/api/download", **send)
    assert response.status_code == 422 and response.json() == {"detail": words}
    bad_page = await client.get("/api/jobs", params={"limit": -1})
    assert bad_page.status_code == 422
    assert bad_page.json()["detail"] == "limit: Input should be greater than or equal to 1."
