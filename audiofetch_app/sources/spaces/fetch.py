"""Plain Space chunks, fetched in parallel, each reported the moment it is on disk."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

import httpx

from audiofetch_app.core import hls, net, transfer_limits
from audiofetch_app.core.tasks import run_workers
from audiofetch_app.sources.spaces.chunk_writer import ChunkWriter

CHUNK_LIMIT = 16 * 1024 * 1024  # a 3 s chunk is tens of KB; anything near this is not one

# (sequence, file, its bytes or None when only the file has them)
ChunkDone = Callable[[int, Path, bytes | None], None]


def chunk_path(workdir: Path, segment: hls.Segment) -> Path:
    """Where a chunk is kept: the name core.hls uses, so every resumed job finds its chunks."""
    return workdir / f"seg{segment.index:06d}{hls.segment_suffix(segment.url)}"


def is_plain(playlist: hls.MediaPlaylist) -> bool:
    """No key, byte range or map: each chunk is one whole GET (every X Space so far)."""
    return all(s.key_url is None and s.byterange is None and s.init is None
               for s in playlist.segments)


def _files_in(workdir: Path) -> set[str]:
    workdir.mkdir(parents=True, exist_ok=True)
    with os.scandir(workdir) as entries:
        return {entry.name for entry in entries}


async def fetch_chunks(http: httpx.AsyncClient, segments: list[hls.Segment], workdir: Path, *,
                       workers: int, on_bytes: Callable[[int], None], on_chunk: ChunkDone
                       ) -> None:
    """Fetch each segment into workdir (reusing files already there), calling `on_chunk` as
    each one is on disk. One GET per chunk into memory: a chunk is small, and the bytes are
    handed on so the mux need not read them back. A fetch goes on to its next chunk while a
    thread of its own writes the files (see chunk_writer). Errors: net.NetError of a fetch,
    OSError of a write; after an error or a cancel, every chunk fetched is still written and
    reported."""
    have = await asyncio.to_thread(_files_in, workdir)  # one listing, not a stat per chunk
    largest = transfer_limits.current.get().max_file_bytes
    limit = min(CHUNK_LIMIT, largest) if largest else CHUNK_LIMIT
    pending = iter(segments)  # shared: each worker takes the next chunk
    writer = ChunkWriter(on_chunk)

    async def worker() -> None:
        # A connection of its own per worker: httpcore's pool checks every pooled connection
        # (a getpeername and a poll each) for every request, which costs more CPU than the
        # request itself with 16 connections in one pool.
        async with net.make_client(headers=dict(http.headers), cookies=http.cookies,
                                   max_connections=1) as own:
            await work(own)

    async def work(client: httpx.AsyncClient) -> None:
        for segment in pending:
            path = chunk_path(workdir, segment)
            if path.name in have:
                on_chunk(segment.index, path, None)
                continue
            data = await net.fetch_bytes(client, segment.url, max_bytes=limit)
            on_bytes(len(data))
            await writer.put(segment.index, path, data)

    writer.start()
    try:
        await run_workers(worker, min(workers, len(segments)))
    except BaseException:
        await writer.close(quiet=True)
        raise
    await writer.close()
