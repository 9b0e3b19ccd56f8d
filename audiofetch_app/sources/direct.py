"""Direct links: a URL that points straight at an audio file or an HLS audio playlist."""

from __future__ import annotations

import mimetypes
import re
import shutil
from pathlib import Path
from urllib.parse import unquote, urlsplit

from audiofetch_app.core import hls, net, registry
from audiofetch_app.core.job_context import JobContext, JobError
from audiofetch_app.core.naming import render_template, safe_filename, unique_path

KIND = "direct"
AUDIO_EXTENSIONS = {
    ".mp3": "mp3", ".m4a": "m4a", ".aac": "aac", ".ogg": "ogg", ".oga": "ogg",
    ".opus": "opus", ".webm": "webm", ".weba": "webm", ".wav": "wav", ".flac": "flac",
    ".m4b": "m4b", ".mp4a": "m4a",
}
CONTENT_TYPE_EXT = {
    "audio/mpeg": "mp3", "audio/mp3": "mp3", "audio/mp4": "m4a", "audio/x-m4a": "m4a",
    "audio/m4a": "m4a", "audio/aac": "aac", "audio/aacp": "aac", "audio/ogg": "ogg",
    "audio/opus": "opus", "audio/webm": "webm", "audio/wav": "wav", "audio/x-wav": "wav",
    "audio/wave": "wav", "audio/flac": "flac", "audio/x-flac": "flac",
}
HLS_TYPES = ("application/vnd.apple.mpegurl", "application/x-mpegurl", "audio/mpegurl",
             "audio/x-mpegurl")


def check_url(url: str) -> str:
    """Refuse what cannot be a web download, in words a person understands."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise JobError("Only http:// and https:// links can be downloaded.")
    if not parts.netloc:
        raise JobError(f"{url!r} is not a complete web address.")
    return url


def url_extension(url: str) -> str | None:
    return AUDIO_EXTENSIONS.get(Path(urlsplit(url).path).suffix.lower())


def matches(url: str) -> bool:
    return urlsplit(url.strip()).scheme in ("http", "https") and (
        url_extension(url) is not None or hls.is_hls_url(url))


def title_from_url(url: str) -> str:
    name = unquote(Path(urlsplit(url).path).name)
    stem = Path(name).stem if Path(name).suffix else name
    return re.sub(r"[_+]+", " ", stem).strip() or urlsplit(url).netloc


def extension_for(content_type: str | None, fallback: str) -> str:
    mime = (content_type or "").split(";")[0].strip().lower()
    if mime in CONTENT_TYPE_EXT:
        return CONTENT_TYPE_EXT[mime]
    guessed = mimetypes.guess_extension(mime) if mime.startswith("audio/") else None
    return guessed.lstrip(".") if guessed else fallback


def _target(ctx: JobContext, title: str, ext: str) -> Path:
    """The job's output path: reused on resume so an existing .part continues."""
    if ctx.job.output_path:
        return Path(ctx.job.output_path)
    template = getattr(ctx.settings, "direct_template", None) or "{title}.{ext}"
    name = ctx.options.get("name")
    fields = {"title": safe_filename(name or title), "ext": ext}
    relative = render_template(template, fields, ext=ext)
    return unique_path(ctx.output_dir / relative)


async def run(ctx: JobContext) -> None:
    url = check_url(ctx.job.url)
    title = ctx.options.get("name") or ctx.job.title or title_from_url(url)
    if not ctx.job.title:
        ctx.set_title(title)
    async with net.make_client(referer=ctx.options.get("referer")) as client:
        if hls.is_hls_url(url) or ctx.options.get("hls"):
            await _run_hls(ctx, client, url, title)
        else:
            await _run_file(ctx, client, url, title)


async def _run_file(ctx: JobContext, client: object, url: str, title: str) -> None:
    ext = url_extension(url) or "mp3"
    dest = _target(ctx, title, ext)
    ctx.set_output(dest)
    ctx.track_partial(dest.with_name(dest.name + ".part"))
    result = await net.download(
        client, url, dest, expect="audio",
        on_progress=lambda done, total: ctx.progress(bytes_done=done, bytes_total=total),
        max_bytes=ctx.options.get("max_bytes"),
    )
    if result.content_type and any(t in result.content_type.lower() for t in HLS_TYPES):
        dest.unlink(missing_ok=True)
        ctx.job.output_path = None
        await _run_hls(ctx, client, url, title)
        return
    real_ext = extension_for(result.content_type, ext)
    if real_ext != ext and not url_extension(url):
        renamed = unique_path(dest.with_suffix("." + real_ext))
        dest = dest.replace(renamed)
        ctx.set_output(dest)
    ctx.progress(bytes_done=result.size, bytes_total=result.size, items_done=1, items_total=1,
                 force=True)
    ctx.add_file(dest)


async def _run_hls(ctx: JobContext, client: object, url: str, title: str) -> None:
    fmt = ctx.options.get("format") or getattr(ctx.settings, "audio_format", "m4a") or "m4a"
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
    workers = int(ctx.options.get("workers") or getattr(ctx.settings, "workers", 8) or 8)
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


registry.register(registry.Source(KIND, "Direct link", run, matches=matches, priority=0))
