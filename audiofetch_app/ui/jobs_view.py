"""The Jobs view: a live, paginated list fed by JobManager events, never by polling."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import datetime
from pathlib import Path

from nicegui import background_tasks, ui

from audiofetch_app.core.job_files import saved_paths
from audiofetch_app.core.job_record import ACTIVE_STATES, RESUMABLE_STATES, Job, JobState
from audiofetch_app.core.jobs import JobError, JobEvent, JobManager
from audiofetch_app.core.units import describe_progress, human_bytes
from audiofetch_app.ui import desktop
from audiofetch_app.ui.words import human_duration

PAGE_SIZE = 25
# A paused job goes on by itself at its time, so it counts as active, not as a problem.
FILTERS: dict[str, frozenset[JobState] | None] = {
    "All": None,
    "Active": ACTIVE_STATES | {JobState.PAUSED},
    "Done": frozenset({JobState.DONE}),
    "Problems": RESUMABLE_STATES - {JobState.PAUSED},
}
STATE_COLORS = {
    JobState.QUEUED: "grey", JobState.RUNNING: "primary", JobState.DONE: "positive",
    JobState.FAILED: "negative", JobState.CANCELLED: "grey-7", JobState.INTERRUPTED: "warning",
    JobState.PAUSED: "warning",
}
KIND_ICONS = {"space": "mic", "page": "library_music", "telegram": "send", "direct": "link"}
REFRESH_DELAY = 0.25  # seconds: many jobs added at once cost one redraw


class JobRow:
    """One job's card; `update` changes only what differs, so events are cheap."""

    def __init__(self, view: JobsView, job: Job) -> None:
        self.view = view
        self.job_id = job.id
        with ui.card().classes("job-row w-full q-pa-sm").props(
                f'data-job-id="{job.id}" flat bordered').mark(f"job-{job.id}") as self.card:
            with ui.row().classes("w-full items-center no-wrap gap-2"):
                ui.icon(KIND_ICONS.get(job.kind, "audiotrack")).classes("text-xl")
                with ui.column().classes("gap-0 grow min-w-0"):
                    self.title = ui.label().classes("text-body1 ellipsis w-full")
                    self.meta = ui.label().classes("text-caption text-grey-7")
                self.badge = ui.badge().classes("job-state")
                self.actions = ui.row().classes("gap-1 no-wrap")
            self.bar = ui.linear_progress(show_value=False).props("rounded size=6px")
            self.detail = ui.label().classes("text-caption")
            self.status = ui.label().classes("text-caption text-primary job-status") \
                .mark("job-status")
        self._state: tuple[JobState, bool] | None = None  # what the actions were drawn for
        self.update(job)

    def update(self, job: Job) -> None:
        self.title.set_text(job.title or job.url)
        when = datetime.fromtimestamp(job.created_at).strftime("%Y-%m-%d %H:%M")
        origin = f" · from {job.origin}" if job.origin else ""  # e.g. a Telegram bot chat
        self.meta.set_text(f"{job.kind} · {when}{origin}")
        fraction = job.progress
        self.bar.set_value(fraction if fraction is not None else 0)
        if fraction is None and job.state == JobState.RUNNING:
            self.bar.props("indeterminate")
        else:
            self.bar.props(remove="indeterminate")
        # An open-ended recording has no "how far": its elapsed time and size say more.
        self.bar.set_visibility((job.active or job.state == JobState.DONE)
                                and not recording_live(job))
        self.status.set_text(job.status if job.state == JobState.RUNNING else "")
        self.status.set_visibility(bool(self.status.text))
        if job.state == JobState.PAUSED:
            until = f"Paused until {_clock(job.resume_at)}" if job.resume_at else "Paused"
            self.detail.set_text(f"{until} · {job.error}" if job.error else until)
            self.detail.classes(replace="text-caption text-warning job-paused")
        elif job.error:
            self.detail.set_text(job.error)
            self.detail.classes(replace="text-caption text-negative job-error")
        elif recording_live(job):
            elapsed = time.time() - (job.started_at or time.time())
            text = f"Recording live · {human_duration(elapsed)} · {human_bytes(job.bytes_done)}"
            self.detail.set_text(text)
            self.detail.classes(replace="text-caption text-grey-8 job-live")
        else:
            text = describe_progress(job)
            if job.state == JobState.DONE and job.output_path:
                text = f"{text}  →  {job.output_path}" if text else job.output_path
            self.detail.set_text(text)
            self.detail.classes(replace="text-caption text-grey-8")
        if (job.state, recording_live(job)) != self._state:
            self._state = (job.state, recording_live(job))
            self.badge.set_text(job.state.value)
            self.badge.props(f"color={STATE_COLORS[job.state]}")
            self.card.props(f'data-job-state="{job.state.value}"')
            self._build_actions(job)

    def _build_actions(self, job: Job) -> None:
        self.actions.clear()
        view, job_id = self.view, job.id
        with self.actions:
            if job.state == JobState.PAUSED:
                ui.button("Resume now", icon="play_arrow",
                          on_click=lambda: view.act("retry", job_id)) \
                    .props("flat dense no-caps").classes("job-resume-now").mark("resume-now")
            if recording_live(job):
                # Stopping keeps what was recorded (the job ends done): say so on the button.
                ui.button("Stop recording", icon="stop",
                          on_click=lambda: view.act("cancel", job_id)) \
                    .props("flat dense no-caps").classes("job-stop-recording") \
                    .tooltip("Stop recording (keeps what was recorded)").mark("stop-recording")
            elif job.active or job.state == JobState.PAUSED:
                _icon_button("stop", "Cancel", lambda: view.act("cancel", job_id)).mark("cancel")
            elif job.state in RESUMABLE_STATES and job.worth_retrying:
                label = "Resume" if job.state == JobState.INTERRUPTED else "Retry"
                ui.button(label, icon="replay", on_click=lambda: view.act("retry", job_id)) \
                    .props(f'flat dense no-caps aria-label="{label}"') \
                    .classes(f"job-{label.lower()}").mark("retry")
            if job.output_path or job.files:
                _icon_button("folder_open", "Open folder", lambda: view.open_folder(job_id))
                _icon_button("content_copy", "Copy path", lambda: view.copy_path(job_id))
            # No tooltip: it stayed over the menu's first item. The menu says what it does.
            delete = ui.button(icon="delete").props('flat dense round aria-label="Delete"')
            with delete, ui.menu():
                ui.menu_item("Remove from list",
                             on_click=lambda: view.act("delete", job_id)).mark("delete")
                ui.menu_item("Delete with files…",
                             on_click=lambda: view.confirm_delete_files(job_id)) \
                    .mark("delete-files")


