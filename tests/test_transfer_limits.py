"""Every download is bounded: an endless body stops at the largest size and leaves nothing
behind, a trickle is cut and then given up, a file that cannot fit is refused before it
starts; all with one sentence."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from audiofetch_app import sources
from audiofetch_app.core import net, transfer_limits
from audiofetch_app.core.job_record import JobState
from audiofetch_app.core.retry import RetryPolicy
from audiofetch_app.core.transfer_limits import TransferLimits, parse_size
from tests.fakes.hostile_http import HostileServer


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    server = HostileServer(trickle_bytes=10, trickle_interval=0.05)
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("text, size", [("50M", 50 << 20), ("2G", 2 << 30), ("800k", 800 << 10),
                                        ("1.5GiB", 3 << 29), ("123", 123), (4096, 4096)])
def test_sizes_read_as_yt_dlp_reads_them(text, size: int) -> None:
    assert parse_size(text) == size
    assert parse_size(transfer_limits.short_size(size)) == size


@pytest.mark.parametrize("text", ["", "lots", "-5M", "0", "5X"])
def test_bad_sizes_are_a_sentence(text: str) -> None:
    with pytest.raises(ValueError, match="size"):
        parse_size(text)


async def test_an_endless_body_stops_at_the_limit_and_leaves_nothing(
        runtime, hostile: HostileServer, tmp_path: Path) -> None:
    out = tmp_path / "out"
    job = await sources.submit(runtime, hostile.url_for("/endless"), "direct",
                               {"output_dir": str(out), "max_filesize": 5 << 20})
    job = await asyncio.wait_for(runtime.jobs.wait(job.id), 60)
    assert job.state == JobState.FAILED
    assert job.error == (f"The file at {hostile.url_for('/endless')[len('http://'):]} is "
                         "larger than the limit of 5 MiB (--max-filesize, or Settings).")
    assert list(out.iterdir()) == []  # no .part left behind
    assert hostile.sent["/endless"] < 64 << 20  # stopped near the limit, not at the cap


async def test_the_settings_limit_applies_when_the_job_sets_none(
        runtime, hostile: HostileServer, tmp_path: Path) -> None:
    runtime.settings.update(max_filesize=2 << 20)
    job = await sources.submit(runtime, hostile.url_for("/endless"), "direct",
                               {"output_dir": str(tmp_path)})
    job = await asyncio.wait_for(runtime.jobs.wait(job.id), 60)
    assert job.state == JobState.FAILED and "limit of 2 MiB" in job.error


async def test_a_trickle_is_cut_and_then_given_up(hostile: HostileServer,
                                                  tmp_path: Path) -> None:
    token = transfer_limits.current.set(TransferLimits(min_speed=1024, speed_time=0.5))
    try:
        async with net.make_client() as client:
            with pytest.raises(net.NetError, match=r"crawled along at under 1 KiB/s for 0\.5 s"):
                await net.download(client, hostile.url_for("/trickle"), tmp_path / "t.mp3",
                                   policy=RetryPolicy(attempts=3, base_delay=0.01))
    finally:
        transfer_limits.current.reset(token)
    assert hostile.hits["/trickle"] == 3  # retried like a cut, then given up
    assert not (tmp_path / "t.mp3").exists()


async def test_a_file_that_cannot_fit_on_the_disk_is_refused_before_it_starts(
        hostile: HostileServer, tmp_path: Path) -> None:
    token = transfer_limits.current.set(TransferLimits(max_file_bytes=None))
    try:
        async with net.make_client() as client:
            with pytest.raises(net.DiskError, match="There is not enough free space in"):
                await net.download(client, hostile.url_for("/huge"), tmp_path / "h.mp3")
    finally:
        transfer_limits.current.reset(token)


def test_the_cli_takes_max_filesize(tmp_path: Path, hostile: HostileServer) -> None:
    from tests.test_cli import run_cli

    bad = run_cli("get", hostile.url_for("/endless"), "--max-filesize", "lots",
                  home=tmp_path / "home")
    assert bad.returncode == 2 and "--max-filesize: “lots” is not a size" in bad.stderr
    result = run_cli("get", hostile.url_for("/endless"), "--max-filesize", "1M", "-o",
                     str(tmp_path / "out"), home=tmp_path / "home")
    assert result.returncode == 1 and "larger than the limit of 1 MiB" in result.stderr
    assert "Traceback" not in result.stderr
