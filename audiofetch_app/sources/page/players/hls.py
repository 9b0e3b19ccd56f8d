"""HLS audio: `.m3u8` playlists in an audio context: `<audio>` sources, `hls.loadSource(url)`,
stream attributes and stream URLs in scripts on audio-only pages."""

from __future__ import annotations

import re

from audiofetch_app.sources.page.players.common import (
    Page,
    PlacedTrack,
    attr,
    make_track,
    media_title,
    node_text,
    script_pos,
    unique,
)
from audiofetch_app.sources.page.scripts import calls
from audiofetch_app.sources.page.urls import HLS_MIME, is_hls

NAME = "hls"
DESCRIPTION = "HLS audio streams"
PRECEDENCE = 90

_STREAM_ATTRS = ("data-src", "data-stream", "data-url", "data-hls", "data-audio", "data-source",
                 "data-stream-url", "data-hls-url")
_AUDIO_HINT = re.compile(r"new\s+Audio\b|createElement\(\s*['\"]audio|querySelector\(\s*['\"]audio"
                         r"|attachMedia\(\s*[\w.$]*audio", re.IGNORECASE)

_STREAM = re.compile(r"^[^\s<>\"']*[\w-]\.m3u8(?:[?#][^\s<>\"']*)?$")


def _concatenated(tokens: list, index: int) -> bool:
    """A string that is only a piece of a URL built with `+`."""
    return any(0 <= j < len(tokens) and tokens[j].kind == "punct" and tokens[j].value == "+"
               for j in (index - 1, index + 1))


def _audio_page(page: Page) -> bool:
    """A page with audio players and no video players: its streams are audio."""
    return bool(page.css("audio, amp-audio")) and not page.css("video, video-js")


def find(page: Page) -> list[PlacedTrack]:
    """`.m3u8` tracks in audio contexts, in page order."""
    html = page.html.lower()
    if "m3u8" not in html and "mpegurl" not in html and "loadsource" not in html:
        return []
    found: list[PlacedTrack | None] = []
    for node in page.css("audio, amp-audio"):
        title = media_title(node)
        for holder in [node, *node.css("source")]:
            raw, mime = attr(holder, "src", "data-src"), attr(holder, "type")
            url = page.resolve(raw)
            if url and is_hls(url, mime):
                found.append(make_track(page, url, NAME, (page.position(node), 0), title=title,
                                        mime=HLS_MIME, audio_context=True))
    audio_page = _audio_page(page)
    selector = ", ".join(f"[{name}]" for name in _STREAM_ATTRS)
    for node in page.css(selector):
        context = audio_page or any(w in (attr(node, "class") + attr(node, "id")).lower()
                                    for w in ("audio", "radio", "podcast", "listen"))
        for name in _STREAM_ATTRS:
            url = page.resolve(node.attributes.get(name))
            if url and is_hls(url) and context:
                text = node_text(node)
                found.append(make_track(page, url, NAME, (page.position(node), 0),
                                        title=media_title(node) or (text if len(text) < 80 else ""),
                                        mime=HLS_MIME,
                                        audio_context=True))
    for script in page.scripts:
        if ".m3u8" not in script.text and "loadSource" not in script.text:
            continue
        context = audio_page or bool(_AUDIO_HINT.search(script.text))
        if not context:
            continue
        for index, args in calls(script.tokens, {"loadSource"}, page.string_env):
            if args and isinstance(args[0], str):
                found.append(make_track(page, args[0], NAME, script_pos(script,
                                        script.tokens[index]), mime=HLS_MIME, audio_context=True))
        tokens = script.tokens
        for i, token in enumerate(tokens):
            if token.kind != "str" or not isinstance(token.value, str) or not _STREAM.search(
                    token.value) or _concatenated(tokens, i):
                continue
            url = page.resolve(token.value)
            if url and is_hls(url):
                found.append(make_track(page, url, NAME, script_pos(script, token),
                                        mime=HLS_MIME, audio_context=True))
    return unique(found)
