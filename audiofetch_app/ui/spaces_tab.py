"""The Spaces tab: paste a Space link, see what it is, save it as one tagged file."""

from __future__ import annotations

from nicegui import ui

from audiofetch_app import sources
from audiofetch_app.core import net
from audiofetch_app.core.job_context import JobError
from audiofetch_app.sources.runtime import Runtime
from audiofetch_app.sources.spaces import SpacePreview
from audiofetch_app.ui import state

STATE_WORDS = {"Running": "live now", "Ended": "ended", "NotStarted": "scheduled",
               "PrePublished": "scheduled", "Canceled": "cancelled", "TimedOut": "timed out"}


class SpacesTab:
    def __init__(self, runtime: Runtime, on_started) -> None:
        self.runtime = runtime
        self.on_started = on_started
        self.from_network = state.from_network()  # a LAN client's browser
        ui.label("X Spaces").classes("text-h6")
        ui.label("Paste a Space link to see it and save its recording (replays, or live "
                 "Spaces from their start). Direct audio links work here too.") \
            .classes("text-grey-7")
        with ui.row().classes("w-full items-start no-wrap gap-2"):
            self.link = ui.input("Link", placeholder="https://x.com/i/spaces/1YqKDqDkXvWJV") \
                .props("clearable outlined").classes("grow link-input").mark("space-link")
            self.link.on("keydown.enter", self.show_preview)
            ui.button("Preview", icon="visibility", on_click=self.show_preview) \
                .props("outline").classes("q-mt-sm").mark("space-preview")
            self.format = ui.select(["m4a", "mp3"], value=runtime.settings.get().audio_format,
                                    label="Format").classes("w-24").mark("space-format")
            ui.button("Download", icon="download", on_click=self.download) \
                .classes("q-mt-sm download-button").mark("space-download")
        self.card = ui.column().classes("w-full")

    async def show_preview(self) -> None:
        url = (self.link.value or "").strip()
        try:
            link = sources.recognise(url, sources.spaces.KIND)
        except JobError:
            ui.notify("Paste an X Space link (https://x.com/i/spaces/…) to preview it.",
                      type="warning")
            return
        self.card.clear()
        with self.card:
            spinner = ui.spinner(size="lg")
        try:
            found = await sources.preview(self.runtime, link.url, link.kind,
                                          from_network=self.from_network)
            assert isinstance(found, SpacePreview)
        except (JobError, net.NetError) as exc:
            self.card.clear()
            with self.card:
                ui.label(str(exc)).classes("text-negative space-error")
            return
        finally:
            spinner.delete()
        self._render(found)

    def _render(self, found: SpacePreview) -> None:
        meta = found.meta
        self.card.clear()
        with self.card, ui.card().props("flat bordered").classes("w-full space-preview"):
            with ui.row().classes("items-center no-wrap gap-4"):
                if meta.host_avatar_url:
                    ui.image(meta.host_avatar_url).classes("w-16 h-16 rounded-full")
                with ui.column().classes("gap-0"):
                    ui.label(meta.display_title).classes("text-h6")
                    ui.label(meta.host_label)
                ui.space()
                ui.badge(STATE_WORDS.get(meta.state, meta.state),
                         color="red" if meta.state == "Running" else "primary")
            facts = []
            if meta.started_at:
                facts.append(f"Started {meta.started_at:%Y-%m-%d %H:%M} UTC")
            if meta.duration is not None:
                minutes = int(meta.duration // 60)
                facts.append(f"{minutes // 60} h {minutes % 60:02d} min")
            facts.append("replay available" if meta.replay_available else "no replay")
            ui.label(" · ".join(facts)).classes("text-grey-8")
            if meta.speakers:
                ui.label("Speakers: " + ", ".join(s.name or s.screen_name
                                                  for s in meta.speakers)) \
                    .classes("text-caption")
            if found.problem:
                ui.label(found.problem).classes("text-negative space-problem")

    async def download(self) -> None:
        url = (self.link.value or "").strip()
        if not url:
            ui.notify("Paste a link first.", type="warning")
            return
        try:
            link = sources.recognise(url)
            # This tab saves Spaces and audio links; a page's link is fetched as it is.
            kind = sources.direct.KIND if link.kind == sources.page.KIND else link.kind
            job = await sources.submit(self.runtime, url, kind, {"format": self.format.value},
                                       from_network=self.from_network)
        except JobError as exc:
            ui.notify(str(exc), type="negative")
            return
        ui.notify(f"Started: {job.title or url}", type="info")
        self.link.set_value("")
        self.on_started()


def build(runtime: Runtime, on_started) -> None:
    SpacesTab(runtime, on_started)
