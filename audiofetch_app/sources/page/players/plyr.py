"""Plyr: `<audio class="plyr">`, `data-plyr-config`, elements handed to `new Plyr(...)`,
`player.source = {type: 'audio', sources: [...]}` and the track arrays Plyr sites build."""

from __future__ import annotations

from typing import Any

from audiofetch_app.sources.page.players.common import (
    Page,
    PlacedTrack,
    attr,
    best,
    classes,
    element_sources,
    script_pos,
    track_from_object,
    tracks_from_list,
    unique,
)
from audiofetch_app.sources.page.scripts import assignments, calls, parse_literal

NAME = "plyr"
DESCRIPTION = "Plyr players and their track lists"
PRECEDENCE = 10

_MARKUP = "audio.plyr, audio.js-player, audio[data-plyr-config], [data-plyr-config] audio"


def _targets(page: Page) -> list[Any]:
    """Audio elements the scripts hand to Plyr by selector."""
    nodes = []
    for script in page.scripts:
        for _, args in calls(script.tokens, {"Plyr", "setup"}, page.string_env):
            if args and isinstance(args[0], str) and len(args[0]) < 200:
                for node in page.css(args[0]):
                    nodes.extend([node] if node.tag == "audio" else node.css("audio"))
    return nodes


def _element(page: Page, node: Any) -> PlacedTrack | None:
    track = best(element_sources(page, node, NAME))
    holder = node if node.attributes.get("data-plyr-config") else node.parent
    config = parse_literal(attr(holder, "data-plyr-config")) if holder is not None else None
    if track is not None and isinstance(config, dict) and not track.title:
        track.title = str(config.get("title") or "")
    return track


def _source_object(page: Page, value: dict[str, Any], pos: Any) -> PlacedTrack | None:
    if str(value.get("type", "")).lower() != "audio":
        return None
    return track_from_object(page, {"title": value.get("title"), "sources": value.get("sources")},
                             NAME, pos, audio_context=True, trust=True)


def find(page: Page) -> list[PlacedTrack]:
    """Plyr-managed audio, in page order; nothing on pages that do not use Plyr."""
    if "plyr" not in page.html.lower():
        return []
    found: list[PlacedTrack | None] = []
    seen: set[int] = set()
    for node in [*page.css(_MARKUP), *_targets(page)]:
        if node.mem_id not in seen and "plyr__" not in " ".join(classes(node)):
            seen.add(node.mem_id)
            found.append(_element(page, node))
    for script in page.scripts:
        for name, index, value in assignments(script.tokens, page.string_env):
            pos = script_pos(script, script.tokens[index])
            if name == "source" and isinstance(value, dict):
                found.append(_source_object(page, value, pos))
            elif name != "sources" and isinstance(value, list) and any(
                    isinstance(item, dict) for item in value):
                found.extend(tracks_from_list(page, value, NAME, pos))
    return unique(found)
