"""Any job can save to a storage target: page, direct and Space downloads to S3 (a moto
server on loopback) from REST, the CLI options and the Settings default; targets are found
by name and no face names a kind."""

from __future__ import annotations

import argparse
import asyncio
import zipfile
from io import BytesIO
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from audiofetch_app import sources
from audiofetch_app.cli.common import target_spec
from audiofetch_app.cli.parser import build_parser
from audiofetch_app.core import targets
from audiofetch_app.core.job_context import JobError
from audiofetch_app.core.job_record import JobState
from audiofetch_app.core.registry import OptionError
from audiofetch_app.web.api import build_router
from tests.fakes.s3_server import FakeS3
from tests.probe import decode_errors

PAGE = """<html><head><title>Two Tapes</title></head><body>
<a href="/m/one.mp3">Side A</a> <a href="/m/two.mp3">Side B</a></body></html>"""


def s3_target(s3: FakeS3, url: str = "s3://bucket/audio") -> dict:
    return {"type": "s3", "url": url, "endpoint_url": s3.url, "key_id": s3.key_id,
            "secret": s3.secret}


async def test_a_page_download_to_s3_uploads_the_zip_and_keeps_nothing_local(
        runtime, http_server, s3: FakeS3, mp3: bytes, af_home: Path, tmp_path: Path) -> None:
    http_server.add("/tapes", PAGE, content_type="text/html")
    http_server.add("/m/one.mp3", mp3, content_type="audio/mpeg")
    http_server.add("/m/two.mp3", mp3, content_type="audio/mpeg")
    api = FastAPI()
    api.include_router(build_router(lambda: runtime))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(api),
                                 base_url="http://test") as client:
        started = await client.post("/api/download", json={
            "url": http_server.url_for("/tapes"), "target": s3_target(s3)})
        assert started.status_code == 200, started.text
        kinds = (await client.get("/api/targets")).json()
    assert [k["type"] for k in kinds] == list(targets.KINDS)
    job = await asyncio.wait_for(runtime.jobs.wait(started.json()["job_id"]), 60)
    assert job.state == JobState.DONE, job.error
    assert job.output_path == "s3://bucket/audio/Two Tapes.zip"
    assert s3.objects("bucket") == {"audio/Two Tapes.zip": s3.objects("bucket")[
        "audio/Two Tapes.zip"]}
    with zipfile.ZipFile(BytesIO(s3.read("bucket", "audio/Two Tapes.zip"))) as archive:
        assert sorted(archive.namelist()) == ["01 - Side A.mp3", "02 - Side B.mp3"]
        side_a = tmp_path / "a.mp3"
        side_a.write_bytes(archive.read("01 - Side A.mp3"))  # tagged, so not the same bytes
    assert decode_errors(side_a) == ""
    assert not (af_home / "staging" / job.id).exists()
    # The secret went to the vault: the stored job names it and holds no key.
    assert s3.secret not in runtime.store.path.read_text()
    assert job.options["target"]["secret_ref"].startswith("telegram_s3:")


async def test_the_settings_default_target_applies_to_every_download(
        runtime, http_server, s3: FakeS3, mp3: bytes, tmp_path: Path) -> None:
    spec = await asyncio.to_thread(targets.check_spec, s3_target(s3, "s3://bucket/inbox"),
                                   tmp_path, runtime.vault)
    runtime.settings.update(download_target=spec)
    http_server.add("/a/Harbour.mp3", mp3, content_type="audio/mpeg")
    job = await sources.submit(runtime, http_server.url_for("/a/Harbour.mp3"))
    job = await asyncio.wait_for(runtime.jobs.wait(job.id), 60)
    assert job.state == JobState.DONE, job.error
    assert job.output_path == "s3://bucket/inbox/Harbour.mp3"
    local = tmp_path / "Harbour.mp3"
    local.write_bytes(s3.read("bucket", "inbox/Harbour.mp3"))
    assert decode_errors(local) == ""
    # -o (output_dir) still saves to a folder, whatever Settings say.
    folder = tmp_path / "here"
    job = await sources.submit(runtime, http_server.url_for("/a/Harbour.mp3"),
                               options={"output_dir": str(folder)})
    job = await asyncio.wait_for(runtime.jobs.wait(job.id), 60)
    assert job.state == JobState.DONE and Path(job.output_path).parent == folder


