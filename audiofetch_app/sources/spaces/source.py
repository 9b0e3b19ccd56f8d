"""The Spaces job: link -> metadata -> stream -> chunks -> one tagged file."""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from audiofetch_app.core import net
from audiofetch_app.core.job_context import JobContext, JobError
from audiofetch_app.core.naming import render_template, unique_path
from audiofetch_app.sources.spaces import credentials
from audiofetch_app.sources.spaces.chunks import join_chunks
from audiofetch_app.sources.spaces.metadata import SpaceMetadata, parse_space_id
from audiofetch_app.sources.spaces.mux import fetch_cover, mux_space, tags_for
from audiofetch_app.sources.spaces.recorder import Recorder
from audiofetch_app.sources.spaces.x_api import REFERER, XClient

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
class Preview:
    meta: SpaceMetadata
    problem: str | None  # the refusal sentence, if any


async def preview(url: str, *, cookies_file: str | None = None, vault: Any = None,
                  query_id: str = DEFAULT_QUERY_ID) -> Preview:
    """Everything shown before a download: title, host, state, dates, speakers, replay."""
    space_id = parse_space_id(url)
    cookies = credentials.resolve(cookies_file, vault)
    async with net.make_client(referer=REFERER) as http:
        meta = await XClient(http, cookies=cookies, query_id=query_id).space(space_id)
    return Preview(meta, refusal(meta))


def _target(ctx: JobContext, meta: SpaceMetadata | None, fmt: str) -> Path:
    if ctx.job.output_path and Path(ctx.job.output_path).suffix == f".{fmt}":
        return Path(ctx.job.output_path)
    template = getattr(ctx.settings, "space_template", None) or DEFAULT_TEMPLATE
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
    opts = ctx.options
    fmt = opts.get("format") or getattr(ctx.settings, "audio_format", "m4a") or "m4a"
    workers = int(opts.get("workers") or getattr(ctx.settings, "space_workers", 16) or 16)
    query_id = getattr(ctx.settings, "x_audiospace_query_id", None) or DEFAULT_QUERY_ID
    remembered = ctx.job.detail
    async with net.make_client(referer=REFERER, max_connections=max(32, workers)) as http:
        meta: SpaceMetadata | None = None
        playlist_url = opts.get("playlist_url")
        live = False
        if not playlist_url:
            space_id = parse_space_id(ctx.job.url)
            cookies = credentials.resolve(opts.get("cookies_file"), ctx.secrets)
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
                stream = await client.stream(meta.media_key)
                playlist_url, live = stream.playlist_url, meta.state == "Running"
                ctx.remember(playlist_url=playlist_url)
        elif not ctx.job.title:
            ctx.set_title("X Space")
        dest = _target(ctx, meta, fmt)
        ctx.set_output(dest)
        workdir = ctx.track_partial(dest.with_name(f".{dest.name}.chunks"))
        ctx.track_partial(dest.with_name(dest.name + ".part"))
        recorder = Recorder(
            http, workdir, workers=workers, on_bytes=ctx.add_bytes,
            on_chunks=lambda done, total: ctx.progress(items_done=done, items_total=total))
        recording = await (recorder.live(playlist_url) if live
                           else recorder.replay(playlist_url))
        if not recording.chunks:
            raise JobError("Nothing was recorded from this Space.")
        # A live recording stopped by the user returns here too: what was recorded is kept.
        await _finish(ctx, http, recording, dest, fmt, meta)


async def _finish(ctx: JobContext, http: Any, recording: Any, dest: Path, fmt: str,
                  meta: SpaceMetadata | None) -> None:
    workdir = recording.workdir
    joined = workdir / "joined.aac"
    await asyncio.to_thread(join_chunks, recording.ordered(), joined)
    cover = await fetch_cover(http, meta.host_avatar_url, workdir / "cover") if meta else None
    await mux_space(joined, dest, fmt=fmt, tags=tags_for(meta, ctx.job.url), cover=cover,
                    duration=recording.duration or None)
    await asyncio.to_thread(shutil.rmtree, workdir, True)
    ctx.untrack_partial(workdir)
    ctx.progress(items_done=len(recording.chunks), items_total=len(recording.chunks),
                 bytes_total=ctx.job.bytes_done, force=True)
    ctx.add_file(dest)
