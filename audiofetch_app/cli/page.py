"""`audiofetch page`: list (--list) or download every track a web page offers."""

from __future__ import annotations

import argparse
import sys

from audiofetch_app.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, follow_job, open_runtime_or_say_why
from audiofetch_app.core import net
from audiofetch_app.core.job_context import JobError


async def list_tracks(url: str, plugin: str | None, cookies_file: str | None) -> int:
    from audiofetch_app.sources.page.finder import find_tracks

    cookies = net.load_cookies_txt(cookies_file) if cookies_file else None
    try:
        async with net.make_client(referer=url, cookies=cookies) as client:
            found = await find_tracks(client, url, plugin)
    except (JobError, net.NetError) as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_FAILED
    print(f"{found.title}: {len(found.tracks)} track{'s' if len(found.tracks) != 1 else ''}")
    for n, track in enumerate(found.tracks, start=1):
        print(f"{n:>3}  {track.family:<12} {track.title or '-'}\n     {track.url}")
    return EXIT_OK


async def page_command(args: argparse.Namespace) -> int:
    from audiofetch_app.sources.direct import check_url
    from audiofetch_app.sources.page.finder import check_plugin
    from audiofetch_app.sources.page.source import KIND

    try:
        url = check_url(args.url)
    except JobError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    try:
        check_plugin(args.plugin)
    except JobError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    if args.workers is not None and not 1 <= args.workers <= 20:
        print("--workers must be between 1 and 20.", file=sys.stderr)
        return EXIT_USAGE
    cookies_file = str(args.cookies.expanduser().resolve()) if args.cookies else None
    if args.list:
        return await list_tracks(url, args.plugin, cookies_file)
    runtime = await open_runtime_or_say_why()
    if runtime is None:
        return EXIT_FAILED
    try:
        options = {key: value for key, value in {
            "output_dir": str(args.output.expanduser().resolve()) if args.output else None,
            "name": args.name, "plugin": args.plugin, "workers": args.workers,
            "zip": args.zip, "cookies_file": cookies_file,
        }.items() if value is not None}
        job = await runtime.jobs.submit(KIND, url, options, title=args.name or "")
        code = await follow_job(runtime, job.id)
        failed = (runtime.jobs.get(job.id).detail or {}).get("failed") or []
        for item in failed:
            print(f"  failed: {item['name']}: {item['error']}", file=sys.stderr)
        if code != EXIT_OK and runtime.jobs.get(job.id).output_path and failed:
            print(f"Saved what could be saved in {runtime.jobs.get(job.id).output_path}",
                  file=sys.stderr)
        return code
    finally:
        await runtime.close()
