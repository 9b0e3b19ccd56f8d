"""The Spaces tab. Until the X Spaces source lands it takes direct audio links."""

from __future__ import annotations

import re

from nicegui import ui

from audiofetch_app.runtime import Runtime
from audiofetch_app.ui.link_form import LinkForm

SPACE_LINK = re.compile(r"(?:twitter|x)\.com/i/spaces/", re.I)


def _check(url: str) -> str | None:
    if SPACE_LINK.search(url):
        return ("Saving X Spaces arrives in the next update; for now this tab takes direct "
                "audio links (.mp3, .m4a, .m3u8 …).")
    return None


def build(runtime: Runtime, on_started) -> None:
    ui.label("X Spaces").classes("text-h6")
    ui.label("Paste a direct audio link or an HLS playlist (.m3u8) to save it.") \
        .classes("text-grey-7")
    LinkForm(runtime.jobs, placeholder="https://…/recording.m3u8 or …/audio.mp3",
             check=_check, on_started=on_started, marker="space")
