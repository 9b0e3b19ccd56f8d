"""Running a pool of tasks as one: a failure (or a cancel) stops the others before it
propagates, so no worker is left running behind a finished or failed job; and stopping
background tasks without losing a cancel of the one who stops them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any


async def run_workers(worker: Callable[[], Awaitable[None]], count: int) -> None:
    """Run `count` (at least 1) copies of `worker` until all end. The first exception, or a
    cancel of this call, cancels the rest and waits for them before it is raised."""
    tasks = [asyncio.create_task(worker()) for _ in range(max(1, count))]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def cancel_and_wait(*tasks: asyncio.Future[Any] | None) -> None:
    """Cancel `tasks` (None entries are skipped) and wait until each has ended, however it
    ends; their errors are taken, never raised. A cancel of the caller itself still
    propagates, unlike `with suppress(CancelledError): await task`, which swallows it too."""
    live = [task for task in tasks if task is not None]
    for task in live:
        task.cancel()
    if not live:
        return
    await asyncio.wait(live)
    for task in live:
        if not task.cancelled():
            task.exception()  # taken: no "exception was never retrieved" at exit
