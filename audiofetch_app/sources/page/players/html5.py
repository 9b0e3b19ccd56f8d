"""HTML5 audio: `<audio src>`, `<audio><source>`, lazy `data-src`, `<amp-audio>`, and
`new Audio(url)` in scripts."""

from __future__ import annotations

from audiofetch_app.sources.page.players.common import (
    Page,
    PlacedTrack,
    best,
    element_sources,
    make_track,
    script_pos,
    unique,
)
from audiofetch_app.sources.page.scripts import calls

NAME = "html5"
DESCRIPTION = "HTML5 <audio>/<source> tags"
PRECEDENCE = 100


def find(page: Page) -> list[PlacedTrack]:
    """One track per audio element (its best source), plus `new Audio("...")` in scripts."""
    found: list[PlacedTrack | None] = []
    for node in page.css("audio, amp-audio"):
        found.append(best(element_sources(page, node, NAME)))
    for script in page.scripts:
        if "Audio" not in script.text:
            continue
        for index, args in calls(script.tokens, {"Audio"}, page.string_env):
            if args and isinstance(args[0], str):
                pos = script_pos(script, script.tokens[index])
                found.append(make_track(page, args[0], NAME, pos, trust=True))
    return unique(found)
