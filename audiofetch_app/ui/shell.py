"""The page every client sees: header, source tabs, the Jobs tab, settings and toasts."""

from __future__ import annotations

from nicegui import ui

from audiofetch_app.core.job_record import ACTIVE_STATES, JobState
from audiofetch_app.core.jobs import JobEvent
from audiofetch_app.settings import WINDOW_TABS
from audiofetch_app.ui import page_tab, spaces_tab, state
from audiofetch_app.ui.jobs_view import JobsView
from audiofetch_app.ui.settings_view import SettingsDialog
from audiofetch_app.ui.telegram import tab as telegram_tab

PRIMARY = "#1f6feb"
TAB_ICONS = ("mic", "library_music", "send", "list")  # in the order of WINDOW_TABS
# A narrow window (a phone on the LAN, a window at half a screen) keeps the tabs' icons only,
# and a link gets a line of its own above its buttons.
NARROW_CSS = """
@media (max-width: 700px) {
  .app-header .q-tab__label, .app-header .app-title { display: none; }
  .app-header .app-tabs { margin-left: 4px; }
  .app-header .q-tab { padding: 0 10px; min-width: 0; }
  .app-header .q-tab__icon { margin-right: 0; }
  .link-row { flex-wrap: wrap !important; }
  .link-row .link-input { flex-basis: 100%; }
}
"""


def build() -> None:
    """Root of the NiceGUI app (one call per connected client)."""
    runtime = state.runtime()
    ui.colors(primary=PRIMARY)
    ui.page_title("AudioFetch")
    ui.add_css(NARROW_CSS)
    settings = SettingsDialog(runtime)
    with ui.header(elevated=True).classes("items-center no-wrap q-py-xs app-header"):
        ui.icon("graphic_eq").classes("text-2xl")
        ui.label("AudioFetch").classes("text-h6 app-title")
        with ui.tabs().props("inline-label no-caps").classes("q-ml-md app-tabs") as tabs:
            spaces, page, telegram, jobs = (
                ui.tab(name, icon=icon).props(f'aria-label="{name}"').tooltip(name)  # narrow:
                for name, icon in zip(WINDOW_TABS, TAB_ICONS, strict=True))  # icons only
            with jobs:
                active_badge = ui.badge(color="orange").props("floating").classes("jobs-badge")
        ui.space()
        if state.lan_mode:
            ui.button(icon="logout", on_click=lambda: ui.run_javascript(
                "fetch('/api/auth/logout', {method: 'POST'})"
                ".then(() => { window.location.href = '/login'; })")) \
                .props('flat round color=white aria-label="Log out"').tooltip("Log out") \
                .mark("logout")
        ui.button(icon="settings", on_click=settings.open) \
            .props('flat round color=white aria-label="Settings"').tooltip("Settings") \
            .mark("settings")

    moving = []  # set while the app, not the person, changes the tab

    def show_jobs() -> None:
        moving.append(True)
        try:
            tabs.set_value(jobs)
        finally:
            moving.clear()

    def remember(event) -> None:
        name = event.value if isinstance(event.value, str) else event.value.props["name"]
        if not moving and name != runtime.settings.get().last_tab:
            runtime.settings.update(last_tab=name)

    tabs.on_value_change(remember)
    with ui.tab_panels(tabs, value=runtime.settings.get().last_tab) \
            .classes("w-full max-w-5xl mx-auto") as panels:
        with ui.tab_panel(spaces):
            spaces_tab.build(runtime, show_jobs)
        with ui.tab_panel(page):
            page_tab.build(runtime, show_jobs)
        with ui.tab_panel(telegram):
            telegram_tab.build(runtime, show_jobs)
        with ui.tab_panel(jobs):
            JobsView(runtime.jobs, local=True)
    Notifier(runtime, panels, active_badge)


class Notifier:
    """Toasts when a job finishes or fails, and the count of active jobs on the Jobs tab."""

    def __init__(self, runtime, anchor: ui.element, badge: ui.badge) -> None:
        self.runtime = runtime
        self.anchor = anchor
        self.badge = badge
        self.states = {job.id: job.state for job in runtime.jobs.list(states=ACTIVE_STATES)}
        self._update_badge()
        ui.context.client.on_delete(runtime.jobs.subscribe(self.on_event))

    def _update_badge(self) -> None:
        active = sum(1 for s in self.states.values() if s in ACTIVE_STATES)
        self.badge.set_text(str(active))
        self.badge.set_visibility(active > 0)

    def on_event(self, event: JobEvent) -> None:
        if event.type == "progress":
            return
        job = event.job
        before = self.states.get(job.id)
        if event.type == "removed":
            self.states.pop(job.id, None)
        else:
            self.states[job.id] = job.state
        if before in ACTIVE_STATES and job.state in (JobState.DONE, JobState.FAILED):
            name = job.title or job.url
            with self.anchor:
                if job.state == JobState.DONE:
                    notice = (job.detail or {}).get("notice")  # a page larger than 5 MB, ...
                    ui.notify(f"Saved: {name}. {notice}" if notice else f"Saved: {name}",
                              type="positive", multi_line=bool(notice))
                else:
                    ui.notify(f"Failed: {name} — {job.error}", type="negative",
                              multi_line=True)
        if job.state not in ACTIVE_STATES:
            self.states.pop(job.id, None)
        self._update_badge()
