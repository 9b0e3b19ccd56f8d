"""`audiofetch page`: list (--list) or download every track a web page offers."""

from __future__ import annotations

import argparse
import sys

from audiofetch_app.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    cookies_file,
    download_target,
    follow_job,
    max_filesize,
    open_runtime_or_say_why,
    output_dir,
)
from audiofetch_app.core import net
from audiofetch_app.core.job_context import JobError
from audiofetch_app.core.urls import title_from_url


async def list_tracks(url: str, kind: str, options) -> int:
    from audiofetch_app import sources

    try:
        found = await sources.preview(None, url, kind, options)
    except (JobError, net.NetError) as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_FAILED
    tracks = getattr(found, "tracks", [])
    print(f"{found.title}: {len(tracks)} track{'s' if len(tracks) != 1 else ''}")
    for n, track in enumerate(tracks, start=1):
        title = track.title or title_from_url(track.url)  # as the tab and the file name
        print(f"{n:>3}  {track.family:<12} {title}\n     {track.url}")
    return EXIT_OK


async def page_command(args: argparse.Namespace) -> int:
    from audiofetch_app import sources

    try:
        raw = {"output_dir": output_dir(args), "target": download_target(args),
               "max_filesize": max_filesize(args),
               "name": args.name, "plugin": args.plugin,
               "workers": args.workers, "zip": args.zip, "cookies_file": cookies_file(args)}
        link = sources.recognise(args.url, sources.page.KIND)
        options = sources.options_for(link.kind, raw)
    except JobError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    if args.list:
        return await list_tracks(link.url, link.kind, options)
    runtime = await open_runtime_or_say_why()
    if runtime is None:
        return EXIT_FAILED
    try:
        job = await sources.submit(runtime, link.url, link.kind, options,
                                   title=args.name or "")
        code = await follow_job(runtime, job.id)
        job = runtime.jobs.get(job.id)
        failed = (job.detail or {}).get("failed") or []
        for item in failed:
            print(f"  failed: {item['name']}: {item['error']}", file=sys.stderr)
        if code != EXIT_OK and job.output_path and failed:
            print(f"Saved what could be saved in {job.output_path}", file=sys.stderr)
        return code
    finally:
        await runtime.close()
