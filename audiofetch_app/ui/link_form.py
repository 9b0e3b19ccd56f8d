"""A link box that starts a direct-link download job."""

from __future__ import annotations

from collections.abc import Callable

from nicegui import ui

from audiofetch_app.core.job_context import JobError
from audiofetch_app.core.jobs import JobManager
from audiofetch_app.sources import direct


class LinkForm:
    def __init__(self, manager: JobManager, *, placeholder: str,
                 on_started: Callable[[], None] | None = None, marker: str = "link") -> None:
        self.manager = manager
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
        job = await self.manager.submit(direct.KIND, url, title=direct.title_from_url(url))
        ui.notify(f"Started: {job.title or url}", type="info")
        self.link.set_value("")
        if self.on_started:
            self.on_started()