def recording_live(job: Job) -> bool:
    """A running recording of something live: it ends when the broadcast does, or when the
    person stops it (and what was recorded is kept)."""
    metadata = (job.detail or {}).get("metadata") or {}
    return job.state == JobState.RUNNING and metadata.get("state") == "Running"


def _clock(timestamp: float) -> str:
    """"18:05" today, "2024-05-02 18:05" on another day."""
    moment = datetime.fromtimestamp(timestamp)
    if moment.date() == datetime.now().date():
        return moment.strftime("%H:%M")
    return moment.strftime("%Y-%m-%d %H:%M")


def _size(path: Path) -> int | None:
    """Bytes in a file or folder; None when it is gone."""
    try:
        if path.is_dir():
            return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        return path.stat().st_size
    except OSError:
        return None


def _nothing_to_delete(job: Job, paths: list[Path]) -> str:
    """Why "Delete with files" would remove no file of `job` (`paths`: what it would)."""
    own = saved_paths(job.files, job.output_path)
    if not own:
        return "This job saved no files of its own; only the job is removed."
    if not paths and any(p.exists() for p in own):
        return "Its files are other jobs' files too, so they stay; only the job is removed."
    return "None of its files is on disk any more; only the job is removed."


def _icon_button(icon: str, tip: str, handler) -> ui.button:
    button = ui.button(icon=icon, on_click=handler)
    button.props(f'flat dense round aria-label="{tip}"').tooltip(tip)
    return button


