"""An HLS origin on the loopback FakeServer: playlists written line by line as a test spells
them, segment files served with Range (or without, like a careless CDN), and a helper that
saves a playlist through the real direct-link job (JobManager, TinyDB, FFmpeg)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tests.fakes.http_server import FakeServer

CONTENT_TYPES = {".m3u8": "application/vnd.apple.mpegurl", ".ts": "video/mp2t",
                 ".aac": "audio/aac", ".mp3": "audio/mpeg", ".m4s": "video/iso.segment",
                 ".mp4": "video/mp4", ".key": "application/octet-stream"}


class HlsOrigin:
    """Files under `prefix` on `server`; every method returns the absolute URL it serves."""

    def __init__(self, server: FakeServer, prefix: str = "/hls") -> None:
        self.server, self.prefix = server, prefix.rstrip("/")

    def path(self, name: str) -> str:
        return f"{self.prefix}/{name}"

    def url(self, name: str) -> str:
        return self.server.url_for(self.path(name))

    def put(self, name: str, body: bytes | str, **route: Any) -> str:
        """Serve `body` as `name`; `route` goes to FakeServer.add (range_support=False...)."""
        suffix = Path(name).suffix
        route.setdefault("content_type", CONTENT_TYPES.get(suffix, "application/octet-stream"))
        self.server.add(self.path(name), body, **route)
        return self.url(name)

    def put_file(self, path: Path, name: str | None = None, **route: Any) -> str:
        return self.put(name or path.name, path.read_bytes(), **route)

    def requests(self, name: str) -> list:
        """The requests the server saw for `name`, oldest first."""
        return self.server.requests_to(self.path(name))


def media_playlist(*body: str, sequence: int | None = None, target: int = 2,
                   playlist_type: str | None = "VOD", ended: bool = True,
                   version: int = 7) -> str:
    """A media playlist: the header, then `body` line by line, then EXT-X-ENDLIST if ended."""
    lines = ["#EXTM3U", f"#EXT-X-VERSION:{version}", f"#EXT-X-TARGETDURATION:{target}"]
    if sequence is not None:
        lines.append(f"#EXT-X-MEDIA-SEQUENCE:{sequence}")
    if playlist_type:
        lines.append(f"#EXT-X-PLAYLIST-TYPE:{playlist_type}")
    lines += body
    if ended:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def segment_lines(names: list[str], durations: list[float]) -> list[str]:
    """EXTINF + URI pairs."""
    lines: list[str] = []
    for name, seconds in zip(names, durations, strict=True):
        lines += [f"#EXTINF:{seconds:.6f},", name]
    return lines


async def save_direct(tmp_path: Path, url: str, name: str = "Saved", *,
                      fmt: str | None = None, timeout: float = 120.0):
    """Run a direct-link job for `url` to the end; returns the finished job record."""
    import audiofetch_app.sources  # noqa: F401 - registers the direct source
    from audiofetch_app.core.jobs import JobManager
    from audiofetch_app.core.store import Store

    manager = JobManager(Store(tmp_path / "db.json"), max_running=1,
                         default_output=tmp_path / "out")
    await manager.start()
    try:
        options: dict[str, Any] = {"name": name, "workers": 4}
        if fmt:
            options["format"] = fmt
        job = await manager.submit("direct", url, options)
        return await asyncio.wait_for(manager.wait(job.id), timeout)
    finally:
        await manager.close()
