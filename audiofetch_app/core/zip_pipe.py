"""A bounded queue of byte blocks between a thread and the event loop, or between two threads.

The ZIP writer passes its bytes through these instead of making one executor hop per block. An
end that finds room (or data) goes on without waking anyone. Waking the event loop costs a
self-pipe write and a loop turn, so a producer waiting on the loop is woken only once the pipe
has drained to half; a producing thread is woken as soon as there is room, which keeps the bytes
in flight (and so the memory the allocator hands out and takes back) steady.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

_EOF = object()


class Abandoned(Exception):
    """The other end of a pipe went away; whoever waits on it stops."""


class Pipe:
    """FIFO holding about `capacity` bytes; either end may be a thread or the event loop.

    Items are `bytes`, or markers of a stated size (`put(marker, size)`). At most one end is
    ever on the loop, and an end never waits for room and for data at once, so one condition
    (threads) and one future (the loop) cover every wait.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, capacity: int):
        self.loop, self.capacity = loop, capacity
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.items: deque[tuple[Any, int]] = deque()
        self.size = 0
        self.end: Any = None  # _EOF, or the exception that ended the pipe
        self.room_wanted = False  # the producer waits for room
        self.waiter: asyncio.Future[None] | None = None  # the loop's end, while it waits

    # -- the producing end
    def put(self, item: Any, size: int | None = None) -> None:
        """Add `item`, waiting in this thread while the pipe is full."""
        with self.lock:
            while self.end is None and self.size >= self.capacity:
                self.room_wanted = True
                self.changed.wait()
            self._add(item, len(item) if size is None else size)

    async def aput(self, item: Any, size: int | None = None) -> None:
        """Add `item`, waiting on the loop while the pipe is full."""
        while True:
            with self.lock:
                if self.end is not None or self.size < self.capacity:
                    self._add(item, len(item) if size is None else size)
                    return
                self.room_wanted = True
                waiter = self.waiter = self.loop.create_future()
            await waiter

    def finish(self, error: BaseException | None = None) -> None:
        """No more items: the consumer gets those queued, then the end (or `error`)."""
        with self.lock:
            if self.end is None:
                self.end = _EOF if error is None else error
                self._wake()

    # -- the consuming end
    def get(self) -> Any:
        """The next item, waiting in this thread; None at the end."""
        with self.lock:
            while not self.items and self.end is None:
                self.changed.wait()
            return self._take()

    async def aget(self) -> Any:
        """The next item, waiting on the loop; None at the end."""
        while True:
            with self.lock:
                if self.items or self.end is not None:
                    return self._take()
                waiter = self.waiter = self.loop.create_future()
            await waiter

    # -- either end
    def abandon(self) -> None:
        """Drop what is queued and stop both ends: their next call raises Abandoned."""
        with self.lock:
            if not isinstance(self.end, Abandoned):
                self.end = Abandoned("the other end of the pipe went away")
            self.items.clear()
            self.size = 0
            self._wake()

    def _add(self, item: Any, size: int) -> None:
        if self.end is not None:
            raise self.end if isinstance(self.end, Abandoned) else Abandoned("the pipe was ended")
        self.items.append((item, size))
        self.size += size
        if len(self.items) == 1:  # the consumer may be waiting on an empty pipe
            self._wake()

    def _take(self) -> Any:
        if isinstance(self.end, Abandoned):
            raise self.end
        if not self.items:
            if self.end is _EOF:
                return None
            raise self.end
        item, size = self.items.popleft()
        self.size -= size
        # A thread is woken as soon as there is room, the loop once the pipe is half empty.
        low = self.capacity if self.waiter is None else self.capacity // 2 + 1
        if self.room_wanted and self.size < low:
            self.room_wanted = False
            self._wake()
        return item

    def _wake(self) -> None:
        self.changed.notify_all()
        waiter, self.waiter = self.waiter, None
        if waiter is not None:
            _post(self.loop, _release, waiter)


def run_in_thread(
    loop: asyncio.AbstractEventLoop, func: Callable[..., Any], *args: Any, name: str
) -> asyncio.Future[Any]:
    """Run `func(*args)` in a new daemon thread; the future settles with its outcome.

    A thread of its own, not the default executor: these threads wait on pipes, which may stay
    full for as long as a slow HTTP client likes, and must not starve the app's other work.
    """
    future = loop.create_future()

    def run() -> None:
        try:
            result = func(*args)
        except BaseException as exc:
            _post(loop, _settle, future, None, exc)
        else:
            _post(loop, _settle, future, result, None)

    threading.Thread(target=run, name=name, daemon=True).start()
    return future


def _post(loop: asyncio.AbstractEventLoop, callback: Callable[..., Any], *args: Any) -> None:
    with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting any more
        loop.call_soon_threadsafe(callback, *args)


def _release(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)
