"""A sync job: walk a source's new messages in order and save the audio it keeps.

Messages are walked oldest first from the source's `last_id` (`reverse=True, min_id`).
Several files download at once; `last_id` only moves past a message once it and every
message before it are handled, so a sync killed at any point and started again neither
loses a file nor downloads one twice.

A file is known by the Telegram document it came from (see `ledger`): the same document,
posted twice or forwarded again, is saved once; a different document whose name is taken is
saved as `Title (message id).ext`; a `.part` is continued only for the same document and
size. Before the walk, `checks` looks back: edited posts whose audio was replaced are saved
again as a new version, `.part` files whose post is gone are removed, and a basic group that
was upgraded to a supergroup is followed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from audiofetch_app.core.job_context import JobContext, JobError, JobPaused
from audiofetch_app.core.job_files import Manifest
from audiofetch_app.core.targets import StorageTarget, is_local, open_target
from audiofetch_app.sources.telegram import checks, media, sync_file
from audiofetch_app.sources.telegram.catalog import TelegramSource
from audiofetch_app.sources.telegram.gateway import (
    FloodWait,
    NoAccess,
    NotAuthorized,
    TelegramGateway,
    Unreachable,
    describe_wait,
)
from audiofetch_app.sources.telegram.ledger import Ledger
from audiofetch_app.sources.telegram.sync_file import FileSave, version_name

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

    def ledger_path(self, source_id: str) -> Path: ...

log = logging.getLogger(__name__)

SHORT_FLOOD_WAIT = 120  # seconds: waited out in the job; longer waits pause the job
SAVE_EVERY = 1.0  # seconds between saves of `last_id` and the counts (and one at the end)
TICK = 1.0  # seconds per step of a FLOOD_WAIT's countdown


def topic_of(message: Any) -> int:
    """The forum topic a message belongs to (1, "General", when it names none): a plain post
    in a topic names it in `reply_to_msg_id`, a reply inside one in `reply_to_top_id`."""
    reply = getattr(message, "reply_to", None)
    if reply is not None and getattr(reply, "forum_topic", False):
        return int(reply.reply_to_top_id or reply.reply_to_msg_id or 1)
    return 1


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
        try:  # days in --from/--to and {date} are days in this zone (None: the computer's)
            self.tz = ctx.settings.telegram_zone()
        except ValueError:
            self.tz = None
        self.topics = set(source.topics) if source.topics is not None else None
        self.topic_titles: dict[int, str] = {}
        workers = ctx.settings.telegram_workers or 3
        self.slots = asyncio.Semaphore(int(workers))
        self.order: deque[int] = deque()  # message ids walked, not yet below the watermark
        self.finished: set[int] = set()  # handled, of those in `order`
        self.failed: dict[int, str] = {}
        self.claimed: dict[str, int] = {}  # names taken in this sync -> their document
        self.in_flight: set[int] = set()  # documents being saved now
        self.watermark = source.last_id
        self.saved_watermark = source.last_id
        self.new_files = 0
        self.new_bytes = 0
        self.skipped = 0
        self.bytes_done = 0
        self.notices: list[str] = []
        self._last_save = time.monotonic()
        self._saved_files = 0
        self._saved_bytes = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._error: BaseException | None = None
        self.ledger = Ledger()  # read in `run`, off the event loop (60,000 lines: ~0.3 s)
        # The saved files' paths go to a manifest beside the history, not into the job's
        # record: a sync of 15,000 files keeps its record (and each write of it) small.
        self.manifest = Manifest(service.jobs.manifest_path(ctx.job.id))

    # ---------------------------------------------------------------- the walk

    async def run(self) -> None:
        title = self.source.title
        self.ledger = await asyncio.to_thread(
            Ledger, self.service.ledger_path(self.source.id))
        try:
            await self._run()
        except NoAccess as exc:
            raise JobError(f"This session can no longer read “{title}”: it left or was "
                           "removed, or the channel became private. Join it again in "
                           "Telegram (or add it with an invite link), then sync again.") from exc

    async def _run(self) -> None:
        try:
            await self._read_topics()
            await checks.tidy(self)
            await self._walk_and_finish()
            moved = await checks.follow_migration(self)
            if moved:
                await self._walk_and_finish()
        finally:
            await self._stop_tasks()
            await self._save_watermark(force=True)
            self.manifest.close()
            await asyncio.to_thread(self.ledger.close)
        if self._error is not None:
            raise self._error
        if self.failed:
            first = next(iter(self.failed.values()))
            count = len(self.failed)
            raise JobError(f"{count} file{'s' if count > 1 else ''} could not be saved "
                           f"({first}); sync again to retry {'them' if count > 1 else 'it'}.",
                           retryable=True)
        if self.notices:
            self.ctx.remember(notice=" ".join(self.notices))

    async def _read_topics(self) -> None:
        if self.source.is_forum:
            with contextlib.suppress(JobError):
                topics = await self.retrying(lambda: self.gateway.topics(self.source.channel))
                self.topic_titles = {t.id: t.title for t in topics}

    async def _walk_and_finish(self) -> None:
        await self._walk()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._error is not None:
            raise self._error

    async def _stop_tasks(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _walk(self) -> None:
        seen = self.watermark
        while True:
            try:
                async for message in self.gateway.iter_messages(
                        self.source.channel, min_id=seen, reverse=True):
                    if self._error is not None:
                        return
                    seen = max(seen, message.id)
                    self.order.append(message.id)
                    if not await self.consider(message):
                        await self._mark_done(message.id)
                return
            except FloodWait as wait:
                await self.flood_wait(wait)
            except Unreachable:
                await self._pause_for_connection()

    def wanted(self, message: Any) -> media.AudioItem | None:
        """The audio of `message` this source keeps, or None."""
        item = media.classify(message)
        keep = item is not None and self.keeps(item) and (
            self.topics is None or topic_of(message) in self.topics)
        return item if keep else None

    def keeps(self, item: media.AudioItem) -> bool:
        """Whether the source keeps `item` (kinds, types, dates in the chosen zone)."""
        return media.wanted(item, self.keep, tz=self.tz)

    def name_for(self, message: Any, item: media.AudioItem) -> str:
        """`item`'s name from the source's template (before any clash is settled)."""
        topic = self.topic_titles.get(topic_of(message), "") if self.source.is_forum else ""
        return media.file_name(self.source.template, item, self.source.title, topic,
                               tz=self.tz)

    async def consider(self, message: Any, *, version: int = 1, walked: bool = True) -> bool:
        """Start saving `message`'s audio if the source keeps it and has not saved its
        document; False when there is nothing to do. `walked`: the message is part of the
        walk (its end moves the watermark); edits found by the look back are not."""
        item = self.wanted(message)
        if item is None:
            return False
        doc = message.media.document.id
        if self.ledger.saved(doc) is not None or doc in self.in_flight:
            self.skipped += 1  # the same document, posted or forwarded again: saved once
            self._report()
            return False
        rel = self.name_for(message, item)
        if version > 1:
            rel = version_name(rel, version)
        self.in_flight.add(doc)
        await self.slots.acquire()  # at most `workers` files at once; the walk waits here
        save = FileSave(self, message, item, rel, version)
        task = asyncio.create_task(self._save(save, walked))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    # ---------------------------------------------------------------- one file

    async def _save(self, save: FileSave, walked: bool) -> None:
        message_id = save.item.message_id
        try:
            await save.run()
        except asyncio.CancelledError:
            raise
        except (JobPaused, NoAccess, NotAuthorized) as exc:  # the sync cannot go on
            self._stop(exc)
        except JobError as exc:  # this file failed; the others go on, the watermark stops
            self.failed[message_id] = str(exc)
            self.ctx.log.warning("Message %s: %s", message_id, exc)
        except Exception as exc:
            self._stop(exc)
        else:
            if walked:
                await self._mark_done(message_id)
        finally:
            self.in_flight.discard(save.doc)
            self.slots.release()

    def _stop(self, exc: BaseException) -> None:
        """The whole sync must stop (a long FLOOD_WAIT, a lost login): stop the other files."""
        if self._error is None:
            self._error = exc
            current = asyncio.current_task()
            for task in self._tasks:
                if task is not current:
                    task.cancel()

    def saved(self, final: str, size: int) -> None:
        """A file is in place: count it and list it in the job's manifest."""
        self.new_files += 1
        self.new_bytes += size
        self.manifest.add(final)
        self.ctx.remember(manifest=True,
                          files_saved=int(self.ctx.job.detail.get("files_saved", 0)) + 1)

    # ---------------------------------------------------------------- waiting

    async def flood_wait(self, wait: FloodWait) -> None:
        """Wait a short FLOOD_WAIT out with a countdown; pause the job for a long one."""
        if wait.seconds > SHORT_FLOOD_WAIT:
            until = time.time() + wait.seconds
            resume = time.strftime("%H:%M", time.localtime(until))
            raise JobPaused(f"Telegram asks to wait {describe_wait(wait.seconds)}; the sync "
                            f"goes on by itself at {resume}.", until)
        for left in range(wait.seconds, 0, -1):
            self.ctx.set_status(f"Telegram asks to wait: {left} s")
            await asyncio.sleep(TICK)
        self.ctx.set_status("")

    async def _pause_for_connection(self) -> None:
        for attempt in range(sync_file.RETRIES):
            self.ctx.set_status("Connection lost; trying again")
            await asyncio.sleep(sync_file.RETRY_DELAY * 2 ** attempt)
            try:
                await self.gateway.disconnect()
                await self.gateway.connect()
                self.ctx.set_status("")
                return
            except Unreachable:
                continue
        raise Unreachable()

    async def retrying(self, call: Any) -> Any:
        """`await call()`, waiting out short FLOOD_WAITs."""
        while True:
            try:
                return await call()
            except FloodWait as wait:
                await self.flood_wait(wait)

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
        file saved after the last save is in the ledger, never fetched twice)."""
        changed = self.watermark > self.saved_watermark or self.new_files != self._saved_files
        if not force and (not changed or time.monotonic() - self._last_save < SAVE_EVERY):
            return
        self._last_save = time.monotonic()
        files, size = self.new_files - self._saved_files, self.new_bytes - self._saved_bytes
        self._saved_files, self._saved_bytes = self.new_files, self.new_bytes
        self.saved_watermark = max(self.saved_watermark, self.watermark)
        await self.service.catalog.advance(self.source.id, self.watermark, files=files,
                                           size=size)

    async def flush(self) -> None:
        """Save `last_id` and the counts now."""
        await self._save_watermark(force=True)

    def restart_at(self, source: TelegramSource) -> None:
        """Walk `source` (the same source, now another chat) from its `last_id` (saved)."""
        self.source = source
        self.order.clear()
        self.finished.clear()
        self.watermark = self.saved_watermark = source.last_id

    def _report(self) -> None:
        self.ctx.progress(items_done=self.new_files + self.skipped, bytes_done=self.bytes_done)


async def run_sync(ctx: JobContext, service: SyncServices) -> None:
    """The `telegram` job runner."""
    source = await service.catalog.get(ctx.options["source_id"])
    ctx.set_title(f"Sync {source.title}")
    result: str | None = None
    run: SyncRun | None = None
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
            run = SyncRun(ctx, service, source, gateway, target)
            await run.run()
    except asyncio.CancelledError:
        result = "The last sync was stopped before it finished."
        raise
    except Exception as exc:
        from audiofetch_app.core.job_context import user_message

        result = user_message(exc)
        raise
    finally:
        with contextlib.suppress(Exception):
            await service.catalog.update(
                source.id, last_sync_at=time.time(), last_result=result,
                last_notice=" ".join(run.notices) if run is not None and run.notices else None)
