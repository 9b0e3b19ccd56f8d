"""Saved downloads over REST: list, ZIP, delete, and every way to reach past the folder."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from audiofetch_app.core.job_record import Job, JobState
from audiofetch_app.web.downloads_api import build_downloads_router


class Runtime:
    def __init__(self, root: Path) -> None:
        self.settings = SimpleNamespace(get=lambda: SimpleNamespace(download_path=lambda: root))
        self.active: list[Job] = []
        self.jobs = SimpleNamespace(  # JobManager.list's filter by state, as the route uses it
            list=lambda states=None: [j for j in self.active if states is None
                                      or j.state in states])


@pytest.fixture
def setup(tmp_path: Path):
    root = tmp_path / "downloads"
    (root / "Album").mkdir(parents=True)
    (root / "Album" / "01 - One.mp3").write_bytes(b"one" * 1000)
    (root / "Album" / "cd2").mkdir()
    (root / "Album" / "cd2" / "02 - Two.mp3").write_bytes(b"two" * 500)
    (root / "Album" / "03 - Three.mp3.part").write_bytes(b"partial")
    (root / "Space.m4a").write_bytes(b"space" * 100)
    (root / "half.mp3.part").write_bytes(b"x")
    (root / ".hidden").write_text("x")
    secret = tmp_path / "secret.txt"
    secret.write_text("outside the download folder")
    os.symlink(secret, root / "link.txt")
    os.symlink(tmp_path, root / "linkdir")
    runtime = Runtime(root)
    app = FastAPI()
    app.include_router(build_downloads_router(lambda: runtime))
    return TestClient(app), root, runtime


def test_list_shows_only_finished_entries(setup) -> None:
    client, _root, _ = setup
    data = client.get("/api/downloads").json()
    by_name = {d["name"]: d for d in data["downloads"]}
    assert set(by_name) == {"Album", "Space.m4a"}
    assert by_name["Album"]["files"] == 2 and by_name["Album"]["size"] == 4500
    assert by_name["Album"]["is_folder"] and not by_name["Space.m4a"]["is_folder"]


def test_zip_of_a_folder_and_of_a_file(setup) -> None:
    client, _root, _ = setup
    response = client.get("/api/downloads/Album/zip")
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    assert "Album.zip" in response.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(response.content)) as z:
        assert z.testzip() is None
        assert sorted(z.namelist()) == ["01 - One.mp3", "cd2/02 - Two.mp3"]
        assert z.read("cd2/02 - Two.mp3") == b"two" * 500
    response = client.get("/api/downloads/Space.m4a/zip")
    with zipfile.ZipFile(io.BytesIO(response.content)) as z:
        assert z.namelist() == ["Space.m4a"]


@pytest.mark.parametrize("name", [
    "..", "...", "%2e%2e", "..%2f..%2fsecret.txt", "%2e%2e%2fsecret.txt", "..%5csecret.txt",
    "Album%2f..%2f..%2fsecret.txt", "%2fetc%2fpasswd", "C:%5cWindows", "link.txt", "linkdir",
    ".hidden", "half.mp3.part", "%00", "Album%00.txt", "%20Album",
])
def test_no_name_reaches_past_the_folder(setup, name: str) -> None:
    client, root, _ = setup
    for method, path in (("GET", f"/api/downloads/{name}/zip"),
                         ("DELETE", f"/api/downloads/{name}")):
        response = client.request(method, path)
        assert response.status_code in (400, 404, 405), (method, name, response.status_code)
        assert b"outside the download folder" not in response.content
    assert (root.parent / "secret.txt").exists() and (root / "Album").exists()


def test_missing_name_is_404(setup) -> None:
    client, _, _ = setup
    response = client.get("/api/downloads/nothing.mp3/zip")
    assert response.status_code == 404 and "nothing.mp3" in response.json()["detail"]


def test_delete(setup) -> None:
    client, root, runtime = setup
    runtime.active.append(Job(kind="page", url="https://x", state=JobState.RUNNING,
                              output_path=str(root / "Album")))
    response = client.delete("/api/downloads/Album")
    assert response.status_code == 409 and "cancel it first" in response.json()["detail"]
    runtime.active.clear()
    assert client.delete("/api/downloads/Album").json() == {"deleted": "Album"}
    assert not (root / "Album").exists()
    assert client.delete("/api/downloads/Space.m4a").status_code == 200
    assert client.get("/api/downloads").json()["downloads"] == []
