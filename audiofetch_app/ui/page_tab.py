"""The Page audio tab: find a page's tracks, pick some, save them as a ZIP or a folder."""

from __future__ import annotations

import asyncio

import httpx
from nicegui import ui

from audiofetch_app import sources
from audiofetch_app.core import net
from audiofetch_app.core.job_context import JobError
from audiofetch_app.core.jobs import JobEvent
from audiofetch_app.core.units import human_bytes
from audiofetch_app.core.urls import title_from_url
from audiofetch_app.sources.page.downloader import planned_extension
from audiofetch_app.sources.page.finder import PagePreview
from audiofetch_app.sources.page.options import track_dicts
from audiofetch_app.sources.runtime import Runtime
from audiofetch_app.ui import state
from audiofetch_app.ui.words import bounded_number

HEAD_TIMEOUT = 5.0
COLUMNS = [
    {"name": "n", "label": "#", "field": "n", "align": "right"},
    # A long title wraps (Quasar cells do not by default), so the size stays in sight.
    {"name": "title", "label": "Title", "field": "title", "align": "left",
     "style": "white-space: normal; overflow-wrap: anywhere; min-width: 8rem"},
    # Quasar's gt-xs: shown from 600 px up, so a narrow window keeps title and size in sight.
    {"name": "family", "label": "Found by", "field": "family", "align": "left",
     "classes": "gt-xs", "headerClasses": "gt-xs"},
    {"name": "type", "label": "Type", "field": "type", "align": "left",
     "classes": "gt-xs", "headerClasses": "gt-xs"},
    {"name": "size", "label": "Size", "field": "size", "align": "right"},
]
# Quasar's own words are "5 records selected".
SELECTED_LABEL = (':selected-rows-label="n => n + (n === 1 ? \' track\' : \' tracks\') + '
                  '\' selected\'"')
PROGRESS_COLUMNS = [
    {"name": "n", "label": "#", "field": "n", "align": "right"},
    {"name": "name", "label": "File", "field": "name", "align": "left"},
    {"name": "state", "label": "State", "field": "state", "align": "left"},
    {"name": "progress", "label": "Progress", "field": "progress", "align": "right"},
]


async def head_size(client, url: str) -> int | None:
    """Content-Length from a HEAD request, when the server answers one quickly."""
    try:
        async with asyncio.timeout(HEAD_TIMEOUT):
            response = await client.head(url)
    except (TimeoutError, httpx.HTTPError):  # a size is a nicety, never an error
        return None
    length = response.headers.get("content-length")
    return int(length) if response.status_code < 400 and length and length.isdigit() else None


