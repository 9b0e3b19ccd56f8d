"""MediaElement.js: `mejs__player`/`mejs-player` elements, `data-mejsoptions`, players set up
from scripts, and the playlist plugin, where each `<source>` is a track of its own."""

from __future__ import annotations

from typing import Any

from audiofetch_app.sources.page.players.common import (
    Page,
    PlacedTrack,
    ancestors,
    attr,
    best,
    classes,
    element_sources,
    make_track,
    media_title,
    unique,
)
from audiofetch_app.sources.page.scripts import calls, parse_literal, receiver

NAME = "mediaelement"
DESCRIPTION = "MediaElement.js players and playlists"
PRECEDENCE = 30

_MARKUP = ("audio.mejs__player, audio.mejs-player, video.mejs__player, video.mejs-player, "
           "audio[data-mejsoptions], video[data-mejsoptions], .mejs__container audio, "
           ".mejs-container audio, .mejs__container video, .mejs-container video")


def _selector(target: Any) -> str | None:
    if not isinstance(target, str) or not target.strip() or len(target) > 200:
        return None
    target = target.strip()
    return target if target[0] in "#.[" or " " in target or target in ("audio", "video") \
        else f'[id="{target}"]'


def _script_players(page: Page) -> dict[int, tuple[Any, Any]]:
    """Elements scripts turn into players, with the options they pass: mem_id -> (node, opts)."""
    found: dict[int, tuple[Any, Any]] = {}
    for script in page.scripts:
        text = script.text
        if "MediaElementPlayer" not in text and "mediaelementplayer" not in text:
            continue
        env = page.string_env
        for index, args in calls(script.tokens, {"MediaElementPlayer", "mediaelementplayer"}, env):
            if script.tokens[index].value == "MediaElementPlayer":
                target, options = [*args, None, None][:2]
            else:
                target, options = receiver(script.tokens, index), (args or [None])[0]
            selector = _selector(target)
            for node in page.css(selector) if selector else []:
                for media in [node] if node.tag in ("audio", "video") else node.css("audio, video"):
                    found[media.mem_id] = (media, options)
    return found


def _is_playlist(node: Any, options: Any) -> bool:
    if isinstance(options, dict) and ("playlist" in str(options.get("features", "")).lower()
                                      or options.get("playlist") is True):
        return True
    if any("playlist" in c for c in classes(node)) or any(
            "playlist" in " ".join(classes(a)) for a in ancestors(node, 3)):
        return True
    titled = {attr(s, "title", "data-title") for s in node.css("source")}
    return len(titled - {""}) >= 2


def _playlist(page: Page, node: Any) -> list[PlacedTrack | None]:
    audio = node.tag == "audio"
    pos = page.position(node)
    found = []
    for index, source in enumerate(node.css("source")):
        found.append(make_track(page, attr(source, "src", "data-src"), NAME, (pos, index + 1),
                                title=attr(source, "title", "data-title") or media_title(node),
                                mime=attr(source, "type") or None, audio_context=audio,
                                trust=audio))
    return found


def find(page: Page) -> list[PlacedTrack]:
    """Each player's best source, or every source of a playlist player, in page order."""
    html = page.html.lower()
    if "mejs" not in html and "mediaelement" not in html:
        return []
    players = {n.mem_id: (n, None) for n in page.css(_MARKUP)}
    for mem_id, (node, options) in _script_players(page).items():
        players[mem_id] = (node, options)
    found: list[PlacedTrack | None] = []
    for node, options in sorted(players.values(), key=lambda p: page.position(p[0])):
        if options is None:
            options = parse_literal(attr(node, "data-mejsoptions"))
        if _is_playlist(node, options):
            found.extend(_playlist(page, node))
        else:
            found.append(best(element_sources(page, node, NAME,
                                              audio_context=node.tag == "audio")))
    return unique(found)