class JobsView:
    """Paginated jobs; rows on the current page update in place from JobManager events."""

    def __init__(self, manager: JobManager, *, local: bool = True) -> None:
        self.manager = manager
        self.local = local  # open-folder only makes sense on the user's own machine
        self.page = 1
        self.filter = "All"
        self.rows: dict[str, JobRow] = {}
        self._refresh: asyncio.Task[None] | None = None
        with ui.row().classes("w-full items-center gap-4"):
            ui.toggle(list(FILTERS), value=self.filter, on_change=self._set_filter) \
                .props("dense no-caps").classes("jobs-filter").mark("jobs-filter")
            self.count = ui.label().classes("text-caption text-grey-7")
            ui.space()
            self.pager = ui.pagination(1, 1, direction_links=True, value=1,
                                       on_change=self._set_page).props("max-pages=7 boundary-links")
        self.container = ui.column().classes("w-full gap-2 jobs-list").mark("jobs-list")
        self.empty = ui.label("No jobs yet. Paste a link in a tab to start one.") \
            .classes("text-grey-7 q-pa-md")
        unsubscribe = manager.subscribe(self._on_event)
        client = ui.context.client
        client.on_delete(unsubscribe)
        client.on_delete(self._cancel_refresh)
        self.render()

    def render(self) -> None:
        self._cancel_refresh()  # drawn now: a redraw already scheduled has nothing to add
        _, total = self.manager.page(states=FILTERS[self.filter], limit=0)
        pages = max(1, -(-total // PAGE_SIZE))
        self.page = min(self.page, pages)
        visible, total = self.manager.page(states=FILTERS[self.filter],
                                           offset=(self.page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
        self.pager.max = pages
        self.pager.set_value(self.page)
        self.pager.set_visibility(pages > 1)
        self.count.set_text(f"{total} job{'s' if total != 1 else ''}")
        self.empty.set_visibility(not total)
        self.container.clear()
        self.rows = {}
        with self.container:
            for job in visible:
                self.rows[job.id] = JobRow(self, job)

    def _set_filter(self, event) -> None:
        self.filter = event.value
        self.page = 1
        self.render()

    def _set_page(self, event) -> None:
        if event.value and event.value != self.page:
            self.page = event.value
            self.render()

    def _on_event(self, event: JobEvent) -> None:
        row = self.rows.get(event.job.id)
        if event.type in ("added", "removed"):
            self._schedule_refresh()
        elif row is not None:
            row.update(event.job)
            wanted = FILTERS[self.filter]
            if wanted is not None and event.job.state not in wanted:
                self._schedule_refresh()

    def _schedule_refresh(self) -> None:
        if self._refresh is None:
            # A NiceGUI task, so that it stops with the app's others instead of drawing late.
            self._refresh = background_tasks.create(self._refresh_soon(),
                                                    name="jobs-view-refresh")

    async def _refresh_soon(self) -> None:
        await asyncio.sleep(REFRESH_DELAY)
        self._refresh = None
        with contextlib.suppress(RuntimeError):  # the client went away meanwhile
            self.render()

    def _cancel_refresh(self) -> None:
        if self._refresh is not None:
            self._refresh.cancel()
            self._refresh = None

    async def act(self, action: str, job_id: str) -> None:
        try:
            if action == "cancel":
                await self.manager.cancel(job_id)
            elif action == "retry":
                await self.manager.retry(job_id)
            elif action in ("delete", "delete_files"):
                await self.manager.delete(job_id, with_files=action == "delete_files")
                with self.container:
                    ui.notify("Job and its files deleted." if action == "delete_files"
                              else "Job removed from the list.")
        except (KeyError, ValueError, OSError, JobError) as exc:
            with self.container:
                ui.notify(str(exc).strip("'\""), type="warning")

    async def confirm_delete_files(self, job_id: str) -> None:
        """Ask before files go: the dialog names the job and every file, with its size."""
        job = self.manager.get(job_id)
        if job is None:
            return
        try:  # what the delete will remove: not a file another job lists as its own
            paths = await self.manager.deletable_files(job_id)
        except KeyError:
            return
        found = sorted((str(p), size) for p in paths if (size := _size(p)) is not None)
        with self.container, ui.dialog() as dialog, ui.card().classes("delete-confirm"):
            ui.label(f"Delete “{job.title or job.url}” and its files?").classes("text-h6")
            if found:
                for path, size in found[:10]:
                    ui.label(f"{path} ({human_bytes(size)})").classes("text-caption font-mono")
                if len(found) > 10:
                    ui.label(f"and {len(found) - 10} more").classes("text-caption")
            else:
                ui.label(_nothing_to_delete(job, paths)).classes("text-caption")
            with ui.row().classes("w-full justify-end"):
                ui.button("Keep", on_click=dialog.close).props("flat").mark("delete-keep")

                async def delete() -> None:
                    dialog.close()
                    await self.act("delete_files", job_id)

                ui.button("Delete files", icon="delete_forever", color="negative",
                          on_click=delete).mark("delete-confirm")
        dialog.on("hide", dialog.delete)
        dialog.open()

    def _path_of(self, job_id: str) -> Path | None:
        job = self.manager.get(job_id)
        if job is None:
            return None
        path = job.output_path or (job.files[0] if job.files else None)
        return Path(path) if path else None

    def open_folder(self, job_id: str) -> None:
        path = self._path_of(job_id)
        if path is None:
            return
        try:
            if not self.local:
                raise OSError("Folders open only on the computer running AudioFetch.")
            desktop.open_folder(path)
        except OSError as exc:
            with self.container:
                ui.notify(str(exc), type="warning")

    def copy_path(self, job_id: str) -> None:
        path = self._path_of(job_id)
        if path is not None:
            ui.clipboard.write(str(path))
            with self.container:
                ui.notify(f"Copied: {path}")
