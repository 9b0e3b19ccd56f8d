"""Video.js playing audio: `data-setup` sources, `<video-js>`, `videojs(id, {sources})`,
`player.src([...])` and `player.playlist([...])`. Video sources are left alone."""

from __future__ import annotations

from typing import Any

from audiofetch_app.sources.page.players.common import (
    Page,
    PlacedTrack,
    attr,
    best,
    classes,
    element_sources,
    media_title,
    script_pos,
    track_from_object,
    tracks_from_list,
    unique,
)
from audiofetch_app.sources.page.scripts import assigned_name, calls, parse_literal, receiver

NAME = "videojs"
DESCRIPTION = "Video.js players with audio sources"
PRECEDENCE = 40

_MARKUP = "video-js, audio.video-js, video.video-js, audio[data-setup], video[data-setup]"


def _audio_only(node: Any, options: Any) -> bool:
    if node is None:
        return False
    if node.tag == "audio" or classes(node) & {"vjs-audio", "vjs-audio-only-mode"}:
        return True
    return isinstance(options, dict) and bool(options.get("audioOnlyMode")
                                              or options.get("audioPosterMode"))


def _sources(page: Page, raw: Any, pos: Any, title: str, audio: bool) -> PlacedTrack | None:
    """The best audio one among alternative sources (a string, a {src,type} or a list)."""
    return track_from_object(page, {"title": title, "sources": raw if isinstance(raw, list)
                                    else [raw]}, NAME, pos, audio_context=audio, trust=audio)


def _element(page: Page, node: Any, options: Any) -> PlacedTrack | None:
    audio = _audio_only(node, options)
    title = media_title(node)
    pos = (page.position(node), 0)
    candidates = element_sources(page, node, NAME, audio_context=audio)
    candidates = [t for t in candidates if audio or t.mime is None or "video" not in t.mime]
    if isinstance(options, dict) and options.get("sources") is not None:
        candidates.append(_sources(page, options["sources"], pos, title, audio))
    return best(candidates)


def _node_by_id(page: Page, target: Any) -> Any:
    if not isinstance(target, str) or not target.strip() or len(target) > 200:
        return None
    selector = target if target[0] in "#." else f'[id="{target}"]'
    nodes = page.css(selector)
    return nodes[0] if nodes else None


def find(page: Page) -> list[PlacedTrack]:
    """Audio the Video.js players on the page play, in page order."""
    if "video-js" not in page.html and "videojs" not in page.html and "data-setup" not in page.html:
        return []
    found: list[PlacedTrack | None] = []
    for node in page.css(_MARKUP):
        found.append(_element(page, node, parse_literal(attr(node, "data-setup"))))
    for script in page.scripts:
        if "videojs" not in script.text:
            continue
        tokens = script.tokens
        players: dict[str, Any] = {}  # variable -> the element id it was created for
        for index, args in calls(tokens, {"videojs", "src", "playlist"}, page.string_env):
            pos = script_pos(script, tokens[index])
            name = tokens[index].value
            if name == "videojs":
                target = args[0] if args else None
                players[assigned_name(tokens, index) or ""] = target
            else:
                dotted = index >= 2 and tokens[index - 1].value == "."
                variable = tokens[index - 2].value if dotted else None
                target = receiver(tokens, index) or players.get(str(variable))
            node = _node_by_id(page, target)
            if name == "videojs":
                options = args[1] if len(args) > 1 else None
                if isinstance(options, dict) and options.get("sources") is not None:
                    found.append(_sources(page, options["sources"], pos, media_title(node)
                                          if node else "", _audio_only(node, options)))
            elif args and name == "src":
                found.append(_sources(page, args[0], pos, "", _audio_only(node, None)))
            elif args and isinstance(args[0], list):
                found.extend(tracks_from_list(page, args[0], NAME, pos,
                                              audio_context=_audio_only(node, None)))
    return unique(found)
