"""core.ffmpeg against the real FFmpeg binary that imageio-ffmpeg ships; no mocks."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import sys
import time
from pathlib import Path

import imageio_ffmpeg
import pytest

from audiofetch_app.core.ffmpeg import (
    FFmpegError,
    FFmpegNotFound,
    explain_failure,
    ffmpeg_version,
    find_ffmpeg,
    probe_duration,
    run_ffmpeg,
)

REAL_FFMPEG = os.environ.get("IMAGEIO_FFMPEG_EXE") or imageio_ffmpeg.get_ffmpeg_exe()


@pytest.fixture(autouse=True)
def _fresh_lookup(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("IMAGEIO_FFMPEG_EXE", raising=False)
    find_ffmpeg.cache_clear()
    yield
    find_ffmpeg.cache_clear()


def test_env_var_pointing_at_real_binary_wins(monkeypatch, tmp_path):
    link = tmp_path / "my-ffmpeg"
    link.symlink_to(REAL_FFMPEG)
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", str(link))
    assert find_ffmpeg() == str(link)
    assert ffmpeg_version()


def test_env_var_pointing_at_missing_file_names_it(monkeypatch, tmp_path):
    missing = tmp_path / "nowhere" / "ffmpeg"
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", str(missing))
    with pytest.raises(FFmpegNotFound) as info:
        find_ffmpeg()
    assert str(missing) in str(info.value)
    assert "\n" not in str(info.value)


def test_without_env_var_finds_imageio_binary():
    found = find_ffmpeg()
    assert found == imageio_ffmpeg.get_ffmpeg_exe()
    assert os.access(found, os.X_OK)
    assert find_ffmpeg() is found  # cached


async def test_generates_sine_with_progress(tmp_path):
    out = tmp_path / "tone.m4a"
    seen: list[tuple[float, float | None]] = []
    await run_ffmpeg(
        ["-f", "lavfi", "-i", "sine=frequency=440:duration=3", "-c:a", "aac", str(out)],
        duration=3.0, on_progress=lambda done, total: seen.append((done, total)),
    )
    assert out.is_file() and out.stat().st_size > 1000
    assert seen, "no progress reported"
    assert all(total == 3.0 for _, total in seen)
    done = [d for d, _ in seen]
    assert done == sorted(done)
    assert 2.8 <= done[-1] <= 3.2


async def test_corrupt_input_gives_one_readable_sentence(tmp_path, caplog):
    bad = tmp_path / "broken.aac"
    bad.write_bytes(random.Random(1).randbytes(4096))
    caplog.set_level(logging.WARNING, logger="audiofetch_app.core.ffmpeg")
    with pytest.raises(FFmpegError) as info:
        await run_ffmpeg(["-i", str(bad), str(tmp_path / "out.m4a")])
    message = str(info.value)
    assert message.startswith("FFmpeg could not process the audio: ")
    assert message.endswith(".") and "\n" not in message and len(message) < 200
    assert info.value.stderr_tail
    assert any("exited with code" in r.getMessage() for r in caplog.records)


def test_explain_failure_picks_the_telling_line():
    lines = [
        "[in#0 @ 0x5] Format mp3 detected only with low score of 1, misdetection possible!",
        "[in#0 @ 0x5] Error opening input: Invalid data found when processing input",
        "Error opening input file e.mp3.",
        "Error opening input files: Invalid data found when processing input",
    ]
    assert explain_failure(lines, 1) == (
        "FFmpeg could not process the audio: Invalid data found when processing input."
    )
    assert explain_failure([
        "[aost#0:0 @ 0x5] Unknown encoder 'nosuchcodec'",
        "[aost#0:0 @ 0x5] Error selecting an encoder",
        "Error opening output files: Encoder not found",
    ]) == "FFmpeg could not process the audio: Unknown encoder 'nosuchcodec'."
    assert explain_failure([], 3) == "FFmpeg stopped with exit code 3."


def _ffmpeg_children(marker: str) -> list[int]:
    """Pids of this process's children whose command line contains `marker`."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == os.getpid() and marker in cmdline:
            pids.append(int(entry.name))
    return pids


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inspects /proc")
async def test_cancel_stops_ffmpeg_promptly_and_reaps_it():
    marker = "sine=frequency=441:duration=600"
    task = asyncio.create_task(run_ffmpeg(["-re", "-f", "lavfi", "-i", marker, "-f", "null", "-"]))
    deadline = time.monotonic() + 10
    pids: list[int] = []
    while not pids and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        pids = _ffmpeg_children(marker)
    assert len(pids) == 1, "ffmpeg did not start"
    await asyncio.sleep(0.5)
    assert not task.done()

    started = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - started < 3.0
    # Reaped, not a zombie: the pid is gone from /proc entirely.
    assert not Path(f"/proc/{pids[0]}").exists()
    assert _ffmpeg_children(marker) == []


async def test_probe_duration_of_generated_file(tmp_path):
    out = tmp_path / "sine.m4a"
    await run_ffmpeg(["-f", "lavfi", "-i", "sine=frequency=440:duration=3", str(out)])
    duration = await probe_duration(out)
    assert duration is not None and abs(duration - 3.0) < 0.1


async def test_probe_duration_of_non_media_is_none(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not audio")
    assert await probe_duration(text) is None
