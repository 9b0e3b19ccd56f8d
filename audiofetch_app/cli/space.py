"""`audiofetch space`: preview (--info) or download one X Space."""

from __future__ import annotations

import argparse
import sys

from audiofetch_app.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    close,
    cookies_file,
    download_target,
    follow_job,
    max_filesize,
    open_or_reach,
    output_dir,
    run_download,
)
from audiofetch_app.core import net
from audiofetch_app.core.job_context import JobError
from audiofetch_app.sources.runtime import Runtime


def print_preview(preview) -> None:
    meta = preview.meta
    started = f"{meta.started_at:%Y-%m-%d %H:%M} UTC" if meta.started_at else "—"
    duration = meta.duration
    lines = [
        ("Title", meta.display_title),
        ("Host", meta.host_label),
        ("Avatar", meta.host_avatar_url or "—"),
        ("State", meta.state),
        ("Started", started),
        ("Duration", _clock(duration) if duration is not None else "—"),
        ("Replay", "yes" if meta.replay_available else "no"),
        ("Speakers", ", ".join(f"{s.name} (@{s.screen_name})" for s in meta.speakers) or "—"),
    ]
    for label, value in lines:
        print(f"{label + ':':<10} {value}")
    if preview.problem:
        print(f"Note:      {preview.problem}")


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


REFUSED_HINT = "try again with --cookies FILE holding your X login (auth_token and ct0)."


async def space_command(args: argparse.Namespace) -> int:
    """Preview or download a Space; runs in the open app when there is one (--info there
    looks the Space up from here, without the app's Settings)."""
    from audiofetch_app import sources

    if not args.url and not args.playlist_url:
        print("Give a Space link, or --playlist-url with a Space playlist.", file=sys.stderr)
        return EXIT_USAGE
    if args.info and not args.url:
        print("--info needs a Space link.", file=sys.stderr)
        return EXIT_USAGE
    try:
        raw = {"output_dir": output_dir(args), "target": download_target(args),
               "max_filesize": max_filesize(args),
               "format": args.format, "workers": args.workers,
               "cookies_file": cookies_file(args), "playlist_url": args.playlist_url}
        kind = sources.spaces.KIND
        link = sources.recognise(args.url, kind) if args.url else None
        options = sources.options_for(kind, raw)
    except JobError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    where = await open_or_reach(args)
    if where is None:
        return EXIT_FAILED
    local = isinstance(where, Runtime)
    try:
        if args.info and link is not None:
            try:
                found = await sources.preview(where if local else None, link.url, link.kind,
                                              options)
            except (JobError, net.NetError) as exc:
                print(str(exc), file=sys.stderr)
                return EXIT_FAILED
            print_preview(found)
            return EXIT_OK
        if link is None:  # --playlist-url alone: no X lookup, the playlist is the job
            if not local:
                print("While AudioFetch is open, --playlist-url needs the Space link too "
                      "(or close the app and run this again).", file=sys.stderr)
                return EXIT_USAGE
            job = await where.jobs.submit(kind, args.playlist_url, options.to_dict())
            return await follow_job(where, job.id, REFUSED_HINT)
        code, _ = await run_download(where, link, options, refused_hint=REFUSED_HINT)
        return code
    finally:
        await close(where)
