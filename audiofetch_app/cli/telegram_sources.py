"""`audiofetch telegram sources` and `sync`: what to keep from which channel, and syncing it."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from audiofetch_app.cli.common import EXIT_FAILED, EXIT_OK, EXIT_PAUSED, follow_job, target_spec
from audiofetch_app.cli.telegram_common import (
    KINDS,
    Usage,
    ask,
    print_json,
    session_id_of,
    source_id_of,
    when,
)
from audiofetch_app.core.job_context import JobError
from audiofetch_app.core.targets import public_spec

if TYPE_CHECKING:
    from audiofetch_app.sources.runtime import Runtime
    from audiofetch_app.sources.telegram.service import TelegramService

# ---------------------------------------------------------------- sources


def split_list(text: str | None) -> list[str] | None:
    return None if text is None else [p.strip() for p in text.split(",") if p.strip()]


def _keep(args: argparse.Namespace, current: dict[str, Any] | None) -> dict[str, Any] | None:
    """What to keep from --keep/--ext/--from/--to over `current`; None when none was given."""
    given = {k: v for k, v in {"kinds": split_list(args.keep), "extensions": split_list(args.ext),
                               "date_from": args.date_from, "date_to": args.date_to}.items()
             if v is not None}
    if not given:
        return None
    unknown = [k for k in given.get("kinds", []) if k not in KINDS]
    if unknown:
        raise Usage(f"“{unknown[0]}” is not a kind of audio; use {', '.join(KINDS)}.")
    keep = {**(current or {}), **given}
    for key in ("date_from", "date_to"):
        if str(keep.get(key) or "").lower() in ("", "none"):
            keep[key] = None
    return keep


def _topics(text: str | None) -> list[int] | None:
    parts = split_list(text)
    if parts is None:
        return None
    if not parts or not all(p.isdigit() for p in parts):
        raise Usage("--topics takes topic numbers separated by commas, like 5,9.")
    return [int(p) for p in parts]


def _target(args: argparse.Namespace) -> dict[str, Any] | None:
    try:
        return target_spec(args, lambda label: ask(f"{label} (not shown): ", secret=True))
    except JobError as exc:
        raise Usage(str(exc)) from None


JOB_KEYS = ("job_id", "state", "error", "status", "resume_at")


def _job_summary(job: Any) -> dict[str, Any] | None:
    return job and {"job_id": job.id, "state": job.state.value, "error": job.error,
                    "status": job.status, "resume_at": job.resume_at}


async def sources_command(runtime: Runtime, args: argparse.Namespace) -> int:
    from audiofetch_app.core.targets import target_label

    tg = runtime.telegram
    action = args.sources_command or "list"
    if action == "list":
        return await _list_sources(tg, getattr(args, "json", False))
    if action == "add":
        source = await tg.add_source(
            await session_id_of(tg, args.session), args.ref, keep=_keep(args, None),
            topics=_topics(args.topics), template=args.template, target=_target(args),
            interval_hours=args.every or 0.0)
        print(f"Added “{source.title}” as source {source.id}; its audio goes to "
              f"{target_label(source.target)}. Sync it with: audiofetch telegram sync "
              f"{source.id}")
        return EXIT_OK
    source_id = await source_id_of(tg, args.source)
    if action == "delete":
        source = await tg.get_source(source_id)
        await tg.delete_source(source_id)
        print(f"Deleted source {source_id}; the files it saved stay in "
              f"{target_label(source.target)}.")
        return EXIT_OK
    current = await tg.get_source(source_id)
    changes = {key: value for key, value in {
        "keep": _keep(args, current.keep), "template": args.template, "target": _target(args),
        "interval_hours": args.every,
        "session_id": await session_id_of(tg, args.session) if args.session else None,
    }.items() if value is not None}
    if args.all_topics or args.topics is not None:
        changes["topics"] = None if args.all_topics else _topics(args.topics)
    if not changes:
        raise Usage("Nothing to change; see: audiofetch telegram sources edit --help")
    await tg.update_source(source_id, **changes)
    print(f"Changed source {source_id} ({', '.join(sorted(changes))}).")
    return EXIT_OK


async def _list_sources(tg: TelegramService, as_json: bool) -> int:
    found = await tg.list_sources()
    return print_sources([(s, _job_summary(tg.sync_job(s.id))) for s in found], as_json)


def print_sources(found: list[tuple[Any, dict[str, Any] | None]], as_json: bool) -> int:
    """`telegram sources list` from (TelegramSource, its newest sync job as `_job_summary`
    or the REST API give it) pairs: here or from the open app alike."""
    from audiofetch_app.core.targets import target_label
    from audiofetch_app.core.units import human_bytes

    if as_json:
        print_json([{**s.to_dict(), "target": public_spec(s.target),
                     "sync": job and {k: job.get(k) for k in JOB_KEYS}} for s, job in found])
        return EXIT_OK
    if not found:
        print("No Telegram sources yet; add one with: audiofetch telegram sources add "
              "SESSION @channel")
    for s, job in found:
        at = f" (@{s.username})" if s.username else ""
        print(f"{s.id}  {s.title}{at}  → {target_label(s.target)}")
        every = (f"every {s.interval_hours:g} h, next {when(s.next_run_at)}"
                 if s.interval_hours else "only when asked")
        print(f"    last sync {when(s.last_sync_at)}; {s.files} file{'s' * (s.files != 1)}, "
              f"{human_bytes(s.bytes)}; syncs {every}")
        if s.last_result:
            print(f"    last result: {s.last_result}")
        if s.last_notice:
            print(f"    note: {s.last_notice}")
        # The newest job tells what the source cannot: running, paused, or a failure before
        # the sync began (a folder that cannot be reached).
        if job is not None and job["state"] != "done":
            until = f" until {when(job['resume_at'])}" if job["resume_at"] else ""
            why = "" if job["error"] == s.last_result else job["error"] or job["status"]
            print(f"    sync {job['state']}{until}{': ' + why if why else ''} "
                  f"(job {job['job_id']})")
    return EXIT_OK


# ---------------------------------------------------------------- sync


async def sync_command(runtime: Runtime, args: argparse.Namespace) -> int:
    tg = runtime.telegram
    if args.all:
        ids = [s.id for s in await tg.list_sources()]
        if not ids:
            raise JobError("There are no Telegram sources yet; add one with: "
                           "audiofetch telegram sources add SESSION @channel")
    elif args.sources:
        ids = list(dict.fromkeys([await source_id_of(tg, ref) for ref in args.sources]))
    else:
        raise Usage("Name the sources to sync (audiofetch telegram sources lists them), "
                    "or give --all.")
    jobs = [await tg.sync_now(source_id) for source_id in ids]
    codes = [await follow_job(runtime, job.id) for job in jobs]
    if EXIT_FAILED in codes:
        return EXIT_FAILED
    return EXIT_PAUSED if EXIT_PAUSED in codes else EXIT_OK
