"""The Sources sub-page: each source's settings, last sync, files, next run and live sync job."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable

from nicegui import background_tasks, ui

from audiofetch_app.core.job_context import JobError
from audiofetch_app.core.job_record import Job, JobState
from audiofetch_app.core.jobs import JobEvent, JobManager
from audiofetch_app.core.targets import target_label
from audiofetch_app.core.units import describe_progress, human_bytes
from audiofetch_app.sources.telegram import media
from audiofetch_app.sources.telegram.catalog import TelegramSource
from audiofetch_app.sources.telegram.service import KIND, TelegramService
from audiofetch_app.sources.telegram.sessions import SessionRecord
from audiofetch_app.ui.telegram.common import confirm, sentence, when

Action = Callable[[], Awaitable[None] | None]
EditSource = Callable[[TelegramSource], Awaitable[None] | None]


def describe_keep(keep: dict) -> str:
    """"Music, Voice notes · also .zip · from 2024-01-01" for a source's keep dict."""
    kept = media.Keep.from_dict(keep)
    parts = [", ".join(media.KIND_LABELS[k] for k in kept.kinds)] if kept.kinds else []
    if kept.extensions:
        parts.append("also " + ", ".join(f".{e}" for e in kept.extensions))
    if kept.date_from:
        parts.append(f"from {kept.date_from.isoformat()}")
    if kept.date_to:
        parts.append(f"until {kept.date_to.isoformat()}")
    return " · ".join(parts)


def describe_interval(hours: float) -> str:
    if not hours:
        return "only when asked"
    return f"every {hours:g} hour{'s' if hours != 1 else ''}"


def describe_job(job: Job | None) -> tuple[str, str]:
    """What a source's current sync job is doing, and the colour class to show it in."""
    if job is None:
        return "", ""
    if job.state == JobState.QUEUED:
        return "Sync waiting to start", "text-grey-8"
    if job.state == JobState.RUNNING:
        words = ["Syncing", describe_progress(job), job.status]
        return " · ".join(w for w in words if w), "text-primary"
    if job.state == JobState.PAUSED:
        until = f" until {when(job.resume_at)}" if job.resume_at else ""
        return f"Paused{until} — {job.error or ''}".rstrip(" —"), "text-warning"
    return "", ""


class SourceRow:
    """One source's card; `update` redraws its facts, `show_job` its live sync."""

    def __init__(self, page: SourcesPage, source: TelegramSource) -> None:
        self.page = page
        self.source_id = source.id
        with ui.card().props("flat bordered").classes("w-full q-pa-sm tg-source") \
                .mark(f"tg-source-{source.id}"):
            with ui.row().classes("w-full items-center no-wrap gap-2"):
                ui.icon("forum" if source.is_group else "campaign").classes("text-xl")
                with ui.column().classes("gap-0 grow min-w-0"):
                    self.title = ui.label().classes("text-body1").mark("tg-source-title")
                    self.facts = ui.label().classes("text-caption text-grey-7") \
                        .mark("tg-source-facts")
                ui.button("Sync now", icon="sync", on_click=self.sync_now) \
                    .props("flat dense no-caps").mark("tg-sync-now")
                ui.button(icon="edit", on_click=self.edit) \
                    .props('flat dense round aria-label="Edit"').tooltip("Edit") \
                    .mark("tg-edit-source")
                ui.button(icon="delete", on_click=self.delete) \
                    .props('flat dense round aria-label="Delete"').tooltip("Delete") \
                    .mark("tg-delete-source")
            self.sync = ui.label().classes("text-caption").mark("tg-source-sync")
            self.result = ui.label().classes("text-caption text-negative") \
                .mark("tg-source-result")
            self.bar = ui.linear_progress(show_value=False).props("rounded size=4px indeterminate")
            self.job = ui.label().classes("text-caption").mark("tg-source-job")
        self.source = source
        self.update(source)
        self.show_job(page.service.sync_job(source.id))

    def update(self, source: TelegramSource) -> None:
        self.source = source
        at = f" · @{source.username}" if source.username else ""
        self.title.set_text(f"{source.title}{at}")
        session = self.page.session_names.get(source.session_id, "a deleted session")
        self.facts.set_text(f"Session {session} · keeps {describe_keep(source.keep)} · "
                            f"to {target_label(source.target)} · "
                            f"syncs {describe_interval(source.interval_hours)}")
        files = f"{source.files} file{'s' if source.files != 1 else ''}"
        if source.bytes:
            files += f" ({human_bytes(source.bytes)})"
        parts = [f"Last sync {when(source.last_sync_at)}" if source.last_sync_at
                 else "Never synced", files]
        if source.interval_hours and source.next_run_at:
            parts.append(f"next run {when(source.next_run_at)}")
        self.sync.set_text(" · ".join(parts))
        self.result.set_text(f"Last sync failed: {source.last_result}"
                             if source.last_result else source.last_notice or "")
        self.result.set_visibility(bool(source.last_result or source.last_notice))

    def show_job(self, job: Job | None) -> None:
        text, colour = describe_job(job)
        self.job.set_text(text)
        self.job.classes(replace=f"text-caption {colour}")
        self.job.set_visibility(bool(text))
        self.bar.set_visibility(job is not None and job.state == JobState.RUNNING)

    async def sync_now(self) -> None:
        try:
            job = await self.page.service.sync_now(self.source_id)
        except Exception as exc:
            ui.notify(sentence(exc), type="negative")
            return
        self.show_job(job)
        ui.notify(f"Sync started: {self.source.title}", type="info")

    async def edit(self) -> None:
        result = self.page.on_edit(self.source)
        if result is not None:
            await result

    async def delete(self) -> None:
        if not await confirm(f"Stop syncing “{self.source.title}”? The files it saved stay "
                             "where they are.", "Delete", marker="tg-confirm-delete-source"):
            return
        try:
            await self.page.service.delete_source(self.source_id)
        except Exception as exc:
            ui.notify(sentence(exc), type="negative")
            return
        ui.notify(f"Source deleted: {self.source.title}.")
        await self.page.refresh()


