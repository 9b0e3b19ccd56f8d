"""Status messages edited in place: a job's progress as one line of words, and the board that
edits each chat's status messages at most once every 3 s, and later when Telegram says
FLOOD_WAIT. The board never holds up a job: events only leave the newest text here, and one
small task per chat does the editing."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from audiofetch_app import sources
from audiofetch_app.bot.gateway import BotGateway, FloodWait, Keyboard, TelegramError
from audiofetch_app.core.job_record import Job, JobState
from audiofetch_app.core.tasks import cancel_and_wait
from audiofetch_app.core.units import human_bytes

log = logging.getLogger(__name__)

EDIT_INTERVAL = 3.0  # seconds between two edits in one chat
LONGEST_WAIT = 60.0  # seconds a worker sleeps before looking again (its clock may be moved)


def progress_line(job: Job) -> str:
    """"Downloading 45% · 12.3 MB of 27.0 MB · 1.2 MB/s · chunks 120/480" with what is known."""
    words = {JobState.QUEUED: "Waiting for its turn", JobState.RUNNING: "Downloading",
             JobState.PAUSED: "Paused", JobState.INTERRUPTED: "Interrupted"}
    parts = [words.get(job.state, job.state.value.capitalize())]
    fraction = job.progress
    if job.state == JobState.RUNNING and fraction is not None:
        parts[0] += f" {fraction * 100:.0f}%"
    if job.bytes_total:
        parts.append(f"{human_bytes(job.bytes_done)} of {human_bytes(job.bytes_total)}")
    elif job.bytes_done:
        parts.append(human_bytes(job.bytes_done))
    if job.speed and job.state == JobState.RUNNING:
        parts.append(f"{human_bytes(job.speed)}/s")
    if job.items_total:
        what = "chunks" if job.kind == sources.spaces.KIND else "files"
        parts.append(f"{what} {job.items_done}/{job.items_total}")
    line = " · ".join(parts)
    if job.status and job.state == JobState.RUNNING:
        line += f"\n{job.status}"
    return line


def status_text(job: Job, note: str = "") -> str:
    """The whole status message: the job's title, then its progress or its end."""
    title = job.title or job.url
    if job.state == JobState.FAILED:
        body = f"Failed: {job.error or 'it stopped'}"
    elif job.state == JobState.CANCELLED:
        body = "Cancelled."
    elif job.state == JobState.DONE:
        body = note or "Saved; sending it here…"
    else:
        body = note or progress_line(job)
    return f"{title}\n{body}"


class StatusBoard:
    """Edits status messages, newest text only, within the per-chat pace and FLOOD_WAITs.

    `clock` (seconds, monotonic) is what the pace is measured on; tests move it forward and
    call `poke` instead of waiting."""

    def __init__(self, gateway: BotGateway, *, interval: float = EDIT_INTERVAL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.gateway = gateway
        self.interval = interval
        self.clock = clock
        self._pending: dict[tuple[int, int], tuple[str, Keyboard | None]] = {}
        self._shown: dict[tuple[int, int], tuple[str, Keyboard | None]] = {}
        self._next: dict[int, float] = {}  # chat -> earliest time of its next edit
        self._wake: dict[int, asyncio.Event] = {}
        self._workers: dict[int, asyncio.Task[None]] = {}
        self.flood_waits: list[tuple[int, int]] = []  # (chat, seconds) Telegram asked for

    def shown(self, chat_id: int, message_id: int, text: str,
              buttons: Keyboard | None) -> None:
        """A message was just sent with this text: count it as an edit for the pace."""
        self._shown[(chat_id, message_id)] = (text, buttons)
        self._next[chat_id] = max(self._next.get(chat_id, 0.0), self.clock() + self.interval)

    def show(self, chat_id: int, message_id: int, text: str,
             buttons: Keyboard | None = None) -> None:
        """Make the message say `text` as soon as the chat's pace allows (the last call wins)."""
        key = (chat_id, message_id)
        if self._shown.get(key) == (text, buttons):
            self._pending.pop(key, None)
            return
        self._pending[key] = (text, buttons)
        wake = self._wake.setdefault(chat_id, asyncio.Event())
        if chat_id not in self._workers or self._workers[chat_id].done():
            self._workers[chat_id] = asyncio.create_task(self._work(chat_id, wake),
                                                         name=f"bot-status-{chat_id}")
        wake.set()

    def waiting(self, chat_id: int) -> float:
        """Seconds until the chat's next edit may go (0 when it may go now)."""
        return max(0.0, self._next.get(chat_id, 0.0) - self.clock())

    def busy(self, chat_id: int) -> bool:
        """Edits wait to be made in this chat."""
        return any(key[0] == chat_id for key in self._pending)

    def poke(self) -> None:
        """Look at the clock again now (after a test moved it)."""
        for wake in self._wake.values():
            wake.set()

    async def close(self) -> None:
        workers = list(self._workers.values())
        self._workers.clear()
        await cancel_and_wait(*workers)

    async def _work(self, chat_id: int, wake: asyncio.Event) -> None:
        while True:
            wake.clear()
            keys = [key for key in self._pending if key[0] == chat_id]
            if not keys:
                await wake.wait()
                continue
            delay = self._next.get(chat_id, 0.0) - self.clock()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(min(delay, LONGEST_WAIT)):
                        await wake.wait()
                continue
            key = keys[0]
            text, buttons = self._pending.pop(key)
            self._next[chat_id] = self.clock() + self.interval
            try:
                await self.gateway.edit_message(chat_id, key[1], text, buttons)
            except FloodWait as flood:
                # Telegram's word is final: no edit in this chat before it allows one. The
                # newest text stays pending unless a newer one came meanwhile.
                self.flood_waits.append((chat_id, flood.seconds))
                self._next[chat_id] = self.clock() + max(flood.seconds, self.interval)
                self._pending.setdefault(key, (text, buttons))
                log.info("Telegram bot: FLOOD_WAIT of %d s on edits in a chat; edits slow down",
                         flood.seconds)
                continue
            except TelegramError as exc:
                log.warning("Telegram bot: could not edit a status message: %s", exc)
                continue
            self._shown[key] = (text, buttons)
