"""What every command shares: exit codes, opening the runtime, following a job to its end."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any

from audiofetch_app.core import targets, transfer_limits
from audiofetch_app.core.job_context import JobError
from audiofetch_app.core.job_record import JobState
from audiofetch_app.core.store import DamagedStore, StoreError
from audiofetch_app.sources.runtime import AlreadyRunning, Runtime, open_runtime

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_PAUSED = 75  # sysexits' EX_TEMPFAIL: Telegram asked to wait; the job goes on later


async def open_runtime_or_say_why() -> Runtime | None:
    """The runtime, or None after saying (on stderr) why it cannot open: another AudioFetch
    has the folder, or the database is damaged (and how to restore its good copy)."""
    try:
        return await open_runtime(console_log=True)
    except AlreadyRunning as exc:
        print(str(exc), file=sys.stderr)
    except DamagedStore as exc:
        print(str(exc), file=sys.stderr)
        print(restore_advice(exc), file=sys.stderr)
    except StoreError as exc:
        print(str(exc), file=sys.stderr)
    return None


def restore_advice(exc: DamagedStore) -> str:
    """How to get going again after `exc`, in one sentence."""
    if exc.good_copy is None:
        return (f"There is no earlier good copy; move {exc.path.name} out of the data folder "
                "to start with an empty history and settings.")
    when = datetime.fromtimestamp(exc.good_copy.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
    return (f"A good copy from {when} is kept beside it: run `audiofetch restore-database` to "
            "put it back (the damaged file is kept too).")


async def follow_job(runtime: Runtime, job_id: str) -> int:
    """Show a job's progress until it ends; print its path last on success. A paused job
    (Telegram's long FLOOD_WAIT) is not a failure: it exits EXIT_PAUSED."""
    from audiofetch_app.cli.progress import ProgressPrinter

    printer = ProgressPrinter()
    unsubscribe = runtime.jobs.subscribe(
        lambda event: printer.update(event.job) if event.job.id == job_id else None)
    try:
        job = await runtime.jobs.wait(job_id)
    finally:
        unsubscribe()
        printer.finish()
    if job.state == JobState.DONE:
        if job.detail.get("notice"):
            print(job.detail["notice"], file=sys.stderr, flush=True)
        print(job.output_path, flush=True)
        return EXIT_OK
    if job.state == JobState.PAUSED:
        print(f"{job.title or 'The job'} is paused: {job.error} While AudioFetch is open it "
              "goes on by itself; else run this command again then.", file=sys.stderr)
        return EXIT_PAUSED
    print(f"Failed: {job.error or job.state.value}", file=sys.stderr)
    if job.state in (JobState.FAILED, JobState.INTERRUPTED):
        print(f"Resume with: audiofetch jobs resume {job.id}", file=sys.stderr)
    return EXIT_FAILED


def output_dir(args: argparse.Namespace) -> str | None:
    """`-o DIR` as an absolute path (the job may run after the working folder changes)."""
    return str(args.output.expanduser().resolve()) if args.output else None


def cookies_file(args: argparse.Namespace) -> str | None:
    """`--cookies FILE` as an absolute path."""
    return str(args.cookies.expanduser().resolve()) if args.cookies else None


def target_spec(args: argparse.Namespace, ask_secret: Callable[[str], str] | None = None
                ) -> dict[str, Any] | None:
    """The storage target `--target ADDRESS` (with its `--target-FIELD` options) names, or
    `-o DIR` as a folder; None when neither is given. Secret fields are asked through
    `ask_secret(label)` when the kind's other credentials were given. Not yet checked
    (`sources.submit` checks it); JobError when the address is no kind's."""
    address = getattr(args, "target", None)
    output = getattr(args, "output", None)
    if address and output:
        raise JobError("Choose -o DIR or --target ADDRESS, not both.")
    if output:
        return targets.find(targets.DEFAULT).spec_from_text(str(output.expanduser().resolve()))
    if not address:
        return None
    spec = targets.spec_from_text(address)
    kind = targets.find(spec["type"])
    given = False
    for name, label, secret in kind.FIELDS[1:]:
        value = getattr(args, f"target_{name}", None)
        if secret:
            if given and ask_secret is not None:
                value = ask_secret(label)
        elif value:
            given = True
        if value:
            spec[name] = value
    return spec


def ask_secret(label: str) -> str:
    """A secret typed on the terminal, not shown."""
    import getpass

    return getpass.getpass(f"{label} (not shown): ").strip()


def download_target(args: argparse.Namespace) -> dict[str, Any] | None:
    """`--target ADDRESS` of get, page and space (`-o DIR` is their output_dir)."""
    return target_spec(args, ask_secret) if getattr(args, "target", None) else None


def max_filesize(args: argparse.Namespace) -> int | None:
    """`--max-filesize SIZE` in bytes; JobError with a sentence for a bad size."""
    text = getattr(args, "max_filesize", None)
    if text is None:
        return None
    try:
        return transfer_limits.parse_size(text)
    except ValueError as exc:
        raise JobError(f"--max-filesize: {exc}") from None
