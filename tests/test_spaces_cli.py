"""`audiofetch space` as a user runs it, against the fake X."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.fakes.space_audio import CHUNK_SECONDS
from tests.fakes.x_server import FakeSpace, FakeX
from tests.probe import decode_errors, ffprobe, tags

ROOT = Path(__file__).resolve().parents[1]


def space_cli(*args: str, home: Path, fake: FakeX, **env: str
              ) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("TWITTER_", "AUDIOFETCH_"))}
    full.update(AUDIOFETCH_HOME=str(home), AUDIOFETCH_X_API=fake.url, PYTHONPATH=str(ROOT), **env)
    return subprocess.run([sys.executable, "-m", "audiofetch_app", "space", *args], env=full,
                          capture_output=True, text=True, timeout=180)


def test_info_prints_the_preview(tmp_path: Path, fake_x: FakeX) -> None:
    fake_x.add_space(FakeSpace("1InfoAbcdEfgh", title="Town Hall", host_name="Cy Host",
                               host_screen_name="cyhost", chunks=4))
    result = space_cli(fake_x.space_url("1InfoAbcdEfgh") + "?s=20", "--info",
                       home=tmp_path, fake=fake_x)
    assert result.returncode == 0, result.stderr
    for words in ("Town Hall", "Cy Host (@cyhost)", "Ended", "Replay:    yes", "Ada Lovelace"):
        assert words in result.stdout
    assert not (tmp_path / "downloads").exists()


def test_download_with_cookies_file_prints_path_last(tmp_path: Path, fake_x: FakeX) -> None:
    fake_x.add_space(FakeSpace("1CliAbcdEfghi", title="Night Talk", host_name="Di Host",
                               chunks=8))
    cookies = tmp_path / "cookies.txt"
    cookies.write_text("# Netscape HTTP Cookie File\n"
                       ".x.com\tTRUE\t/\tTRUE\t2000000000\tauth_token\tgood-auth-token\n"
                       ".x.com\tTRUE\t/\tTRUE\t2000000000\tct0\tcsrf42\n")
    out = tmp_path / "out"
    result = space_cli(fake_x.space_url("1CliAbcdEfghi"), "-o", str(out), "--cookies",
                       str(cookies), "--workers", "4", home=tmp_path / "home", fake=fake_x)
    assert result.returncode == 0, result.stderr
    path = Path(result.stdout.strip().splitlines()[-1])
    assert path.parent == out and path.suffix == ".m4a" and "Night Talk" in path.name
    info = ffprobe(path)
    assert abs(float(info["format"]["duration"]) - fake_x.expected_duration(
        "1CliAbcdEfghi")) <= CHUNK_SECONDS
    assert tags(info)["artist"] == "Di Host" and decode_errors(path) == ""
    assert "good-auth-token" not in (tmp_path / "home" / "logs" / "audiofetch.log").read_text()


def test_refusal_exits_non_zero_with_a_sentence(tmp_path: Path, fake_x: FakeX) -> None:
    fake_x.add_space(FakeSpace("1NoRepAbcdEfg", replay=False))
    result = space_cli(fake_x.space_url("1NoRepAbcdEfg"), home=tmp_path, fake=fake_x)
    assert result.returncode == 1
    assert "did not keep a replay" in result.stderr and "Traceback" not in result.stderr


def test_bad_link_and_playlist_url(tmp_path: Path, fake_x: FakeX) -> None:
    bad = space_cli("https://x.com/someone/status/1", home=tmp_path, fake=fake_x)
    assert bad.returncode == 2 and "not an X Space link" in bad.stderr
    fake_x.add_space(FakeSpace("1PlAbcdEfghij", chunks=3))
    result = space_cli("--playlist-url", fake_x.playlist_url("1PlAbcdEfghij"), "--format",
                       "mp3", home=tmp_path, fake=fake_x)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].endswith(".mp3")