async def test_a_target_that_refuses_fails_the_job_with_a_sentence(
        runtime, http_server, s3: FakeS3, mp3: bytes) -> None:
    http_server.add("/a/x.mp3", mp3, content_type="audio/mpeg")
    job = await sources.submit(runtime, http_server.url_for("/a/x.mp3"), options={
        "target": s3_target(s3, "s3://no-such-bucket/x")})
    job = await asyncio.wait_for(runtime.jobs.wait(job.id), 60)
    assert job.state == JobState.FAILED
    assert job.error == f"The bucket “no-such-bucket” does not exist at {s3.url}."


@pytest.mark.parametrize("options, words", [
    ({"target": "s3://bucket/x"}, "A target is an object"),
    ({"target": {"type": "ftp"}}, "Unknown storage target 'ftp'"),
    ({"target": {"type": "folder", "path": "/x"}, "output_dir": "/y"}, "not both"),
])
def test_bad_targets_are_refused_at_submit(options: dict, words: str) -> None:
    with pytest.raises(OptionError, match=words):
        sources.options_for("direct", options)


def test_the_cli_reads_a_target_from_its_address_and_fields() -> None:
    parser = build_parser()
    args = parser.parse_args(["page", "https://example.com/", "--target", "s3://bucket/in",
                              "--target-endpoint-url", "http://127.0.0.1:9000",
                              "--target-key-id", "AKIA1"])
    asked: list[str] = []
    spec = target_spec(args, lambda label: asked.append(label) or "hush")
    assert spec == {"type": "s3", "url": "s3://bucket/in", "endpoint_url":
                    "http://127.0.0.1:9000", "key_id": "AKIA1", "secret": "hush"}
    assert asked == ["Secret access key"]
    folder = target_spec(parser.parse_args(["get", "https://e.com/a.mp3", "--target",
                                            "~/Music"]))
    assert folder == {"type": "folder", "path": str(Path("~/Music").expanduser())}
    with pytest.raises(JobError, match="not both"):
        target_spec(parser.parse_args(["get", "https://e.com/a.mp3", "-o", "x",
                                       "--target", "y"]))
    with pytest.raises(JobError, match="cannot save to"):
        targets.spec_from_text("ftp://host/x")


def test_telegram_sources_keep_their_old_s3_option_names() -> None:
    args = build_parser().parse_args(["telegram", "sources", "add", "main", "@talks",
                                      "--s3", "s3://b/t", "--s3-key-id", "AKIA"])
    assert isinstance(args, argparse.Namespace)
    assert target_spec(args, lambda label: "k") == {"type": "s3", "url": "s3://b/t",
                                                    "key_id": "AKIA", "secret": "k"}


async def test_a_download_folder_on_an_unplugged_drive_fails_the_job_with_a_sentence(
        runtime, http_server, mp3: bytes, tmp_path: Path) -> None:
    """Settings' download folder was on a drive that is gone when the job runs: the job
    fails saying so, and no look-alike tree is made on the local disk."""
    http_server.add("/m/one.mp3", mp3, content_type="audio/mpeg")
    drive = tmp_path / "drive"
    (drive / "Music").mkdir(parents=True)
    runtime.settings.update(download_dir=str(drive / "Music" / "AudioFetch"))
    (drive / "Music").rmdir()  # unplugged
    job = await sources.submit(runtime, http_server.url_for("/m/one.mp3"))
    job = await asyncio.wait_for(runtime.jobs.wait(job.id), 60)
    assert job.state == JobState.FAILED
    assert job.error == (f"The folder {drive / 'Music' / 'AudioFetch'} cannot be reached; "
                         "is the drive or share connected?")
    assert not (drive / "Music").exists()
