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
    close,
    follow_job,
    follow_remote,
    open_or_reach,
)
from audiofetch_app.core.job_record import Job, JobState
from audiofetch_app.sources.runtime import Runtime


async def jobs_command(args: argparse.Namespace) -> int:
    """List, resume, retry or delete jobs: here, or in the open app when there is one."""
    job_id = getattr(args, "job_id", None)
    if job_id is not None and not job_id.strip():
        print("Give the id of a job; `audiofetch jobs list` shows them.", file=sys.stderr)
        return EXIT_USAGE
    if job_id is not None and not job_id.isalnum():  # a slash would be another REST path
        print(f"There is no job {job_id}.", file=sys.stderr)
        return EXIT_USAGE
    where = await open_or_reach(args)
    if where is None:
        return EXIT_FAILED
    try:
        if isinstance(where, Runtime):
            return await _here(where, args)
        return await _in_app(where, args)
    finally:
        await close(where)


async def _here(runtime: Runtime, args: argparse.Namespace) -> int:
    action = args.jobs_command or "list"
    if action == "list":
        states = getattr(args, "state", None)
        return _print_jobs(runtime.jobs.list(
            states=[JobState(s) for s in states] if states else None,
            limit=getattr(args, "limit", 50)), getattr(args, "json", False), bool(states))
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


async def _in_app(app, args: argparse.Namespace) -> int:  # app: cli.remote.RemoteApp
    from audiofetch_app.cli.remote import RemoteError

    action = args.jobs_command or "list"
    try:
        if action == "list":
            return _print_jobs(await app.jobs(getattr(args, "state", None),
                                              getattr(args, "limit", 50)),
                               getattr(args, "json", False), bool(getattr(args, "state", None)))
        if action == "delete":
            await app.delete(args.job_id, args.files)
            print(f"Deleted job {args.job_id}.")
            return EXIT_OK
        job = await app.retry(args.job_id)
    except RemoteError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE if exc.status == 404 else EXIT_FAILED
    code, _ = await follow_remote(app, job.id)
    return code


def _print_jobs(jobs: list[Job], as_json: bool, filtered: bool = False) -> int:
    from audiofetch_app.core.units import describe_progress as describe

    if as_json:
        print(json.dumps([j.to_dict() for j in jobs], indent=2))
        return EXIT_OK
    if not jobs:
        print("No jobs match." if filtered else "No jobs yet.")
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
