"""What every command shares: exit codes, opening the runtime (or reaching the app that has
it, see cli.remote), following a job to its end and saying how it ended."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any

from audiofetch_app.core import targets, transfer_limits
from audiofetch_app.core.job_context import JobError
from audiofetch_app.core.job_record import Job, JobState
from audiofetch_app.core.store import DamagedStore, StoreError
from audiofetch_app.sources.runtime import (
    AlreadyRunning,
    InstanceLock,
    Runtime,
    acquire_instance,
    open_runtime,
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_PAUSED = 75  # sysexits' EX_TEMPFAIL: Telegram asked to wait; the job goes on later

# What a Ctrl-C means now: a job run here is interrupted; one followed in the open app goes on.
stop_message = ["Stopped. Interrupted jobs can be resumed: audiofetch jobs list"]


def verbose(args: argparse.Namespace) -> bool:
    """`-v`: log lines on the terminal too."""
    return bool(getattr(args, "verbose", False))


def other_command(exc: AlreadyRunning) -> str:
    """Why the data folder is taken when no app serves it: another command has it."""
    info = exc.info
    if info.get("command"):
        return (f"Another audiofetch command (process {info.get('pid', '?')}) is using this "
                "data folder; wait for it to end, or open the app so that commands can share "
                "it.")
    return str(exc)


def own_folder() -> InstanceLock | AlreadyRunning:
    """The data folder's lock for a command that runs its jobs here, or the AlreadyRunning
    that says who has it (the open app, whose `url` the command then uses)."""
    try:
        lock = acquire_instance()
    except AlreadyRunning as exc:
        return exc
    # A second command then says "another command", not "the app"; a crashed app's url
    # (left in the file by a kill -9) must not send it anywhere.
    lock.publish(command=True, url=None, token=None, shared=None)
    return lock


async def open_runtime_or_say_why(args: argparse.Namespace | None = None,
                                  lock: InstanceLock | None = None) -> Runtime | None:
    """The runtime, or None after saying (on stderr) why it cannot open: another AudioFetch
    has the folder, or the database is damaged (and how to restore its good copy). Log lines
    reach the terminal only with `-v`."""
    if lock is None:
        owned = own_folder()
        if isinstance(owned, AlreadyRunning):
            print(other_command(owned), file=sys.stderr)
            return None
        lock = owned
    try:
        return await open_runtime(console_log=args is not None and verbose(args), lock=lock)
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


async def follow_job(runtime: Runtime, job_id: str, refused_hint: str = "") -> int:
    """Show a job's progress until it ends, then its outcome (see `outcome`)."""
    from audiofetch_app.cli.progress import ProgressPrinter

    stop_message[0] = f"Stopped. Resume with: audiofetch jobs resume {job_id}"
    printer = ProgressPrinter()
    unsubscribe = runtime.jobs.subscribe(
        lambda event: printer.update(event.job) if event.job.id == job_id else None)
    try:
        job = await runtime.jobs.wait(job_id)
    finally:
        unsubscribe()
        printer.finish()
    return outcome(job, refused_hint)


def outcome(job: Job, refused_hint: str = "") -> int:
    """Say how `job` ended and return the exit code: its path last on success; on failure
    its sentence once, and how to resume only when resuming can help. A paused job
    (Telegram's long FLOOD_WAIT) is not a failure: EXIT_PAUSED. `refused_hint` ends the
    sentence when the server refused with 403 (what option to try)."""
    if job.state == JobState.DONE:
        if job.detail.get("notice"):
            print(job.detail["notice"], file=sys.stderr, flush=True)
        print(job.output_path, flush=True)
        return EXIT_OK
    if job.state == JobState.PAUSED:
        print(f"{job.title or 'The job'} is paused: {job.error} While AudioFetch is open it "
              "goes on by itself; else run this command again then.", file=sys.stderr)
        return EXIT_PAUSED
    error = job.error or f"The job was {job.state.value}."
    if refused_hint and job.detail.get("http_status") == 403:
        error = f"{error.rstrip('.')}; {refused_hint}"
    if job.state in (JobState.INTERRUPTED, JobState.FAILED) and job.worth_retrying:
        error = f"{error} Resume with: audiofetch jobs resume {job.id}"
    print(f"Failed: {error}", file=sys.stderr)
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
    if address is not None and not address.strip():  # as `-o ""`: never a quiet default
        raise JobError("Give --target an address (a folder or s3://bucket/folder), or leave "
                       "it out for the download folder.")
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
    return target_spec(args, ask_secret) if getattr(args, "target", None) is not None else None


def max_filesize(args: argparse.Namespace) -> int | None:
    """`--max-filesize SIZE` in bytes; JobError with a sentence for a bad size."""
    text = getattr(args, "max_filesize", None)
    if text is None:
        return None
    try:
        return transfer_limits.parse_size(text)
    except ValueError as exc:
        raise JobError(f"--max-filesize: {exc}") from None


async def open_or_reach(args: argparse.Namespace) -> Any:
    """Where this command's jobs run: the runtime opened here when no AudioFetch has the data
    folder, else the open app (a cli.remote.RemoteApp); None after saying why neither works."""
    owned = own_folder()
    if isinstance(owned, AlreadyRunning):
        if not owned.info.get("url"):
            print(other_command(owned), file=sys.stderr)
            return None
        from audiofetch_app.cli.remote import reach

        return await reach(owned.info)
    return await open_runtime_or_say_why(args, owned)


async def run_download(where: Any, link: Any, options: Any, *, title: str = "",
                       refused_hint: str = "") -> tuple[int, Job | None]:
    """Start `link` (a sources Link) with typed `options` where `open_or_reach` said, follow
    it to its end and say how it ended: (exit code, the job as it ended, if known)."""
    from audiofetch_app import sources

    if isinstance(where, Runtime):
        try:
            job = await sources.submit(where, link.url, link.kind, options, title=title)
        except JobError as exc:  # what cannot be started says why, as the open app does
            print(str(exc), file=sys.stderr)
            return EXIT_USAGE, None
        code = await follow_job(where, job.id, refused_hint)
        return code, where.jobs.get(job.id)
    from audiofetch_app.cli.remote import RemoteError

    try:
        job_id = await where.submit({"url": link.url, "kind": link.kind, "name": title or None,
                                     "options": options.to_dict()})
    except RemoteError as exc:
        print(str(exc), file=sys.stderr)
        return (EXIT_USAGE if exc.status == 422 else EXIT_FAILED), None
    return await follow_remote(where, job_id, refused_hint)


async def follow_remote(app: Any, job_id: str, refused_hint: str = "") -> tuple[int, Job | None]:
    """`follow_job` for a job of the open app (a cli.remote.RemoteApp)."""
    from audiofetch_app.cli.progress import ProgressPrinter
    from audiofetch_app.cli.remote import RemoteError

    stop_message[0] = ("Stopped watching; the job goes on in the open AudioFetch "
                       "(audiofetch jobs list shows it).")
    printer = ProgressPrinter()
    try:
        job = await app.follow(job_id, printer.update)
    except RemoteError as exc:
        printer.finish()
        print(str(exc), file=sys.stderr)
        return EXIT_FAILED, None
    printer.finish()
    return outcome(job, refused_hint), job


async def close(where: Any) -> None:
    """Close what `open_or_reach` gave."""
    if where is not None:
        await where.close()
