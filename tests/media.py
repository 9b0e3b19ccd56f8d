"""Real audio made with the real FFmpeg, cached per session, for tests to serve."""

from __future__ import annotations

import subprocess
from pathlib import Path

from audiofetch_app.core.ffmpeg import find_ffmpeg


def make_tone(path: Path, seconds: float = 3.0, codec: str = "libmp3lame",
              fmt: str = "mp3") -> Path:
    subprocess.run(
        [find_ffmpeg(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
         f"sine=frequency=440:duration={seconds}", "-ar", "48000", "-c:a", codec,
         "-f", fmt, str(path)],
        check=True,
    )
    return path


def make_hls(folder: Path, seconds: float = 9.0, segment: float = 3.0,
             segment_type: str = "mpegts", key_url: str | None = None) -> Path:
    """An HLS VOD of AAC audio in `folder`: list.m3u8 plus its segments."""
    folder.mkdir(parents=True, exist_ok=True)
    ext = "ts" if segment_type == "mpegts" else "m4s"
    args = [find_ffmpeg(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
            f"sine=frequency=440:duration={seconds}", "-c:a", "aac", "-ar", "48000",
            "-f", "hls", "-hls_time", str(segment), "-hls_playlist_type", "vod",
            "-hls_segment_type", segment_type,
            "-hls_segment_filename", str(folder / f"seg%d.{ext}")]
    if segment_type == "fmp4":
        args += ["-hls_fmp4_init_filename", "init.mp4"]
    if key_url:  # AES-128: the key is served at key_url, as real encrypted streams do
        (folder / "audio.key").write_bytes(bytes(range(16)))
        info = folder / "keyinfo.txt"
        info.write_text(f"{key_url}\n{folder / 'audio.key'}\n")
        args += ["-hls_key_info_file", str(info)]
    subprocess.run([*args, str(folder / "list.m3u8")], check=True)
    return folder / "list.m3u8"


def serve_folder(server, folder: Path, prefix: str, content_types: dict[str, str]) -> None:
    for file in folder.iterdir():
        server.add(f"{prefix}/{file.name}", file.read_bytes(),
                   content_type=content_types.get(file.suffix, "application/octet-stream"))
