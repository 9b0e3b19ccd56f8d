"""Running a pool of tasks as one: a failure (or a cancel) stops the others before it
propagates, so no worker is left running behind a finished or failed job."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


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
