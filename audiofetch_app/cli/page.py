"""`audiofetch page`: list (--list) or download every track a web page offers."""

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
    max_filesize,
    open_or_reach,
    output_dir,
    run_download,
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
    if getattr(found, "note", ""):
        print(found.note, file=sys.stderr)
    return EXIT_OK


def track_numbers(text: str, count: int) -> list[int]:
    """`1,3-5` as [1, 3, 4, 5] (page order, each once), for a page of `count` tracks;
    JobError with one sentence for anything else."""
    chosen: set[int] = set()
    for piece in text.replace(" ", "").split(","):
        first, dash, last = piece.partition("-")
        try:
            low, high = int(first), int(last if dash else first)
        except ValueError:
            raise JobError(f"--tracks: “{piece}” is not a track number or a range like "
                           "3-5.") from None
        if not 1 <= low <= high <= count:
            raise JobError(f"--tracks: {piece} is not among the page's tracks (1 to "
                           f"{count}; see --list).")
        chosen.update(range(low, high + 1))
    return sorted(chosen)


async def choose_tracks(url: str, kind: str, options, text: str
                        ) -> tuple[list[dict], str] | int:
    """The tracks `--tracks` names, as the job's `tracks` option, and the page's title; an
    exit code after saying why not."""
    from audiofetch_app import sources
    from audiofetch_app.sources.page.options import track_dicts

    try:
        found = await sources.preview(None, url, kind, options)
    except (JobError, net.NetError) as exc:  # as --list says it
        print(str(exc), file=sys.stderr)
        return EXIT_FAILED
    tracks = getattr(found, "tracks", [])
    try:
        numbers = track_numbers(text, len(tracks))
    except JobError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    return track_dicts([tracks[n - 1] for n in numbers]), found.title


REFUSED_HINT = "if the site needs a login, try again with --cookies FILE from your browser."


async def page_command(args: argparse.Namespace) -> int:
    """List or download a page's tracks; runs in the open app when there is one."""
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
    if args.tracks is not None:
        chosen = await choose_tracks(link.url, link.kind, options, args.tracks)
        if isinstance(chosen, int):
            return chosen
        options.tracks, title = chosen
        options.name = options.name or title  # the page is not read again: keep its title
    where = await open_or_reach(args)
    if where is None:
        return EXIT_FAILED
    try:
        code, job = await run_download(where, link, options, title=args.name or "",
                                       refused_hint=REFUSED_HINT)
        failed = ((job.detail or {}).get("failed") or []) if job else []
        for item in failed:
            print(f"  failed: {item['name']}: {item['error']}", file=sys.stderr)
        if code != EXIT_OK and job and job.output_path and failed:
            print(f"Saved what could be saved in {job.output_path}", file=sys.stderr)
        return code
    finally:
        await close(where)
