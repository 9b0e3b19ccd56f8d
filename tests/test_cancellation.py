"""A task cancelled in the very step its wait ends must still stop.

Python 3.11's `asyncio.wait_for` drops a cancel that arrives while the awaited thing has just
finished (it returns the result instead; fixed in 3.12, python/cpython#86296). A worker loop
waiting that way then never ends and whatever awaits it on close hangs for ever: the bot's
status board did, once in CI. The product waits with `asyncio.timeout`, which keeps the
cancel; these tests make the race happen on purpose."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

import audiofetch_app
from audiofetch_app.bot.status import StatusBoard
from audiofetch_app.sources.telegram.scheduler import SyncScheduler

PACKAGE = Path(audiofetch_app.__file__).parent


async def _ends(closing, seconds: float = 5.0) -> bool:
    """`closing` ran to its end within `seconds` (a close that swallows cancels cannot be
    bounded by cancelling it, so it runs as a task and is only watched)."""
    task = asyncio.ensure_future(closing)
    done, _ = await asyncio.wait([task], timeout=seconds)
    task.cancel()
    return task in done


class _Edits:
    """Just enough of a bot gateway for the board: records edits."""

    def __init__(self) -> None:
        self.edits: list[tuple[int, int, str]] = []

    async def edit_message(self, chat_id: int, message_id: int, text: str,
                           buttons=None) -> None:
        self.edits.append((chat_id, message_id, text))


async def test_the_status_board_closes_when_a_show_and_the_close_meet() -> None:
    edits = _Edits()
    board = StatusBoard(edits, interval=30.0)  # type: ignore[arg-type]
    board.show(1, 10, "first")
    await asyncio.sleep(0.05)  # "first" is edited in; the next edit must wait 30 s
    board.show(1, 10, "second")
    await asyncio.sleep(0.05)  # the worker now waits out the pace with "second" pending
    assert edits.edits == [(1, 10, "first")] and board.busy(1)
    board.show(1, 10, "third")  # ends the worker's wait in the same step as the close
    assert await _ends(board.close())


async def test_the_telegram_schedule_stops_when_a_poke_and_the_stop_meet() -> None:
    class _NoSources:
        class catalog:
            @staticmethod
            async def list_all() -> list:
                return []

        async def sync_now(self, source_id: str) -> None:
            raise AssertionError("nothing is due")

    scheduler = SyncScheduler(_NoSources(), clock=lambda: 0.0)  # type: ignore[arg-type]
    await scheduler.start()
    await asyncio.sleep(0.05)  # waiting for the next tick
    scheduler.poke()
    assert await _ends(scheduler.stop())
    assert not scheduler.running


def test_no_product_code_waits_with_asyncio_wait_for() -> None:
    """The kind, not only the two examples: every wait in the package keeps a cancel."""
    found = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Attribute) and node.attr == "wait_for"
                    and isinstance(node.value, ast.Name) and node.value.id == "asyncio"):
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert found == [], "use `async with asyncio.timeout(...)` instead: " + ", ".join(found)


async def test_cancel_and_wait_keeps_a_cancel_of_its_caller() -> None:
    """Stopping a task that takes its time to end: if the one stopping it is cancelled
    meanwhile, that cancel reaches it (a `suppress(CancelledError)` would eat it)."""
    from audiofetch_app.core.tasks import cancel_and_wait

    async def slow_to_end() -> None:
        try:
            await asyncio.sleep(60)
        finally:
            await asyncio.shield(asyncio.sleep(0.3))  # cleaning up after the cancel

    slow = asyncio.create_task(slow_to_end())
    await asyncio.sleep(0)
    stopper = asyncio.create_task(cancel_and_wait(slow))
    await asyncio.sleep(0.05)
    stopper.cancel()
    done, _ = await asyncio.wait([stopper], timeout=5)
    assert stopper in done and stopper.cancelled()
    await asyncio.wait([slow], timeout=5)
    assert slow.cancelled()
