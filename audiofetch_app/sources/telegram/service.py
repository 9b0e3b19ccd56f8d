"""TelegramService: the one object the window, the CLI and REST use for everything Telegram."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audiofetch_app.core import registry, targets
from audiofetch_app.core.job_context import JobContext, JobError
from audiofetch_app.core.job_record import ACTIVE_STATES, Job, JobState
from audiofetch_app.core.tasks import cancel_and_wait
from audiofetch_app.sources.telegram import media
from audiofetch_app.sources.telegram.catalog import SourceCatalog, TelegramSource
from audiofetch_app.sources.telegram.credentials import ApiCredentials
from audiofetch_app.sources.telegram.gateway import (
    Channel,
    GatewayFactory,
    TelegramGateway,
    Topic,
)
from audiofetch_app.sources.telegram.login import TelegramLogin
from audiofetch_app.sources.telegram.refs import parse_channel_ref
from audiofetch_app.sources.telegram.scheduler import SyncScheduler
from audiofetch_app.sources.telegram.sessions import TelegramSessions

if TYPE_CHECKING:
    from audiofetch_app.core.jobs import JobManager
    from audiofetch_app.core.store import Store
    from audiofetch_app.core.vault import Vault
    from audiofetch_app.settings import SettingsService

log = logging.getLogger(__name__)

KIND = "telegram"
PURGE_INTERVAL = 60.0  # seconds between sweeps of expired half-finished logins


def sync_url(source_id: str) -> str:
    """The job URL of a source's sync: one active sync per source (the jobs dedupe on it)."""
    return f"telegram:source/{source_id}"


def _telethon(session: str | None, api_id: int, api_hash: str) -> TelegramGateway:
    """The Telethon gateway, imported when Telegram is first used (Telethon is slow to load)."""
    from audiofetch_app.sources.telegram.telethon_gateway import telethon_factory

    return telethon_factory(session, api_id, api_hash)