class PageTab:
    def __init__(self, runtime: Runtime, on_started) -> None:
        self.runtime = runtime
        self.on_started = on_started
        self.from_network = state.from_network()  # a LAN client's browser
        self.found: PagePreview | None = None
        self.job_id: str | None = None
        self.searches = 0  # each search owns the screen until the next one starts
        settings = runtime.settings.get()
        ui.label("Page audio").classes("text-h6")
        ui.label("Paste the link of a page with audio players (an audiobook's chapter list, "
                 "a podcast page, a blog post) to find every track it offers.") \
            .classes("text-grey-7")
        with ui.row().classes("w-full items-start no-wrap gap-2 link-row"):
            self.link = ui.input("Link", placeholder="https://example.com/audiobook/chapters") \
                .props("clearable outlined").classes("grow link-input").mark("page-link")
            self.link.on("keydown.enter", self.find)
            self.find_button = ui.button("Find audio", icon="search", on_click=self.find) \
                .classes("q-mt-sm").mark("page-find")
        self.status = ui.label().classes("text-grey-8 page-status").mark("page-status")
        # The download's progress, above the tracks so that it is in sight when it starts.
        self.progress = ui.table(columns=PROGRESS_COLUMNS, rows=[], row_key="n") \
            .classes("w-full page-progress").mark("page-progress")
        self.progress.set_visibility(False)
        self.table = ui.table(columns=COLUMNS, rows=[], row_key="url",
                              selection="multiple").classes("w-full page-tracks") \
            .mark("page-tracks").props(SELECTED_LABEL)
        self.table.set_visibility(False)
        with ui.row().classes("w-full items-end gap-4") as self.options:
            self.name = ui.input("Collection name").classes("w-72").mark("page-name")
            self.as_zip = ui.toggle({True: "ZIP", False: "Folder"},
                                    value=settings.page_zip).mark("page-zip")
            self.workers = bounded_number("Parallel downloads", 1, 20,
                                          value=settings.page_workers).classes("w-40") \
                .mark("page-workers")
            ui.button("Download selected", icon="download", on_click=self.download) \
                .mark("page-download")
        self.options.set_visibility(False)
        ui.context.client.on_delete(runtime.jobs.subscribe(self._on_event))

    def _say(self, text: str, *, problem: bool = False) -> None:
        self.status.set_text(text)
        self.status.classes(replace="page-status " + ("text-negative" if problem
                                                      else "text-grey-8"))

    def _reset(self) -> None:
        """A new search: nothing of the last one (tracks, options, a download's progress)
        stays on screen."""
        self.searches += 1
        self.found = None
        self.job_id = None
        self._say("")
        for table in (self.table, self.progress):
            table.rows = []
            table.update()
            table.set_visibility(False)
        self.options.set_visibility(False)

    async def find(self) -> None:
        self._reset()
        search = self.searches
        try:
            link = sources.recognise(self.link.value or "", sources.page.KIND)
        except JobError as exc:
            self._say(str(exc), problem=True)
            return
        self._say("Looking for audio…")
        self.find_button.props("loading")
        try:
            found = await sources.preview(self.runtime, link.url, link.kind,
                                          from_network=self.from_network)
            assert isinstance(found, PagePreview)
            if search != self.searches:
                return  # a newer search owns the screen
            self.found = found
            self._show_tracks()
            async with net.make_client(referer=link.url) as client:
                sizes = await asyncio.gather(*(head_size(client, t.url)
                                               for t in found.tracks[:200]))
        except (JobError, net.NetError) as exc:
            if search == self.searches:
                self._reset()
                self._say(str(exc), problem=True)
            return
        finally:
            self.find_button.props(remove="loading")
        if search != self.searches:
            return
        for row, size in zip(self.table.rows, sizes, strict=False):
            row["size"] = human_bytes(size) if size else ""
        self.table.update()

    def _show_tracks(self) -> None:
        found = self.found
        rows = [{"n": n, "title": t.title or title_from_url(t.url), "family": t.family,
                 "type": (t.mime or planned_extension(t)), "size": "", "url": t.url}
                for n, t in enumerate(found.tracks, start=1)]
        self.table.rows = rows
        self.table.selected = list(rows)
        self.table.update()
        self.table.set_visibility(True)
        self.options.set_visibility(True)
        self.name.set_value(found.title)
        count = len(rows)
        self._say(f"Found {count} track{'s' if count != 1 else ''} on {found.title}."
                  + (f" {found.note}" if getattr(found, "note", "") else ""))

    async def download(self) -> None:
        if self.found is None:
            return
        chosen = [row["url"] for row in self.table.selected]
        if not chosen:
            ui.notify("Tick at least one track.", type="warning")
            return
        if not self.workers.validate():
            return  # the field says what is allowed
        found = self.found
        if found.link.kind != sources.page.KIND:
            # The link was the audio itself: save it as it is, no archive around one file.
            await sources.submit(self.runtime, found.link.url, found.link.kind,
                                 from_network=self.from_network)
            self.on_started()
            return
        wanted = set(chosen)
        name = (self.name.value or "").strip() or found.title
        options = {"name": name, "zip": bool(self.as_zip.value),
                   "workers": int(self.workers.value or 5),
                   "tracks": track_dicts([t for t in found.tracks if t.url in wanted])}
        try:
            job = await sources.submit(self.runtime, found.link.url, found.link.kind, options,
                                       title=name, from_network=self.from_network)
        except JobError as exc:
            ui.notify(str(exc), type="negative")
            return
        self.job_id = job.id
        self.progress.rows = []
        self.progress.update()
        self.progress.set_visibility(True)
        self.on_started()  # to the Jobs tab, as the Spaces tab does

    def _on_event(self, event: JobEvent) -> None:
        if event.job.id != self.job_id:
            return
        tracks = (event.job.detail or {}).get("tracks") or []
        rows = []
        for item in tracks:
            total, done = item.get("total"), item.get("done") or 0
            pct = f"{done * 100 // total}%" if total else human_bytes(done) if done else ""
            state = item.get("error") or item["state"]
            rows.append({"n": item["n"], "name": item["name"], "state": state,
                         "progress": "100%" if item["state"] == "done" else pct})
        self.progress.rows = rows
        self.progress.update()


def build(runtime: Runtime, on_started) -> None:
    PageTab(runtime, on_started)
