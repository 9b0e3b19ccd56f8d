"""Fetch a Space's chunks: a replay in one parallel sweep, a live Space from its start on.

Chunk files are named by their sequence number, so the replay part and the live part meet
without a gap or a repeat, and a resumed job reuses what it already has.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx

from audiofetch_app.core import hls, net
from audiofetch_app.core.job_context import JobError
from audiofetch_app.sources.spaces.chunks import chunk_sequence
from audiofetch_app.sources.spaces.fetch import ChunkDone, fetch_chunks, is_plain
from audiofetch_app.sources.spaces.x_api import GONE_WAITS

log = logging.getLogger(__name__)
T = TypeVar("T")

LIVE_POLL_MIN, LIVE_POLL_MAX = 0.2, 3.0


async def patiently(load: Callable[[], Awaitable[T]], what: str,
                    say: Callable[[str], None] | None = None) -> T:
    """`load()`, tried again over GONE_WAITS while X answers 404 or 410 (a Space that has just
    ended); the last HTTPStatusError when it never appears. `say(sentence)` tells the job's
    status while it waits ("" once it is over), so a minute of waiting is never silent."""
    try:
        for wait in (*GONE_WAITS, None):
            try:
                return await load()
            except net.HTTPStatusError as exc:
                if exc.status not in (404, 410) or wait is None:
                    raise
                log.info("%s answered %d; trying again in %.1f s", what, exc.status, wait)
                if say:
                    say(f"{what} is not there yet (X answered {exc.status}); trying again "
                        f"in {wait:g} s.")
                await asyncio.sleep(wait)
        raise AssertionError("unreachable")
    finally:
        if say:
            say("")


@dataclass
class Recording:
    """Sequence number -> (chunk file, seconds). Ordered by sequence when joined."""

    workdir: Path
    chunks: dict[int, tuple[Path, float]] = field(default_factory=dict)

    @property
    def duration(self) -> float:
        return sum(seconds for _, seconds in self.chunks.values())

    def ordered(self) -> list[Path]:
        return [self.chunks[seq][0] for seq in sorted(self.chunks)]

    @property
    def last_sequence(self) -> int:
        return max(self.chunks, default=-1)


def replay_url_for(live_url: str) -> str:
    """The from-the-start playlist of a running Space, derived from its live playlist URL."""
    return (live_url.replace("dynamic_playlist.m3u8", "master_playlist.m3u8")
            .replace("type=live", "type=replay"))


def _sequenced(playlist: hls.MediaPlaylist) -> hls.MediaPlaylist:
    """Give each segment its chunk sequence number as its index (file names follow it)."""
    for position, segment in enumerate(playlist.segments):
        seq = chunk_sequence(segment.url)
        segment.index = seq if seq is not None else playlist.media_sequence + position
    return playlist


class Recorder:
    """`on_plan(sequences)` hears which chunks a sweep is about to fetch, `on_chunk(seq, path,
    bytes or None)` each one as it lands (what a mux fed while recording needs)."""

    def __init__(self, http: httpx.AsyncClient, workdir: Path, *, workers: int,
                 on_bytes: Callable[[int], None], on_chunks: Callable[[int, int | None], None],
                 on_plan: Callable[[list[int]], None] | None = None,
                 on_chunk: ChunkDone | None = None,
                 on_status: Callable[[str], None] | None = None) -> None:
        self.http = http
        self.recording = Recording(workdir)
        self.workers = workers
        self.on_bytes = on_bytes
        self.on_chunks = on_chunks
        self.on_plan = on_plan
        self.on_chunk = on_chunk
        self.on_status = on_status

    async def _load(self, url: str) -> hls.MediaPlaylist:
        try:
            return _sequenced(await hls.load_playlist(self.http, url))
        except net.HTTPStatusError as exc:
            if exc.status == 403:
                raise JobError("X's audio server refused the download (403); the link may "
                               "have expired: start the download again from the Space link.") \
                    from exc
            raise

    async def _fetch(self, playlist: hls.MediaPlaylist, total: int | None) -> None:
        """Download the segments of `playlist` not yet recorded."""
        have = self.recording.chunks
        playlist.segments = [s for s in playlist.segments if s.index not in have]
        if not playlist.segments:
            return
        if self.on_plan:
            self.on_plan([s.index for s in playlist.segments])
        if is_plain(playlist):
            seconds = {s.index: s.duration for s in playlist.segments}

            def landed(seq: int, path: Path, data: bytes | None) -> None:
                # Recorded the moment it lands: a stop mid-sweep keeps every finished chunk.
                have[seq] = (path, seconds[seq])
                self.on_chunks(len(have), total)
                if self.on_chunk:
                    self.on_chunk(seq, path, data)

            try:
                await fetch_chunks(self.http, playlist.segments, self.recording.workdir,
                                   workers=self.workers, on_bytes=self.on_bytes,
                                   on_chunk=landed)
            except asyncio.CancelledError:
                self._keep_unbroken(sorted(seconds))
                raise
            return
        done_before = len(have)  # keys, byte ranges or maps: core.hls knows them all
        paths = await hls.download_segments(
            self.http, playlist, self.recording.workdir, workers=self.workers,
            on_bytes=self.on_bytes,
            on_segment=lambda n: self.on_chunks(done_before + n, total))
        for segment, path in zip(playlist.segments, paths, strict=True):
            have[segment.index] = (path, segment.duration)
            if self.on_chunk:
                self.on_chunk(segment.index, path, None)

    def _keep_unbroken(self, planned: list[int]) -> None:
        """A sweep stopped midway: keep its chunks up to the first missing one, so a stopped
        recording has no hole in it."""
        have = self.recording.chunks
        missing = next((seq for seq in planned if seq not in have), None)
        if missing is not None:
            for seq in planned:
                if seq > missing:
                    have.pop(seq, None)

    async def replay(self, url: str) -> Recording:
        playlist = await patiently(lambda: self._load(url), "The replay playlist",
                                   self.on_status)
        if not playlist.segments:
            raise JobError("The Space's recording has no audio in it.")
        total = len(playlist.segments)
        self.on_chunks(len(self.recording.chunks), total)
        await self._fetch(playlist, total)
        return self.recording

    async def live(self, live_url: str) -> Recording:
        """Record from the start, then follow the live playlist until the Space ends, and
        then take every chunk after the last one recorded from the replay playlist (the live
        playlist can vanish before the last chunks were polled).

        Cancelling stops the network work and keeps what was recorded.
        """
        replay_url = replay_url_for(live_url)
        try:
            await self._fetch(await self._load(replay_url), None)
            while True:
                try:
                    playlist = await self._load(live_url)
                except net.HTTPStatusError as exc:
                    if exc.status in (404, 410) and self.recording.chunks:
                        break  # the live playlist is gone: the Space ended
                    raise
                first = min((s.index for s in playlist.segments), default=None)
                if first is not None and first > self.recording.last_sequence + 1 \
                        and self.recording.chunks:
                    # The live window moved past us: fill the gap from the replay playlist.
                    await self._fetch(await self._load(replay_url), None)
                fresh = [s for s in playlist.segments if s.index > self.recording.last_sequence]
                playlist.segments = fresh
                await self._fetch(playlist, None)
                if playlist.ended:
                    break
                wait = (playlist.target_duration or 3.0) / 2
                await asyncio.sleep(min(LIVE_POLL_MAX, max(LIVE_POLL_MIN, wait)))
            await self._last_chunks(replay_url)
        except asyncio.CancelledError:
            log.info("Live recording stopped by the user after %d chunks",
                     len(self.recording.chunks))
        return self.recording

    async def _last_chunks(self, replay_url: str) -> None:
        """After the end: every chunk of the replay playlist not recorded yet."""
        try:
            final = await patiently(lambda: self._load(replay_url), "The replay playlist",
                                    self.on_status)
        except (net.NetError, JobError) as exc:
            log.warning("The Space ended; its replay playlist could not be read to check for "
                        "chunks after the last one recorded: %s", exc)
            return
        await self._fetch(final, None)
