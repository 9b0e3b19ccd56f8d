"""`audiofetch get`: one direct audio link or HLS audio playlist."""

from __future__ import annotations

import argparse
import sys

from audiofetch_app.cli.common import (
    EXIT_FAILED,
    EXIT_USAGE,
    close,
    download_target,
    max_filesize,
    open_or_reach,
    output_dir,
    run_download,
)

# Said after a 403: many file hosts want to see the page that plays the file.
REFUSED_HINT = ("if the file plays on a web page, try again with --referer PAGE_URL (or a link "
                "taken while logged in).")


async def get_command(args: argparse.Namespace) -> int:
    """Download one link; runs in the open app when there is one (see cli.remote)."""
    from audiofetch_app import sources
    from audiofetch_app.core.job_context import JobError

    try:
        raw = {"output_dir": output_dir(args), "target": download_target(args),
               "max_filesize": max_filesize(args),
               "name": args.name, "format": args.format,
               "referer": args.referer, "workers": args.workers}
        link = sources.recognise(args.url, sources.direct.KIND)
        options = sources.options_for(link.kind, raw)
    except JobError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    where = await open_or_reach(args)
    if where is None:
        return EXIT_FAILED
    try:
        code, _ = await run_download(where, link, options, refused_hint=REFUSED_HINT)
        return code
    finally:
        await close(where)
