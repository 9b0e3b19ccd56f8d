"""One file of a sync: settle its name, continue or start its `.part`, download, commit.

Identity is the Telegram document (`Document.id`), kept in the source's ledger:
- a name another document has (saved by this source, claimed by another file of this sync,
  or a file on disk of the same name but another size) gives `Title (message id).ext`;
- a file on disk that the ledger does not know, of the same name and size, is taken as this
  document's (files saved before the ledger existed are not fetched again);
- a `.part` is continued only when the ledger says it holds the start of this document and
  the document's size is the same; any other `.part` under the name is discarded;
- when Telegram says the file reference expired, the post is fetched again: if it is gone the
  `.part` is removed; if its audio was replaced meanwhile (an edit made while downloading),
  the `.part` is discarded and the new document is saved instead, under its own name.
FLOOD_WAITs are waited out and are not failed attempts; only dropped connections are.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from audiofetch_app.core.job_context import JobError
from audiofetch_app.sources.telegram import media
from audiofetch_app.sources.telegram.gateway import FileReferenceExpired, FloodWait, Unreachable
from audiofetch_app.sources.telegram.ledger import Entry

if TYPE_CHECKING:
    from audiofetch_app.sources.telegram.sync import SyncRun

ALIGN = 4096  # Telegram serves files in 4 KiB blocks; resume on a block boundary
REFRESHES = 3  # fresh file references per file before it counts as failed
RETRIES = 3  # attempts per file after a dropped connection (FLOOD_WAITs are not attempts)
RETRY_DELAY = 2.0  # seconds, doubled on each attempt


def alternative_name(rel: str, message_id: int) -> str:
    """`Artist - Song (1234).mp3` for a file whose name another document already has."""
    path = PurePosixPath(rel)
    return str(path.with_name(f"{path.stem} ({message_id}){path.suffix}"))


def version_name(rel: str, version: int) -> str:
    """`Artist - Song (v2).mp3`: the audio of an edited post, beside the version before."""
    path = PurePosixPath(rel)
    return str(path.with_name(f"{path.stem} (v{version}){path.suffix}"))


def document_id(message: Any) -> int | None:
    """The id of `message`'s document, or None when it has none."""
    doc = getattr(getattr(message, "media", None), "document", None)
    return getattr(doc, "id", None)


