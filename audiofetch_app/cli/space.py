"""`audiofetch space`: preview (--info) or download one X Space."""

from __future__ import annotations

import argparse
import sys

from audiofetch_app.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, follow_job, open_runtime_or_say_why
from audiofetch_app.core import net
from audiofetch_app.core.job_context import JobError


def print_preview(preview) -> None:
    meta = preview.meta
    started = f"{meta.started_at:%Y-%m-%d %H:%M} UTC" if meta.started_at else "—"
    duration = meta.duration
    lines = [
        ("Title", meta.display_title),
        ("Host", f"{meta.host_name} (@{meta.host_screen_name})"),
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


async def space_command(args: argparse.Namespace) -> int:
    from audiofetch_app.sources import spaces
    from audiofetch_app.sources.spaces.metadata import parse_space_id

    if not args.url and not args.playlist_url:
        print("Give a Space link, or --playlist-url with a Space playlist.", file=sys.stderr)
        return EXIT_USAGE
    try:
        space_url = f"https://x.com/i/spaces/{parse_space_id(args.url)}" if args.url else None
    except JobError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    cookies_file = str(args.cookies.expanduser().resolve()) if args.cookies else None
    runtime = await open_runtime_or_say_why()
    if runtime is None:
        return EXIT_FAILED
    try:
        if args.info:
            if not space_url:
                print("--info needs a Space link.", file=sys.stderr)
                return EXIT_USAGE
            try:
                found = await spaces.preview(
                    space_url, cookies_file=cookies_file, vault=runtime.vault,
                    query_id=runtime.settings.get().x_audiospace_query_id)
            except (JobError, net.NetError) as exc:
                print(str(exc), file=sys.stderr)
                return EXIT_FAILED
            print_preview(found)
            return EXIT_OK
        options = {key: value for key, value in {
            "output_dir": str(args.output.expanduser().resolve()) if args.output else None,
            "format": args.format, "workers": args.workers, "cookies_file": cookies_file,
            "playlist_url": args.playlist_url,
        }.items() if value is not None}
        job = await runtime.jobs.submit(spaces.KIND, space_url or args.playlist_url, options)
        return await follow_job(runtime, job.id)
    finally:
        await runtime.close()
