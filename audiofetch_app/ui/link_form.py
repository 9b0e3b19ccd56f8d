"""A link box that starts a download job; the source tabs build on it."""

from __future__ import annotations

from collections.abc import Callable

from nicegui import ui

from audiofetch_app.core import registry
from audiofetch_app.core.job_context import JobError
from audiofetch_app.core.jobs import JobManager
from audiofetch_app.sources import direct

# Checks a tab makes before starting: return a sentence to refuse the link, or None.
LinkCheck = Callable[[str], str | None]


class LinkForm:
    def __init__(self, manager: JobManager, *, placeholder: str, kind: str = direct.KIND,
                 check: LinkCheck | None = None, on_started: Callable[[], None] | None = None,
                 marker: str = "link") -> None:
        self.manager = manager
        self.kind = kind
        self.check = check
        self.on_started = on_started
        with ui.row().classes("w-full items-start no-wrap gap-2"):
            self.link = ui.input("Link", placeholder=placeholder) \
                .props("clearable outlined").classes("grow link-input").mark(f"{marker}-link")
            self.link.on("keydown.enter", self.submit)
            self.button = ui.button("Download", icon="download", on_click=self.submit) \
                .classes("q-mt-sm download-button").mark(f"{marker}-download")

    async def submit(self) -> None:
        url = (self.link.value or "").strip()
        if not url:
            ui.notify("Paste a link first.", type="warning")
            return
        try:
            url = direct.check_url(url)
        except JobError as exc:
            ui.notify(str(exc), type="negative")
            return
        refusal = self.check(url) if self.check else None
        if refusal:
            ui.notify(refusal, type="warning")
            return
        kind = self.kind if self.kind in {s.kind for s in registry.all_sources()} \
            else direct.KIND
        title = direct.title_from_url(url) if kind == direct.KIND else ""
        job = await self.manager.submit(kind, url, title=title)
        ui.notify(f"Started: {job.title or url}", type="info")
        self.link.set_value("")
        if self.on_started:
            self.on_started()
