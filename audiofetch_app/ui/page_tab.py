"""The Page audio tab. Until page detection lands it takes direct audio links."""

from __future__ import annotations

from nicegui import ui

from audiofetch_app.runtime import Runtime
from audiofetch_app.ui.link_form import LinkForm


def build(runtime: Runtime, on_started) -> None:
    ui.label("Page audio").classes("text-h6")
    ui.label("Paste a link to an audio file (mp3, m4a, ogg, opus, flac, wav …) or an HLS "
             "audio playlist.").classes("text-grey-7")
    LinkForm(runtime.jobs, placeholder="https://example.com/audio/episode-1.mp3",
             on_started=on_started, marker="page")
