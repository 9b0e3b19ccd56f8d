"""A sync job: walk a source's new messages in order and save the audio it keeps.

Messages are walked oldest first from the source's `last_id` (`reverse=True, min_id`).
Several files download at once; `last_id` only moves past a message once it and every
message before it are handled, so a sync killed at any point and started again neither
loses a file nor downloads one twice (finished files are found by name and size, partial
ones continue from their `.part`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Protocol

from audiofetch_app.core.job_context import JobContext, JobError, JobPaused
from audiofetch_app.core.job_files import Manifest
from audiofetch_app.core.targets import StorageTarget, is_local, open_target
from audiofetch_app.sources.telegram import media
from audiofetch_app.sources.telegram.catalog import TelegramSource
from audiofetch_app.sources.telegram.gateway import (
    FileReferenceExpired,
    FloodWait,
    TelegramGateway,
    Unreachable,
    describe_wait,
)

if TYPE_CHECKING:
    from audiofetch_app.core.jobs import JobManager
    from audiofetch_app.core.vault import Vault
    from audiofetch_app.sources.telegram.catalog import SourceCatalog
    from audiofetch_app.sources.telegram.sessions import TelegramSessions


class SyncServices(Protocol):
    """What a sync needs of the Telegram service (the service is one)."""

    catalog: SourceCatalog
    jobs: JobManager
    sessions: TelegramSessions
    vault: Vault
    staging_dir: Path

    def default_folder(self) -> Path: ...

log = logging.getLogger(__name__)

SHORT_FLOOD_WAIT = 120  # seconds: waited out in the job; longer waits pause the job
RETRIES = 3  # attempts per file after a dropped connection
RETRY_DELAY = 2.0  # seconds, doubled on each attempt
SAVE_EVERY = 1.0  # seconds between saves of `last_id` and the counts (and one at the end)
ALIGN = 4096  # Telegram serves files in 4 KiB blocks; resume on a block boundary


class _Gone(Exception):
    """The message was deleted while the sync ran; there is nothing to save."""


def topic_of(message: Any) -> int:
    """The forum topic a message belongs to (1, "General", when it names none)."""
    reply = getattr(message, "reply_to", None)
    if reply is not None and getattr(reply, "forum_topic", False):
        return int(reply.reply_to_top_id or reply.reply_to_msg_id or 1)
    return 1


def alternative_name(rel: str, message_id: int) -> str:
    """`Artist - Song (1234).mp3` for a file whose name another file already has."""
    path = PurePosixPath(rel)
    return str(path.with_name(f"{path.stem} ({message_id}){path.suffix}"))


class SyncRun:
    """One sync of one source over one connected gateway."""

    def __init__(self, ctx: JobContext, service: SyncServices, source: TelegramSource,
                 gateway: TelegramGateway, target: StorageTarget) -> None:
        self.ctx = ctx
        self.service = service
        self.source = source
        self.gateway = gateway
        self.target = target
        self.keep = media.Keep.from_dict(source.keep)
        self.topics = set(source.topics) if source.topics is not None else None
        self.topic_titles: dict[int, str] = {}
        workers = ctx.settings.telegram_workers or 3
        self.slots = asyncio.Semaphore(int(workers))
        self.order: deque[int] = deque()  # message ids walked, not yet below the watermark
        self.finished: set[int] = set()  # handled, of those in `order`
        self.failed: dict[int, str] = {}
        self.claimed: set[str] = set()
        self.watermark = source.last_id
        self.saved_watermark = source.last_id
        self.new_files = 0
        self.new_bytes = 0
        self.skipped = 0
        self.bytes_done = 0
        self._last_save = time.monotonic()
        self._saved_files = 0
        self._saved_bytes = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._error: BaseException | None = None
        # The saved files' paths go to a manifest beside the history, not into the job's
        # record: a sync of 15,000 files keeps its record (and each write of it) small.
        self.manifest = Manifest(service.jobs.manifest_path(ctx.job.id))

    # ---------------------------------------------------------------- the walk

    async def run(self) -> None:
        if self.source.is_forum:
            with contextlib.suppress(JobError):
                topics = await self._retrying(lambda: self.gateway.topics(self.source.channel))
                self.topic_titles = {t.id: t.title for t in topics}
        try:
            await self._walk()
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
        finally:
            for task in self._tasks:
                task.cancel()
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._save_watermark(force=True)
            self.manifest.close()
        if self._error is not None:
            raise self._error
        if self.failed:
            first = next(iter(self.failed.values()))
            count = len(self.failed)
            raise JobError(f"{count} file{'s' if count > 1 else ''} could not be saved "
                           f"({first}); sync again to retry {'them' if count > 1 else 'it'}.")
        self.ctx.set_status("")

    async def _walk(self) -> None:
        seen = self.watermark
        while True:
            try:
                async for message in self.gateway.iter_messages(
                        self.source.channel, min_id=seen, reverse=True):
                    if self._error is not None:
                        return
                    seen = max(seen, message.id)
                    await self._consider(message)
                return
            except FloodWait as wait:
                await self._flood_wait(wait)
            except Unreachable:
                await self._pause_for_connection()

    async def _consider(self, message: Any) -> None:
        self.order.append(message.id)
        item = media.classify(message)
        keep = item is not None and media.wanted(item, self.keep) and (
            self.topics is None or topic_of(message) in self.topics)
        if not keep:
            await self._mark_done(message.id)
            return
        topic = self.topic_titles.get(topic_of(message), "") if self.source.is_forum else ""
        rel = media.file_name(self.source.template, item, self.source.title, topic)
        if rel in self.claimed:
            rel = alternative_name(rel, item.message_id)
        self.claimed.add(rel)
        await self.slots.acquire()  # at most `workers` files at once; the walk waits here
        task = asyncio.create_task(self._save(message, item, rel))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ---------------------------------------------------------------- one file

    async def _save(self, message: Any, item: media.AudioItem, rel: str) -> None:
        try:
            await self._save_file(message, item, rel)
        except _Gone:
            await self._mark_done(item.message_id)
        except asyncio.CancelledError:
            raise
        except JobPaused as exc:
            self._stop(exc)
        except JobError as exc:  # this file failed; the others go on, the watermark stops
            self.failed[item.message_id] = str(exc)
            self.ctx.log.warning("Message %s: %s", item.message_id, exc)
        except Exception as exc:
            self._stop(exc)
        else:
            await self._mark_done(item.message_id)
        finally:
            self.slots.release()

    def _stop(self, exc: BaseException) -> None:
        """The whole sync must stop (a long FLOOD_WAIT, a lost login): stop the other files."""
        if self._error is None:
            self._error = exc
            current = asyncio.current_task()
            for task in self._tasks:
                if task is not current:
                    task.cancel()

    async def _save_file(self, message: Any, item: media.AudioItem, rel: str) -> None:
        saved = await asyncio.to_thread(self.target.saved_size, rel)
        if saved is not None and saved != item.size:
            rel = alternative_name(rel, item.message_id)
            saved = await asyncio.to_thread(self.target.saved_size, rel)
        if saved is not None and saved == item.size:
            self.skipped += 1
            self._report()
            return
        partial = await asyncio.to_thread(self.target.partial, rel)
        self.ctx.track_partial(partial)
        for attempt in range(1, RETRIES + 2):
            try:
                message = await self._download(message, item, partial)
                break
            except FileReferenceExpired:
                fresh = await self._retrying(
                    lambda: self.gateway.get_message(self.source.channel, item.message_id))
                if fresh is None or media.classify(fresh) is None:
                    await asyncio.to_thread(partial.unlink, True)
                    raise _Gone from None
                message = fresh
            except FloodWait as wait:
                await self._flood_wait(wait)
            except Unreachable:
                if attempt > RETRIES:
                    raise
                await asyncio.sleep(RETRY_DELAY * 2 ** (attempt - 1))
        else:
            raise JobError("The file could not be downloaded.")
        final = await asyncio.to_thread(self.target.commit, partial, rel)
        self.ctx.untrack_partial(partial)
        self.new_files += 1
        self.new_bytes += item.size
        self.manifest.add(str(final))
        self.ctx.remember(manifest=True,
                          files_saved=int(self.ctx.job.detail.get("files_saved", 0)) + 1)

    async def _download(self, message: Any, item: media.AudioItem, partial: Path) -> Any:
        """Fetch the rest of the file into `partial`; raises when it is not all there."""
        have = await asyncio.to_thread(_prepare_partial, partial, item.size)
        counted = have

        def progress(done: int, _total: int | None) -> None:
            nonlocal counted
            self.bytes_done += done - counted
            counted = done
            self.ctx.progress(bytes_done=self.bytes_done)

        if item.size == 0 or have < item.size:
            with open(partial, "ab") as out:
                try:
                    await self.gateway.download(message, out, offset=have, progress=progress)
                finally:
                    out.flush()
                    with contextlib.suppress(OSError):
                        await asyncio.to_thread(_fsync, out)
        size = partial.stat().st_size
        if item.size and size != item.size:
            if size > item.size:
                partial.unlink(missing_ok=True)
            raise Unreachable(f"The download stopped at {size} of {item.size} bytes.")
        return message

    # ---------------------------------------------------------------- waiting

    async def _flood_wait(self, wait: FloodWait) -> None:
        """Wait a short FLOOD_WAIT out with a countdown; pause the job for a long one."""
        if wait.seconds > SHORT_FLOOD_WAIT:
            until = time.time() + wait.seconds
            resume = time.strftime("%H:%M", time.localtime(until))
            raise JobPaused(f"Telegram asks to wait {describe_wait(wait.seconds)}; the sync "
                            f"goes on by itself at {resume}.", until)
        for left in range(wait.seconds, 0, -1):
            self.ctx.set_status(f"Telegram asks to wait: {left} s")
            await asyncio.sleep(1)
        self.ctx.set_status("")

    async def _pause_for_connection(self) -> None:
        for attempt in range(RETRIES):
            self.ctx.set_status("Connection lost; trying again")
            await asyncio.sleep(RETRY_DELAY * 2 ** attempt)
            try:
                await self.gateway.disconnect()
                await self.gateway.connect()
                self.ctx.set_status("")
                return
            except Unreachable:
                continue
        raise Unreachable()

    async def _retrying(self, call: Any) -> Any:
        while True:
            try:
                return await call()
            except FloodWait as wait:
                await self._flood_wait(wait)

    # ---------------------------------------------------------------- bookkeeping

    async def _mark_done(self, message_id: int) -> None:
        self.finished.add(message_id)
        while self.order and self.order[0] in self.finished:
            done = self.order.popleft()
            self.finished.discard(done)
            self.watermark = max(self.watermark, done)
        self._report()
        await self._save_watermark()

    async def _save_watermark(self, force: bool = False) -> None:
        """Keep `last_id` and the counts about once a second and at the end, not per file (a
        file saved after the last save is found again by name and size, never fetched twice)."""
        changed = self.watermark > self.saved_watermark or self.new_files != self._saved_files
        if not force and (not changed or time.monotonic() - self._last_save < SAVE_EVERY):
            return
        self._last_save = time.monotonic()
        files, size = self.new_files - self._saved_files, self.new_bytes - self._saved_bytes
        self._saved_files, self._saved_bytes = self.new_files, self.new_bytes
        self.saved_watermark = max(self.saved_watermark, self.watermark)
        await self.service.catalog.advance(self.source.id, self.watermark, files=files,
                                           size=size)

    def _report(self) -> None:
        self.ctx.progress(items_done=self.new_files + self.skipped, bytes_done=self.bytes_done)


def _prepare_partial(partial: Path, size: int) -> int:
    """How much of `partial` to keep: whole 4 KiB blocks, never more than the file."""
    try:
        have = partial.stat().st_size
    except FileNotFoundError:
        return 0
    keep = have - have % ALIGN if have < size or not size else size
    if keep > size > 0:
        keep = 0
    if keep != have:
        with open(partial, "r+b") as f:
            f.truncate(keep)
    return keep


def _fsync(handle: Any) -> None:
    import os

    os.fsync(handle.fileno())


async def run_sync(ctx: JobContext, service: SyncServices) -> None:
    """The `telegram` job runner."""
    source = await service.catalog.get(ctx.options["source_id"])
    ctx.set_title(f"Sync {source.title}")
    result: str | None = None
    try:
        if is_local(source.target) and \
                Path(source.target["path"]) == service.default_folder():
            # AudioFetch's own default folder may be made with its parents; a folder the
            # user chose is not, since a missing parent there means an unplugged share.
            await asyncio.to_thread(service.default_folder().mkdir, parents=True, exist_ok=True)
        target = open_target(source.target, staging=service.staging_dir / source.id,
                             secrets=service.vault)
        await asyncio.to_thread(target.check)
        ctx.set_output(target.label)
        async with service.sessions.open(source.session_id) as gateway:
            await SyncRun(ctx, service, source, gateway, target).run()
    except asyncio.CancelledError:
        result = "The last sync was stopped before it finished."
        raise
    except Exception as exc:
        from audiofetch_app.core.job_context import user_message

        result = user_message(exc)
        raise
    finally:
        with contextlib.suppress(Exception):
            await service.catalog.update(source.id, last_sync_at=time.time(),
                                         last_result=result)
