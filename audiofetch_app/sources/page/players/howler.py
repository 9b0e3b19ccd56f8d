"""Howler.js: `new Howl({src: [...]})`, with `base + name + ext` strings worked out when the
parts are string literals or string variables."""

from __future__ import annotations

from audiofetch_app.sources.page.players.common import (
    Page,
    PlacedTrack,
    clean_text,
    script_pos,
    track_from_object,
    unique,
)
from audiofetch_app.sources.page.scripts import assigned_name, calls

NAME = "howler"
DESCRIPTION = "Howler.js sounds"
PRECEDENCE = 20


def find(page: Page) -> list[PlacedTrack]:
    """One track per Howl (its best source), titled by what the script calls it."""
    found: list[PlacedTrack | None] = []
    for script in page.scripts:
        if "Howl" not in script.text:
            continue
        for index, args in calls(script.tokens, {"Howl"}, page.string_env):
            if not args or not isinstance(args[0], dict):
                continue
            options = args[0]
            title = clean_text(options.get("title") or options.get("name")) or (
                assigned_name(script.tokens, index) or "")
            src = options.get("src")
            sources = src if isinstance(src, list) else [src]
            formats = options.get("format")
            items = []
            for i, item in enumerate(sources):
                fmt = formats[i] if isinstance(formats, list) and i < len(formats) else None
                items.append({"src": item, "type": fmt} if isinstance(fmt, str) else item)
            found.append(track_from_object(page, {"title": title, "sources": items}, NAME,
                                           script_pos(script, script.tokens[index]),
                                           audio_context=True, trust=True))
    return unique(found)
