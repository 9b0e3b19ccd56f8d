"""`audiofetch jobs`: list, resume, retry and delete jobs."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime

from audiofetch_app.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    follow_job,
    open_runtime_or_say_why,
)
from audiofetch_app.sources.runtime import Runtime


async def jobs_command(args: argparse.Namespace) -> int:
    runtime = await open_runtime_or_say_why()
    if runtime is None:
        return EXIT_FAILED
    try:
        action = args.jobs_command or "list"
        if action == "list":
            return _print_jobs(runtime, getattr(args, "state", None),
                               getattr(args, "limit", 50), getattr(args, "json", False))
        job = runtime.jobs.get(args.job_id)
        if job is None:
            print(f"There is no job {args.job_id}.", file=sys.stderr)
            return EXIT_USAGE
        if action == "delete":
            await runtime.jobs.delete(job.id, with_files=args.files)
            print(f"Deleted job {job.id}.")
            return EXIT_OK
        await runtime.jobs.retry(job.id)
        return await follow_job(runtime, job.id)
    finally:
        await runtime.close()


def _print_jobs(runtime: Runtime, states: list[str] | None, limit: int, as_json: bool) -> int:
    from audiofetch_app.core.job_record import JobState
    from audiofetch_app.core.units import describe_progress as describe

    jobs = runtime.jobs.list(states=[JobState(s) for s in states] if states else None,
                             limit=limit)
    if as_json:
        print(json.dumps([j.to_dict() for j in jobs], indent=2))
        return EXIT_OK
    if not jobs:
        print("No jobs yet.")
        return EXIT_OK
    for job in jobs:
        when = datetime.fromtimestamp(job.created_at).strftime("%Y-%m-%d %H:%M")
        line = f"{job.id}  {when}  {job.state.value:<11} {job.kind:<8} {job.title or job.url}"
        print(line)
        if job.origin:
            print(f"    from {job.origin}")
        extra = job.error or job.output_path
        if extra:
            print(f"    {extra}")
        elif job.active:
            print(f"    {describe(job)}")
    return EXIT_OK
