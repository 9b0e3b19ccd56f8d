"""The Spaces job: link -> metadata -> stream -> chunks -> one tagged file."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from audiofetch_app.core import net
from audiofetch_app.core.job_context import JobContext, JobError
from audiofetch_app.core.naming import render_template, unique_path
from audiofetch_app.core.registry import JobOptions, Link, OptionError, Preview, Services
from audiofetch_app.core.urls import check_url
from audiofetch_app.sources.spaces.chunks import join_chunks
from audiofetch_app.sources.spaces.credentials import resolve as resolve_cookies
from audiofetch_app.sources.spaces.metadata import SpaceMetadata, parse_space_id, space_url
from audiofetch_app.sources.spaces.mux import fetch_cover, mux_space, tags_for
from audiofetch_app.sources.spaces.pipe_mux import PipeMux, StreamBroken
from audiofetch_app.sources.spaces.recorder import Recorder, Recording
from audiofetch_app.sources.spaces.x_api import JUST_ENDED, REFERER, XClient

log = logging.getLogger(__name__)

KIND = "space"
DEFAULT_TEMPLATE = "{host} - {title} ({date:%Y-%m-%d}).{ext}"
DEFAULT_QUERY_ID = "p8k4kaPusjNj85gj8w_YAQ"


def refusal(meta: SpaceMetadata) -> str | None:
    """Why this Space cannot be saved now, in one sentence; None when it can."""
    state = meta.state
    if state in ("NotStarted", "PrePublished"):
        when = meta.scheduled_start
        at = f" it is scheduled for {when:%Y-%m-%d %H:%M} UTC" if when else ""
        return f"This Space has not started yet;{at or ' try again once it is live'}."
    if state == "Canceled":
        return "This Space was cancelled by its host, so there is nothing to save."
    if state == "TimedOut":
        return "This Space timed out before it started, so there is nothing to save."
    if state == "Ended" and not meta.replay_available:
        return "This Space has ended and its host did not keep a replay."
    return None


@dataclass
class SpaceOptions(JobOptions):
    """Options of a Space download."""

    format: str | None = None  # m4a (stream copy) or mp3
    workers: int | None = None  # parallel chunk downloads
    cookies_file: str | None = None  # a Netscape cookies.txt with auth_token and ct0
    playlist_url: str | None = None  # record this Space playlist; no X lookup

    LIMITS: ClassVar[dict[str, tuple[int, int]]] = {"workers": (1, 64)}
    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {"format": ("m4a", "mp3")}

    def check(self) -> None:
        """As JobOptions.check, and a playlist link must be a web address (OptionError)."""
        super().check()
        if self.playlist_url is not None:
            try:
                check_url(self.playlist_url)
            except JobError as exc:
                raise OptionError(f"The Space playlist: {exc}") from None


def link(url: str) -> Link:
    """A Space link in any of its forms (or a bare id) as https://x.com/i/spaces/{id}."""
    space_id = parse_space_id(url)
    return Link(KIND, space_url(space_id), space_id)


@dataclass
class SpacePreview(Preview):
    meta: SpaceMetadata
    problem: str | None  # the refusal sentence, if any


async def preview(found: Link, options: SpaceOptions, services: Services | None = None
                  ) -> SpacePreview:
    """Everything shown before a download: title, host, state, dates, speakers, replay.

    X's cookies come from `options.cookies_file`, the environment or the vault (in that
    order); errors are JobError or NetError sentences."""
    cookies = resolve_cookies(options.cookies_file, services.vault if services else None)
    query_id = services.settings.get().x_audiospace_query_id if services else DEFAULT_QUERY_ID
    async with net.make_client(referer=REFERER) as http:
        meta = await XClient(http, cookies=cookies, query_id=query_id).space(found.id)
    return SpacePreview(found, meta.display_title, meta, refusal(meta))


def _target(ctx: JobContext, meta: SpaceMetadata | None, fmt: str) -> Path:
    if ctx.job.output_path and Path(ctx.job.output_path).suffix == f".{fmt}":
        return Path(ctx.job.output_path)
    template = ctx.settings.space_template or DEFAULT_TEMPLATE
    if meta is None:
        template = "{title}.{ext}"
    date = (meta.started_at or meta.scheduled_start) if meta else None
    fields = {
        "title": meta.display_title if meta else (ctx.job.title or "X Space"),
        "host": (meta.host_name or meta.host_screen_name) if meta else "",
        "screen_name": meta.host_screen_name if meta else "",
        "id": meta.space_id if meta else "",
        "date": date or datetime.now(UTC),
    }
    return unique_path(ctx.output_dir / render_template(template, fields, ext=fmt))