class FileSave:
    """Saving one message's audio (`item`) to `rel` under the source's target."""

    def __init__(self, sync: SyncRun, message: Any, item: media.AudioItem, rel: str,
                 version: int) -> None:
        self.sync = sync
        self.message = message
        self.item = item
        self.rel = rel
        self.version = version
        self.doc = int(message.media.document.id)

    def _entry(self, rel: str) -> Entry:
        return Entry(doc=self.doc, msg=self.item.message_id, path=rel, size=self.item.size,
                     v=self.version, chat=self.sync.source.channel_id)

    async def run(self) -> None:
        """Save the file; returns when it is saved, known already, or its post is gone."""
        sync = self.sync
        failures = refreshes = 0
        rel = await self._settle_name()
        if rel is None:
            return
        partial = await self._open_partial(rel)
        while True:
            try:
                await self._download(partial)
                break
            except FileReferenceExpired:
                refreshes += 1
                if refreshes > REFRESHES:
                    raise JobError("The file could not be downloaded.") from None
                fresh = await sync.retrying(lambda: sync.gateway.get_message(
                    sync.source.channel, self.item.message_id))
                if document_id(fresh) == self.doc:
                    self.message = fresh
                    continue
                await self._give_up(partial, rel)  # gone, or its audio replaced meanwhile
                if not await self._switch_to(fresh):
                    return
                rel = await self._settle_name()
                if rel is None:
                    return
                partial = await self._open_partial(rel)
            except FloodWait as wait:
                await sync.flood_wait(wait)  # waited out; not a failed attempt
            except Unreachable:
                failures += 1
                if failures > RETRIES:
                    raise
                await asyncio.sleep(RETRY_DELAY * 2 ** (failures - 1))
        if self.item.ext_from_header:
            settled = await self._name_from_header(partial, rel)
            if settled is None:
                return
            rel = settled
        final = await asyncio.to_thread(sync.target.commit, partial, rel)
        sync.ctx.untrack_partial(partial)
        sync.ledger.finish(self._entry(rel))
        sync.saved(str(final), self.item.size)

    async def _name_from_header(self, partial: Path, rel: str) -> str | None:
        """For audio whose name and MIME type say nothing of its kind: the extension from the
        downloaded file's first bytes, and the name settled again with it. None when the
        source does not keep that kind or the name is taken by the same file already."""
        head = await asyncio.to_thread(_head, partial, media.HEADER_BYTES)
        self.item = media.with_header(self.item, head)
        final = None
        if self.sync.keeps(self.item):
            self.rel = self.sync.name_for(self.message, self.item)
            if self.version > 1:
                self.rel = version_name(self.rel, self.version)
            final = await self._settle_name()
        if final is None:
            await self._give_up(partial, rel)
        elif final != rel:
            self.sync.ledger.drop(rel)
        return final

    async def _switch_to(self, fresh: Any) -> bool:
        """Save `fresh` (the post fetched again, with another document) instead; False when
        there is nothing of it to save."""
        sync = self.sync
        item = sync.wanted(fresh) if fresh is not None else None
        doc = document_id(fresh)
        if item is None or doc is None or sync.ledger.saved(doc) is not None \
                or doc in sync.in_flight:
            return False
        sync.in_flight.discard(self.doc)
        sync.in_flight.add(doc)
        self.message, self.item, self.doc = fresh, item, int(doc)
        rel = sync.name_for(fresh, item)
        if self.version > 1:
            rel = version_name(rel, self.version)
        self.rel = rel
        return True

    async def _settle_name(self) -> str | None:
        """The name to save under, or None when an unknown file of the same name and size is
        already there (taken as this document's)."""
        sync = self.sync
        for rel in (self.rel, alternative_name(self.rel, self.item.message_id)):
            owner = sync.ledger.owner(rel)
            if owner is None:
                owner = sync.claimed.get(rel)
            if owner is not None and owner != self.doc:
                continue
            sync.claimed[rel] = self.doc  # before any await: other files look at it at once
            size = await asyncio.to_thread(sync.target.saved_size, rel)
            if size is None:
                return rel
            if owner is None and size == self.item.size:
                sync.ledger.finish(self._entry(rel))
                sync.skipped += 1
                return None
        rel = alternative_name(self.rel, self.doc)
        sync.claimed[rel] = self.doc
        return rel

    async def _open_partial(self, rel: str) -> Path:
        """The `.part` for `rel`, kept only if it holds the start of this very document."""
        sync = self.sync
        partial = await asyncio.to_thread(sync.target.partial, rel)
        mine = sync.ledger.partial(rel)
        if mine is None or mine.doc != self.doc or mine.size != self.item.size:
            await asyncio.to_thread(partial.unlink, True)
            sync.ledger.start(self._entry(rel))
        sync.ctx.track_partial(partial)
        return partial

    async def _give_up(self, partial: Path, rel: str) -> None:
        await asyncio.to_thread(partial.unlink, True)
        self.sync.ctx.untrack_partial(partial)
        self.sync.ledger.drop(rel)

    async def _download(self, partial: Path) -> None:
        """Fetch the rest of the file into `partial`; raises when it is not all there."""
        sync, size = self.sync, self.item.size
        have = await asyncio.to_thread(_prepare_partial, partial, size)
        counted = have

        def progress(done: int, _total: int | None) -> None:
            nonlocal counted
            sync.bytes_done += done - counted
            counted = done
            sync.ctx.progress(bytes_done=sync.bytes_done)

        if size == 0 or have < size:
            with open(partial, "ab") as out:
                try:
                    await sync.gateway.download(self.message, out, offset=have,
                                                progress=progress)
                finally:
                    out.flush()
                    with contextlib.suppress(OSError):
                        await asyncio.to_thread(os.fsync, out.fileno())
        got = partial.stat().st_size
        if size and got != size:
            if got > size:
                partial.unlink(missing_ok=True)
            raise Unreachable(f"The download stopped at {got} of {size} bytes.")


def _head(path: Path, count: int) -> bytes:
    with open(path, "rb") as f:
        return f.read(count)


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
