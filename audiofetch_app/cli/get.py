"""`audiofetch get`: one direct audio link or HLS audio playlist."""

from __future__ import annotations

import argparse
import sys

from audiofetch_app.cli.common import (
    EXIT_FAILED,
    EXIT_USAGE,
    download_target,
    follow_job,
    max_filesize,
    open_runtime_or_say_why,
    output_dir,
)


async def get_command(args: argparse.Namespace) -> int:
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
    runtime = await open_runtime_or_say_why()
    if runtime is None:
        return EXIT_FAILED
    try:
        job = await sources.submit(runtime, link.url, link.kind, options)
        return await follow_job(runtime, job.id)
    finally:
        await runtime.close()
