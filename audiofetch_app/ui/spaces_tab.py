"""The Spaces tab: paste a Space link, see what it is, save it as one tagged file."""

from __future__ import annotations

from nicegui import ui

from audiofetch_app import sources
from audiofetch_app.core import net
from audiofetch_app.core.job_context import JobError
from audiofetch_app.core.urls import check_url
from audiofetch_app.sources.runtime import Runtime
from audiofetch_app.sources.spaces import SpacePreview
from audiofetch_app.ui import state
from audiofetch_app.ui.words import human_duration

STATE_WORDS = {"Running": "live now", "Ended": "ended", "NotStarted": "scheduled",
               "PrePublished": "scheduled", "Canceled": "cancelled", "TimedOut": "timed out"}


LIVE = "Running"
NOT_STARTED = ("NotStarted", "PrePublished")
LONGEST_LIVE = 24 * 3600  # a longer "live for" is a clock or data error, not a Space
NOT_A_SPACE = ("Preview shows X Space links (https://x.com/i/spaces/…); Download saves other "
               "audio links as they are.")


def _not_a_space(url: str) -> str:
    """What to say of a link that is no Space: why no source can take it (an address that
    cannot be read, plain words), else that Download saves it as it is."""
    try:
        if "://" in url:
            check_url(url)
        else:
            sources.recognise(url)
    except JobError as exc:
        return str(exc)
    return NOT_A_SPACE


def facts(meta) -> list[str]:
    """What the preview card says under the title: when, how long, and whether it can be
    saved, in words that fit the Space's state."""
    said = []
    if meta.state in NOT_STARTED:
        if meta.scheduled_start:
            said.append(f"Scheduled for {meta.scheduled_start:%Y-%m-%d %H:%M} UTC")
        return said
    if meta.state == LIVE:
        if meta.started_at:
            said.append(f"Live since {meta.started_at:%Y-%m-%d %H:%M} UTC")
            if meta.duration is not None and meta.duration < LONGEST_LIVE:
                said.append(f"for {human_duration(meta.duration)}")
        said.append("recorded from its start until it ends or you stop it")
        return said
    if meta.started_at:
        said.append(f"Started {meta.started_at:%Y-%m-%d %H:%M} UTC")
    if meta.ended_at and meta.duration is not None:
        said.append(human_duration(meta.duration))
    if meta.state == "Ended":
        said.append("replay available" if meta.replay_available else "no replay")
    return said


class SpacesTab:
    def __init__(self, runtime: Runtime, on_started) -> None:
        self.runtime = runtime
        self.on_started = on_started
        self.from_network = state.from_network()  # a LAN client's browser
        self.found: SpacePreview | None = None
        self.found_for = ""  # the link the preview card belongs to
        ui.label("X Spaces").classes("text-h6")
        ui.label("Paste a Space link to see it and save its recording (replays, or live "
                 "Spaces from their start). Direct audio links work here too.") \
            .classes("text-grey-7")
        with ui.row().classes("w-full items-start no-wrap gap-2 link-row"):
            self.link = ui.input("Link", placeholder="https://x.com/i/spaces/1YqKDqDkXvWJV") \
                .props("clearable outlined").classes("grow link-input").mark("space-link")
            self.link.on("keydown.enter", self.show_preview)
            self.link.on_value_change(self._link_changed)
            ui.button("Preview", icon="visibility", on_click=self.show_preview) \
                .props("outline").classes("q-mt-sm").mark("space-preview")
            self.format = ui.select(["m4a", "mp3"], value=runtime.settings.get().audio_format,
                                    label="Format").classes("w-24").mark("space-format")
            self.button = ui.button("Download", icon="download", on_click=self.download) \
                .classes("q-mt-sm download-button").mark("space-download")
        self.card = ui.column().classes("w-full")
        # Saved settings reach this page at once (the format chosen in Settings).
        ui.context.client.on_delete(runtime.settings.subscribe(
            lambda saved: self.format.set_value(saved.audio_format)))

    def _link_changed(self, _event=None) -> None:
        if (self.link.value or "").strip() != self.found_for:
            self._forget()

    def _forget(self) -> None:
        """The card and the button belong to one link: a new link starts afresh."""
        self.found, self.found_for = None, ""
        self.card.clear()
        self._set_button("Download", "download", None)

    def _set_button(self, text: str, icon: str, refused: str | None) -> None:
        self.button.set_text(text)
        self.button.props(f'icon="{icon}"')
        if refused:
            self.button.disable()
        else:
            self.button.enable()

    def _say(self, text: str) -> None:
        self.card.clear()
        with self.card:
            ui.label(text).classes("text-negative space-error")

    async def show_preview(self) -> SpacePreview | None:
        """Preview the link's Space (None, with a sentence in the card, when there is none)."""
        url = (self.link.value or "").strip()
        self._forget()
        try:
            link = sources.recognise(url, sources.spaces.KIND)
        except JobError:
            self._say(_not_a_space(url))
            return None
        with self.card:
            spinner = ui.spinner(size="lg")
        try:
            found = await sources.preview(self.runtime, link.url, link.kind,
                                          from_network=self.from_network)
            assert isinstance(found, SpacePreview)
        except (JobError, net.NetError) as exc:
            self._say(str(exc))
            return None
        finally:
            spinner.delete()
        if (self.link.value or "").strip() != url:
            return None  # another link was pasted meanwhile
        self.found, self.found_for = found, url
        self._render(found)
        if found.problem:
            self._set_button("Download", "download", found.problem)
        elif found.meta.state == LIVE:
            self._set_button("Record live", "fiber_manual_record", None)
        return found

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
                         color="red" if meta.state == LIVE else "primary")
            ui.label(" · ".join(facts(meta))).classes("text-grey-8 space-facts")
            if meta.speakers:
                ui.label("Speakers: " + ", ".join(s.name or s.screen_name
                                                  for s in meta.speakers)) \
                    .classes("text-caption")
            if found.problem:
                ui.label(f"Nothing to download: {found.problem}") \
                    .classes("text-negative space-problem")

    async def download(self) -> None:
        url = (self.link.value or "").strip()
        if not url:
            ui.notify("Paste a link first.", type="warning")
            return
        title = ""
        try:
            link = sources.recognise(url)
            if link.kind == sources.spaces.KIND:
                found = self.found if self.found_for == url else await self.show_preview()
                if found is None or found.problem:
                    return  # the card says why
                title = found.meta.display_title
            # This tab saves Spaces and audio links; a page's link is fetched as it is.
            kind = sources.direct.KIND if link.kind == sources.page.KIND else link.kind
            await sources.submit(self.runtime, url, kind, {"format": self.format.value},
                                 title=title, from_network=self.from_network)
        except (JobError, net.NetError) as exc:
            self._say(str(exc))
            return
        self.link.set_value("")
        self.on_started()


def build(runtime: Runtime, on_started) -> None:
    SpacesTab(runtime, on_started)
