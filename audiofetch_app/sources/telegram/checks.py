"""What a sync looks back at besides the new messages: edits, leftovers, a moved group.

- **Edits.** Telegram lets a post's audio be replaced (`messages.editMessage` with new media:
  the post keeps its id, gets `edit_date`, and names a new document). The newest
  `RECHECK` posts this source saved are fetched again at each sync (`channels.getMessages`,
  100 ids a request) and a post whose document changed is saved again as a new version,
  `Title (v2).ext`, beside the one before; a post deleted since keeps its saved file.
- **Leftovers.** A `.part` this source started (the ledger says so) whose post is gone, or
  whose audio was replaced, is removed. Nothing else in the folder is ever touched.
- **A moved group.** A basic group upgraded to a supergroup (`messages.migrateChat`) keeps its
  old history and goes on as a new chat (`Chat.migrated_to`; the old history ends with
  MessageActionChatMigrateTo). After the old chat's last message the sync follows the
  supergroup from its first message, with the ledger (so nothing saved is fetched again),
  and says so once; when the session cannot read the supergroup the sync ends with that
  sentence.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from audiofetch_app.core.job_context import JobError
from audiofetch_app.sources.telegram.gateway import NoAccess
from audiofetch_app.sources.telegram.sync_file import document_id

if TYPE_CHECKING:
    from audiofetch_app.sources.telegram.sync import SyncRun

RECHECK = 500  # the newest saved posts fetched again at each sync for edits (5 requests)
BATCH = 100  # ids per channels.getMessages (Telegram's limit)


def is_basic_group(peer_id: int) -> bool:
    """Whether a (Bot API style) peer id names a basic group: -1 … -999999999999 (channels
    and supergroups are -100…, users positive)."""
    return -10**12 < peer_id < 0


async def tidy(sync: SyncRun) -> None:
    """Remove this source's `.part` files whose post is gone, and save again the audio of the
    newest saved posts that were edited to carry another document."""
    chat = sync.source.channel_id
    parts = [e for e in sync.ledger.partials.values() if e.chat == chat]
    recent = await asyncio.to_thread(sync.ledger.recent, chat, RECHECK)  # sorts them all
    ids = sorted({e.msg for e in parts} | {e.msg for e in recent})
    if not ids:
        return
    found: dict[int, Any] = {}
    for start in range(0, len(ids), BATCH):
        batch = ids[start:start + BATCH]
        got = await sync.retrying(
            lambda b=batch: sync.gateway.get_messages(sync.source.channel, b))
        found.update(zip(batch, got, strict=False))
    for entry in parts:
        if document_id(found.get(entry.msg)) != entry.doc:
            partial = await asyncio.to_thread(sync.target.partial, entry.path)
            await asyncio.to_thread(partial.unlink, True)
            sync.ledger.drop(entry.path)
            sync.ctx.log.info("Removed %s.part: its post is gone", entry.path)
    for entry in recent:
        message = found.get(entry.msg)
        doc = document_id(message)
        if doc is None or doc == entry.doc or sync.ledger.saved(doc) is not None:
            continue  # deleted (the file stays), or unchanged, or that audio is saved
        if await sync.consider(message, version=entry.v + 1, walked=False):
            sync.ctx.log.info("Message %s was edited; saving its new audio", entry.msg)


async def follow_migration(sync: SyncRun) -> bool:
    """When the source is a basic group that became a supergroup, move the source to the
    supergroup (from its first message) and return True."""
    channel = sync.source.channel
    if not is_basic_group(channel.id):
        return False
    try:
        moved = await sync.retrying(lambda: sync.gateway.migrated_to(channel))
    except NoAccess as exc:
        raise JobError(f"“{channel.title}” was upgraded to a supergroup that this session "
                       "cannot read; join it in Telegram, then sync again.") from exc
    if moved is None:
        return False
    await sync.flush()  # the old chat's watermark, before the source moves on
    source = await sync.service.catalog.update(
        sync.source.id, channel_id=moved.id, access_hash=moved.access_hash,
        username=moved.username, is_group=True, is_forum=moved.is_forum, last_id=0,
        migrated_from=channel.id)
    sync.notices.append(f"“{channel.title}” became a supergroup; AudioFetch follows it now "
                        "(what was saved stays).")
    sync.ctx.log.info("Source %s moved from chat %s to supergroup %s", source.id, channel.id,
                      moved.id)
    sync.restart_at(source)
    return True

