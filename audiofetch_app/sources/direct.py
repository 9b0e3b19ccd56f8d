"""Direct links: a URL that points straight at an audio file or an HLS audio playlist."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from audiofetch_app.core import ffmpeg, hls, net, registry
from audiofetch_app.core.job_context import JobContext, JobError
from audiofetch_app.core.naming import render_template, safe_filename, unique_path
from audiofetch_app.core.registry import JobOptions, Link
from audiofetch_app.core.urls import (
    HLS_TYPES,
    check_url,
    extension_for,
    is_web_url,
    title_from_url,
    url_extension,
)

KIND = "direct"


@dataclass
class DirectOptions(JobOptions):
    """Options of a direct download."""

    name: str | None = None  # the file name, without extension
    format: str | None = None  # m4a or mp3, for HLS audio
    referer: str | None = None  # the Referer header some servers require
    workers: int | None = None  # parallel segment downloads for HLS
    max_bytes: int | None = None  # refuse a body larger than this
    hls: bool | None = None  # treat the URL as an HLS playlist whatever it looks like

    LIMITS: ClassVar[dict[str, tuple[int, int]]] = {"workers": (1, 64), "max_bytes": (1, 1 << 50)}
    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {"format": ("m4a", "mp3")}


def matches(url: str) -> bool:
    """Claims links whose path ends in an audio extension, and HLS playlists."""
    return is_web_url(url) and (url_extension(url) is not None or hls.is_hls_url(url))


def link(url: str) -> Link:
    """Any http(s) URL can be fetched directly; its canonical form is itself, trimmed."""
    url = check_url(url)
    return Link(KIND, url, url)


def _target(ctx: JobContext, title: str, ext: str) -> Path:
    """The job's output path: reused on resume so an existing .part continues."""
    if ctx.job.output_path:
        return Path(ctx.job.output_path)
    template = ctx.settings.direct_template or "{title}.{ext}"
    name = DirectOptions.from_dict(ctx.options, strict=False).name
    fields = {"title": safe_filename(name or title), "ext": ext}
    relative = render_template(template, fields, ext=ext)
    return unique_path(ctx.output_dir / relative)


async def run(ctx: JobContext) -> None:
    url = check_url(ctx.job.url)
    options = DirectOptions.from_dict(ctx.options, strict=False)
    title = options.name or ctx.job.title or title_from_url(url)
    if not ctx.job.title:
        ctx.set_title(title)
    async with net.make_client(referer=options.referer) as client:
        if hls.is_hls_url(url) or options.hls:
            await _run_hls(ctx, client, url, title, options)
        else:
            await _run_file(ctx, client, url, title, options)


async def _run_file(ctx: JobContext, client: Any, url: str, title: str,
                    options: DirectOptions) -> None:
    ext = url_extension(url) or "mp3"
    dest = _target(ctx, title, ext)
    ctx.set_output(dest)
    ctx.track_partial(dest.with_name(dest.name + ".part"))
    result = await net.download(
        client, url, dest, expect="audio",
        on_progress=lambda done, total: ctx.progress(bytes_done=done, bytes_total=total),
        max_bytes=options.max_bytes,
    )
    if result.content_type and any(t in result.content_type.lower() for t in HLS_TYPES):
        dest.unlink(missing_ok=True)
        ctx.job.output_path = None
        await _run_hls(ctx, client, url, title, options)
        return
    real_ext = extension_for(result.content_type, ext)
    named = Path(safe_filename(result.filename)) if result.filename else None
    if named is not None and not options.name and named.stem:
        # The server's name for the file (Content-Disposition) beats one made from the URL.
        real_ext = url_extension(f"x{named.suffix}") or real_ext
        if ctx.job.title == title_from_url(url):
            ctx.set_title(named.stem)
        fields = {"title": named.stem, "ext": real_ext}
        template = ctx.settings.direct_template or "{title}.{ext}"
        renamed = unique_path(ctx.output_dir / render_template(template, fields, ext=real_ext))
        dest = dest.replace(renamed)
        ctx.set_output(dest)
    elif real_ext != ext and not url_extension(url):
        renamed = unique_path(dest.with_suffix("." + real_ext))
        dest = dest.replace(renamed)
        ctx.set_output(dest)
    await ffmpeg.ensure_whole(dest)
    ctx.progress(bytes_done=result.size, bytes_total=result.size, items_done=1, items_total=1,
                 force=True)
    ctx.add_file(dest)


async def _run_hls(ctx: JobContext, client: Any, url: str, title: str,
                   options: DirectOptions) -> None:
    fmt = options.format or ctx.settings.audio_format or "m4a"
    playlist = await hls.load_playlist(client, url)
    if not playlist.ended:
        raise JobError("This HLS stream is live; only finished recordings can be saved "
                       "from a direct link.")
    if not playlist.segments:
        raise JobError("The HLS playlist has no audio segments.")
    dest = _target(ctx, title, fmt)
    ctx.set_output(dest)
    workdir = dest.with_name(f".{dest.name}.segments")
    ctx.track_partial(workdir)
    ctx.track_partial(dest.with_name(dest.name + ".part"))
    total_segments = len(playlist.segments)
    ctx.progress(items_done=0, items_total=total_segments, force=True)
    workers = options.workers or ctx.settings.workers or 8
    paths = await hls.download_segments(
        client, playlist, workdir, workers=workers,
        on_bytes=ctx.add_bytes,
        on_segment=lambda n: ctx.progress(items_done=n),
    )
    local = hls.write_local_playlist(playlist, workdir, paths)
    await hls.mux(local, dest, fmt=fmt, metadata={"title": title},
                  duration=playlist.duration or None)
    shutil.rmtree(workdir, ignore_errors=True)
    ctx.untrack_partial(workdir)
    size = dest.stat().st_size
    ctx.progress(bytes_done=ctx.job.bytes_done, bytes_total=ctx.job.bytes_done,
                 items_done=total_segments, force=True)
    ctx.log.debug("Muxed %d segments into %s (%d bytes)", total_segments, dest, size)
    ctx.add_file(dest)


registry.register(registry.Source(
    KIND, "Direct link", run, matches=matches, link=link, priority=0, options=DirectOptions,
    title=lambda found: title_from_url(found.url)))