class TelegramService:
    """Credentials, login, sessions, sources, sync jobs and their schedule."""

    def __init__(self, store: Store, vault: Vault, jobs: JobManager, settings: SettingsService,
                 factory: GatewayFactory | None = None, *, staging_dir: Path,
                 ledger_dir: Path | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        factory = factory or _telethon
        self.store, self.vault, self.jobs, self.settings = store, vault, jobs, settings
        self.staging_dir = Path(staging_dir)
        # What each source saved, by Telegram document (see ledger); beside the staging.
        self.ledger_dir = Path(ledger_dir or self.staging_dir.with_name("telegram-ledgers"))
        self.clock = clock
        self.credentials = ApiCredentials(vault)
        self.sessions = TelegramSessions(store, vault, factory, self.credentials)
        self.login = TelegramLogin(self.sessions, clock=clock)
        self.catalog = SourceCatalog(store)
        self.scheduler = SyncScheduler(self, clock=clock)
        self._purger: asyncio.Task[None] | None = None
        self._latest: dict[str, str | None] = {}  # source id -> its newest sync job's id
        registry.register(registry.Source(KIND, "Telegram sync", run=self.run_job,
                                          uses_output_folder=False))

    # ---------------------------------------------------------------- life cycle

    async def start(self, *, schedule: bool = True) -> None:
        """Start the background work: the sweep of expired logins and, if asked, the schedule."""
        if self._purger is None:
            self._purger = asyncio.create_task(self._purge_loop(), name="telegram-login-purge")
        if schedule:
            await self.scheduler.start()

    async def close(self) -> None:
        await self.scheduler.stop()
        purger, self._purger = self._purger, None
        await cancel_and_wait(purger)

    async def _purge_loop(self) -> None:
        while True:
            try:
                removed = await self.login.purge_expired()
                if removed:
                    log.info("Removed %d expired Telegram login(s)", removed)
            except Exception:
                log.exception("Could not sweep expired Telegram logins")
            await asyncio.sleep(PURGE_INTERVAL)

    # ---------------------------------------------------------------- sources

    def default_folder(self) -> Path:
        return self.settings.get().download_path() / "Telegram"

    def ledger_path(self, source_id: str) -> Path:
        """The file where a source records what it saved (see ledger.Ledger)."""
        return self.ledger_dir / f"{source_id}.jsonl"

    async def find_channel(self, session_id: str, ref: str) -> tuple[Channel, list[Topic]]:
        """The channel `ref` names as `session_id` sees it, and its forum topics."""
        parsed = parse_channel_ref(ref)
        async with self.sessions.open(session_id) as gateway:
            channel = await gateway.resolve(parsed)
            topics = await gateway.topics(channel) if channel.is_forum else []
        return channel, topics

    async def add_source(self, session_id: str, ref: str, *, keep: dict[str, Any] | None = None,
                         topics: list[int] | None = None, template: str | None = None,
                         target: dict[str, Any] | None = None,
                         interval_hours: float = 0.0) -> TelegramSource:
        """Resolve `ref` with the session, check every option, and keep the new source."""
        await self.sessions.get(session_id)
        keep_obj = media.Keep.from_dict(keep)
        template = media.check_template(template or self.settings.get().telegram_template
                                        or media.DEFAULT_TEMPLATE)
        spec = await asyncio.to_thread(targets.check_spec, target, self.default_folder(),
                                       self.vault)
        interval = _check_interval(interval_hours)
        channel, known_topics = await self.find_channel(session_id, ref)
        chosen = _check_topics(topics, known_topics)
        source = TelegramSource(
            session_id=session_id, channel_id=channel.id, title=channel.title,
            username=channel.username, access_hash=channel.access_hash,
            is_group=channel.is_group, is_forum=channel.is_forum, ref=ref.strip(),
            keep=keep_obj.to_dict(), topics=chosen, template=template, target=spec,
            interval_hours=interval,
            next_run_at=self.clock() + interval * 3600 if interval else None)
        await self.catalog.add(source)
        return source

    async def update_source(self, source_id: str, **changes: Any) -> TelegramSource:
        """Change what, where, how often; checked like `add_source`."""
        current = await self.catalog.get(source_id)
        clean: dict[str, Any] = {}
        if "keep" in changes:
            clean["keep"] = media.Keep.from_dict(changes["keep"]).to_dict()
        if "template" in changes:
            clean["template"] = media.check_template(changes["template"]
                                                     or media.DEFAULT_TEMPLATE)
        if "target" in changes:
            clean["target"] = await asyncio.to_thread(
                targets.check_spec, changes["target"], self.default_folder(), self.vault)
        if "topics" in changes:
            clean["topics"] = None if changes["topics"] is None else [
                int(t) for t in changes["topics"]]
        if "session_id" in changes:
            await self.sessions.get(changes["session_id"])
            clean["session_id"] = changes["session_id"]
        if "interval_hours" in changes:
            interval = _check_interval(changes["interval_hours"])
            clean["interval_hours"] = interval
            clean["next_run_at"] = (self.clock() + interval * 3600) if interval else None
        unknown = set(changes) - {"keep", "template", "target", "topics", "session_id",
                                  "interval_hours"}
        if unknown:
            raise JobError(f"These cannot be changed: {', '.join(sorted(unknown))}.")
        if ("keep" in clean and clean["keep"] != current.keep) or (
                "topics" in clean and clean["topics"] != current.topics):
            # Keeping more must reach back into the history; documents already saved are
            # in the source's ledger, so only what is new gets downloaded.
            clean["last_id"] = 0
        updated = await self.catalog.update(current.id, **clean)
        self.scheduler.poke()
        return updated

    async def delete_source(self, source_id: str) -> None:
        """Forget the source (its saved files stay); a running sync of it is cancelled."""
        for job in self.jobs.list(states=ACTIVE_STATES, kind=KIND):  # active jobs are hot
            if job.options.get("source_id") == source_id:
                await self.jobs.cancel(job.id)
        gone = await self.catalog.get(source_id)
        await self.catalog.delete(source_id)
        await asyncio.to_thread(self.ledger_path(source_id).unlink, True)
        still_used = {ref for s in await self.catalog.list_all()
                      for ref in targets.secret_refs(s.target)}
        for ref in targets.secret_refs(gone.target):
            if ref not in still_used:  # the last source on that bucket and key
                await asyncio.to_thread(self.vault.delete, ref)
        self.scheduler.poke()

    async def list_sources(self) -> list[TelegramSource]:
        return await self.catalog.list_all()

    async def get_source(self, source_id: str) -> TelegramSource:
        return await self.catalog.get(source_id)

    async def delete_session(self, session_id: str) -> bool:
        """Log the session out and forget it; refused while sources still read through it."""
        users = await self.catalog.using_session(session_id)
        if users:
            names = ", ".join(s.title for s in users[:3])
            raise JobError(f"Sources still use this session ({names}); delete them or move "
                           "them to another session first.")
        return await self.sessions.delete(session_id)

    # ---------------------------------------------------------------- syncing

    async def sync_now(self, source_id: str) -> Job:
        """Queue a sync of the source (or return the one already queued or running)."""
        source = await self.catalog.get(source_id)
        latest = self.sync_job(source.id)
        if latest is not None and latest.state == JobState.PAUSED:
            return await self.jobs.retry(latest.id)  # "Sync now" ends the wait, not doubles it
        job = await self.jobs.submit(KIND, sync_url(source.id), {"source_id": source.id},
                                     title=f"Sync {source.title}")
        if job.id != source.last_job_id:
            self._latest[source.id] = job.id
            await self.catalog.update(source.id, last_job_id=job.id)
        return job

    def sync_job(self, source_id: str) -> Job | None:
        """The newest sync job of this source, if any: looked up by the id the source keeps,
        so listing sources costs the same with ten past syncs or fifty thousand."""
        if source_id not in self._latest:
            state = self.catalog.sync_state(source_id)
            # Only a source synced before sources kept their job's id needs a search.
            self._latest[source_id] = state.get("last_job_id") or (
                self._search_history(source_id) if state.get("last_sync_at") else None)
        job_id = self._latest[source_id]
        job = self.jobs.get(job_id, whole=False) if job_id else None
        if job is None and job_id:  # deleted: the one before it, if any
            self._latest[source_id] = self._search_history(source_id)
            job = self.jobs.get(self._latest[source_id] or "", whole=False)
        return job

    def _search_history(self, source_id: str) -> str | None:
        """The newest sync job of a source kept before sources knew theirs (once a source)."""
        offset = 0
        while True:
            page, total = self.jobs.page(kind=KIND, offset=offset, limit=200)
            for job in page:
                if job.options.get("source_id") == source_id:
                    return job.id
            offset += 200
            if offset >= total or not page:
                return None

    async def run_job(self, ctx: JobContext) -> None:
        from audiofetch_app.sources.telegram.sync import run_sync

        await run_sync(ctx, self)


def _check_interval(value: Any) -> float:
    try:
        hours = float(value or 0)
    except (TypeError, ValueError) as exc:
        raise JobError("The sync interval is a number of hours.") from exc
    if hours < 0 or hours > 24 * 30:
        raise JobError("Sync every 0 (never by itself) to 720 hours.")
    return hours


def _check_topics(chosen: list[int] | None, known: list[Topic]) -> list[int] | None:
    if chosen is None or not known:
        return None
    ids = {t.id for t in known}
    unknown = [t for t in chosen if int(t) not in ids]
    if unknown:
        raise JobError(f"This forum has no topic {unknown[0]}.")
    return [int(t) for t in chosen]