async def run(ctx: JobContext) -> None:
    opts = SpaceOptions.from_dict(ctx.options, strict=False)
    fmt = opts.format or ctx.settings.audio_format or "m4a"
    workers = opts.workers or ctx.settings.space_workers or 16
    query_id = ctx.settings.x_audiospace_query_id or DEFAULT_QUERY_ID
    remembered = ctx.job.detail
    async with net.make_client(referer=REFERER, max_connections=max(32, workers)) as http:
        meta: SpaceMetadata | None = None
        playlist_url = opts.playlist_url
        live = False
        if not playlist_url:
            space_id = parse_space_id(ctx.job.url)
            cookies = resolve_cookies(opts.cookies_file, ctx.secrets)
            client = XClient(http, cookies=cookies, query_id=query_id)
            try:
                meta = await client.space(space_id)
            except (JobError, net.NetError) as exc:
                if not remembered.get("playlist_url"):
                    raise
                ctx.log.info("Metadata unavailable (%s); using the remembered stream", exc)
                meta = (SpaceMetadata.from_dict(remembered["metadata"])
                        if remembered.get("metadata") else None)
                playlist_url = remembered["playlist_url"]
            else:
                problem = refusal(meta)
                if problem:
                    raise JobError(problem)
                ctx.set_title(meta.display_title)
                ctx.remember(metadata=meta.to_dict())
                just_ended = meta.ended_at is not None and (
                    datetime.now(UTC) - meta.ended_at).total_seconds() < JUST_ENDED
                stream = await client.stream(meta.media_key, just_ended=just_ended)
                playlist_url, live = stream.playlist_url, meta.state == "Running"
                ctx.remember(playlist_url=playlist_url)
        elif not ctx.job.title:
            ctx.set_title("X Space")
        dest = _target(ctx, meta, fmt)
        ctx.set_output(dest)
        workdir = ctx.track_partial(dest.with_name(f".{dest.name}.chunks"))
        ctx.track_partial(dest.with_name(dest.name + ".part"))
        workdir.mkdir(parents=True, exist_ok=True)
        # The cover and the tags are known now, so FFmpeg starts at once and takes each chunk
        # as soon as it and all before it are here: the file is ready soon after the last.
        cover = asyncio.create_task(fetch_cover(http, meta.host_avatar_url, workdir / "cover")
                                    if meta else _no_cover())
        mux = PipeMux(dest, fmt=fmt, tags=tags_for(meta, ctx.job.url), cover=cover)
        recorder = Recorder(
            http, workdir, workers=workers, on_bytes=ctx.add_bytes,
            on_chunks=lambda done, total: ctx.progress(items_done=done, items_total=total),
            on_plan=mux.plan, on_chunk=mux.arrived, on_status=ctx.set_status)
        mux.start()
        try:
            recording = await (recorder.live(playlist_url) if live
                               else recorder.replay(playlist_url))
            if not recording.chunks:
                raise JobError("Nothing was recorded from this Space.")
            # A live recording stopped by the user returns here too: what was recorded is kept.
            await _finish(ctx, recording, dest, fmt, meta, mux, cover)
        except BaseException:
            # Shielded: a second cancel must not leave FFmpeg running or a .part behind.
            await asyncio.shield(mux.abort())
            cover.cancel()
            with contextlib.suppress(BaseException):
                await cover
            raise


async def _no_cover() -> None:
    return None


async def _finish(ctx: JobContext, recording: Recording, dest: Path, fmt: str,
                  meta: SpaceMetadata | None, mux: PipeMux, cover: Any) -> None:
    workdir = recording.workdir
    try:
        await mux.finish({seq: path for seq, (path, _) in recording.chunks.items()})
    except StreamBroken as exc:
        # Rare (a chunk that came after later ones were sent, a damaged chunk, FFmpeg
        # stopping): join the chunks on disk and mux them, as before streaming.
        log.info("Streaming the mux gave up (%s); joining the chunks instead", exc)
        joined = workdir / "joined.aac"
        await asyncio.to_thread(join_chunks, recording.ordered(), joined)
        await mux_space(joined, dest, fmt=fmt, tags=tags_for(meta, ctx.job.url),
                        cover=await cover, duration=recording.duration or None)
    await asyncio.to_thread(shutil.rmtree, workdir, True)
    ctx.untrack_partial(workdir)
    ctx.progress(items_done=len(recording.chunks), items_total=len(recording.chunks),
                 bytes_total=ctx.job.bytes_done, force=True)
    ctx.add_file(dest)
