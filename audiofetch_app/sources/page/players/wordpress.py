"""WordPress: `[audio]` shortcode output, the audio block, and `[playlist]` JSON."""

from __future__ import annotations

from typing import Any

from audiofetch_app.sources.page.players.common import (
    Page,
    PlacedTrack,
    best,
    clean_text,
    element_sources,
    make_track,
    to_number,
    unique,
)
from audiofetch_app.sources.page.scripts import parse_literal

NAME = "wordpress"
DESCRIPTION = "WordPress [audio] and [playlist] shortcodes"
PRECEDENCE = 50

_AUDIO = "audio.wp-audio-shortcode, figure.wp-block-audio audio, .wp-block-audio audio"


def _playlist(page: Page, position: int, data: Any) -> list[PlacedTrack | None]:
    if not isinstance(data, dict) or not isinstance(data.get("tracks"), list):
        return []
    if str(data.get("type", "audio")).lower() not in ("audio", ""):
        return []
    found: list[PlacedTrack | None] = []
    for index, item in enumerate(data["tracks"][:2000]):
        if not isinstance(item, dict):
            continue
        meta = item.get("meta") if isinstance(item.get("meta"), dict) else {}
        title = clean_text(item.get("title")) or clean_text(item.get("caption"))
        number = to_number(meta.get("track_number")) if meta else None
        found.append(make_track(page, item.get("src"), NAME, (position, index + 1),
                                title=title, number=number, mime=item.get("type"),
                                trust=True))
    return found


def find(page: Page) -> list[PlacedTrack]:
    """Shortcode and block audio (cache-buster `?_=N` dropped) and playlist tracks."""
    if "wp-" not in page.html:
        return []
    found: list[PlacedTrack | None] = []
    for node in page.css(_AUDIO):
        found.append(best(element_sources(page, node, NAME)))
    for node in page.css("script.wp-playlist-script"):
        data = parse_literal(node.text(deep=True) or "")
        found.extend(_playlist(page, page.position(node), data))
    return unique(found)
