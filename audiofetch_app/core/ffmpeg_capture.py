"""Short FFmpeg runs whose whole output is wanted: a file's header, its tags, a cover."""

from __future__ import annotations

import asyncio

from audiofetch_app.core.ffmpeg import _spawn, _supervise, located


async def capture(args: list[str], *, seconds: float | None = None) -> tuple[int, str, str]:
    """Run the bundled FFmpeg (`-hide_banner -nostdin` first) on `args` and return its exit
    code, standard output and standard error as text. `seconds` bounds the run (TimeoutError);
    a failure or a cancel stops FFmpeg before it propagates. FFmpegNotFound or FFmpegError
    when it cannot be started. For short runs whose output is small (a header, tags)."""
    proc = await _spawn([await located(), "-hide_banner", "-nostdin", *args], None)

    async def talk() -> tuple[bytes, bytes]:
        async with asyncio.timeout(seconds):
            return await proc.communicate()

    talking = asyncio.ensure_future(talk())
    await _supervise(proc, talking)
    out, err = talking.result()
    return proc.returncode or 0, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