class SourcesPage:
    """The sources as cards, kept current by JobManager events (never by polling)."""

    def __init__(self, service: TelegramService, jobs: JobManager, *, on_add: Action,
                 on_edit: EditSource) -> None:
        self.service = service
        self.on_edit = on_edit
        self.session_names: dict[str, str] = {}
        self.rows: dict[str, SourceRow] = {}
        self._reloading: set[str] = set()
        self._again: set[str] = set()
        with ui.row().classes("w-full items-center"):
            ui.label("Sources").classes("text-subtitle1")
            ui.space()
            ui.button("Add source", icon="add", on_click=on_add).mark("tg-add-source")
        self.list = ui.column().classes("w-full gap-2").mark("tg-sources")
        self.empty = ui.label("No sources yet. Add one here, or from a session's channels.") \
            .classes("text-grey-7")
        ui.context.client.on_delete(jobs.subscribe(self._on_event))

    async def refresh(self, sessions: list[SessionRecord] | None = None) -> None:
        """Load every source again and redraw; `sessions` renews the names shown."""
        if sessions is not None:
            self.session_names = {r.id: r.name for r in sessions}
        sources = await self.service.list_sources()
        self.list.clear()
        self.rows = {}
        with self.list:
            for source in sources:
                self.rows[source.id] = SourceRow(self, source)
        self.empty.set_visibility(not sources)

    def _on_event(self, event: JobEvent) -> None:
        job = event.job
        if job.kind != KIND:
            return
        source_id = job.options.get("source_id")
        row = self.rows.get(source_id)
        if row is None:
            return
        row.show_job(job if event.type != "removed" else None)
        if event.type == "updated":  # a state change or a saved file: the counts moved
            self._reload(source_id)

    def _reload(self, source_id: str) -> None:
        """Read the source again soon; reloads asked for meanwhile are folded into one more."""
        if source_id in self._reloading:
            self._again.add(source_id)
            return
        self._reloading.add(source_id)
        # A NiceGUI task: stopped with the app's other tasks, never after them.
        background_tasks.create(self._reload_loop(source_id), name=f"tg-source-{source_id}")

    async def _reload_loop(self, source_id: str) -> None:
        try:
            while True:
                self._again.discard(source_id)
                try:
                    source = await self.service.get_source(source_id)
                except JobError:
                    return  # deleted meanwhile
                row = self.rows.get(source_id)
                if row is None or self.list.is_deleted:
                    return
                with contextlib.suppress(RuntimeError):  # the client went away meanwhile
                    row.update(source)
                if source_id not in self._again:
                    return
        finally:
            self._reloading.discard(source_id)
