"""The two calls every face makes: what does this link hold (`preview`), and save it
(`submit`). The faces never parse a source's links or pick a kind themselves."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from audiofetch_app.core import address_guard, registry, targets
from audiofetch_app.core.job_record import Job
from audiofetch_app.core.registry import JobOptions, Link, Preview, Services

if TYPE_CHECKING:
    from audiofetch_app.core.jobs import JobManager


class Runtime(Services, Protocol):
    """What submitting needs: settings, the vault and the job manager (the app's Runtime,
    which imports every source and so this module: a protocol keeps that one-way)."""

    jobs: JobManager


def recognise(url: str, kind: str = "auto") -> Link:
    """The link as its source sees it (canonical URL and id); JobError with a sentence when
    no source can take it. `kind` is "auto" or a source's kind (space, page, direct, ...)."""
    return registry.recognise(url, kind)


def options_for(kind: str, options: Mapping[str, Any] | JobOptions | None) -> JobOptions:
    """The source's typed options from a JSON object (or as given); OptionError (a JobError)
    names the first option it cannot use."""
    model = registry.get(kind).options
    if isinstance(options, JobOptions):
        if not isinstance(options, model):
            raise TypeError(f"{type(options).__name__} are not options of {kind} jobs")
        options.check()
        return options
    return model.from_dict(options)


async def preview(runtime: Runtime | None, url: str, kind: str = "auto",
                  options: Mapping[str, Any] | JobOptions | None = None, *,
                  from_network: bool = False) -> Preview:
    """What `url` holds before anything is saved (a source's Preview subclass: a Space's
    metadata, a page's tracks). JobError or NetError with a sentence when it cannot tell.
    `from_network`: a LAN client asks, so only what core.address_guard permits is fetched."""
    link = recognise(url, kind)
    source = registry.get(link.kind)
    typed = options_for(link.kind, options)
    if source.preview is None:
        return Preview(link, source.title(link) if source.title else link.url)
    policy = runtime.jobs.address_policy() if from_network and runtime else None
    if from_network and policy is None:
        policy = address_guard.AddressPolicy()
    token = address_guard.current.set(policy)
    try:
        return await source.preview(link, typed, runtime)
    finally:
        address_guard.current.reset(token)


async def submit(runtime: Runtime, url: str, kind: str = "auto",
                 options: Mapping[str, Any] | JobOptions | None = None, *,
                 title: str = "", from_network: bool = False, origin: str = "") -> Job:
    """Queue a job for `url` and return it. The link is recognised and made canonical by
    its source, and the options are checked there; JobError with a sentence if not.
    `from_network`: a LAN client asks, so the job reaches only what core.address_guard
    permits. `origin`: who asked, for a face other than the window, CLI or REST (a bot's
    chat); shown beside the job everywhere."""
    link = recognise(url, kind)
    source = registry.get(link.kind)
    typed = options_for(link.kind, options)
    if not title and source.title:
        title = source.title(link)
    folder = typed.output_dir
    if not folder and typed.target is not None and targets.is_local(typed.target):
        folder = typed.target.get("path")
    if folder:  # said now, not when the job runs: a missing drive, a file in its place
        await asyncio.to_thread(targets.check_folder, Path(folder).expanduser())
    if typed.target is not None:  # the secret moves into the vault; the spec names it
        typed.target = await asyncio.to_thread(
            targets.check_spec, typed.target, runtime.settings.get().download_path(),
            runtime.vault)
    return await runtime.jobs.submit(link.kind, link.url, typed.to_dict(), title=title,
                                     from_network=from_network, origin=origin)
