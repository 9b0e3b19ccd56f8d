"""Script players: JW Player `setup()` playlists, jPlayer `setMedia` and `jPlayerPlaylist`,
APlayer `audio: [...]`, Amplitude `songs: [...]`, SoundManager 2 link markup, and any other
array of `{title, src|file|url}` objects a script holds whose URLs are plainly audio."""

from __future__ import annotations

from typing import Any

from audiofetch_app.sources.page.players.common import (
    Page,
    PlacedTrack,
    Position,
    Script,
    attr,
    make_track,
    node_text,
    script_pos,
    track_from_object,
    tracks_from_list,
    unique,
)
from audiofetch_app.sources.page.scripts import OutOfBudget, Reader, calls, receiver

NAME = "scripts"
DESCRIPTION = "JW Player, jPlayer, APlayer, Amplitude and SoundManager 2 playlists"
PRECEDENCE = 80

_JPLAYER_KEYS = ("mp3", "m4a", "oga", "webma", "wav", "fla", "flac", "m3u8a", "rtmpa")
_SM2_LINKS = ("a.sm2_button, a.sm2_link, a.sm2-exclude-none, ul.playlist li a, "
              "ul.graphic li a, .sm2-playlist-bd li a, .sm2-playlist-wrapper li a")
_MAX_ARRAYS = 2000


def _jwplayer(page: Page, script: Script, found: list[PlacedTrack | None]) -> None:
    tokens = script.tokens
    for index, args in calls(tokens, {"setup", "load"}, page.string_env):
        if not args or not isinstance(args[0], dict | list):
            continue
        config = args[0] if isinstance(args[0], dict) else {"playlist": args[0]}
        target = str(receiver(tokens, index) or "")
        height = config.get("height")
        audio = "audio" in target.lower() or (isinstance(height, int | float) and height <= 60)
        pos = script_pos(script, tokens[index])
        playlist = config.get("playlist")
        if isinstance(playlist, list):
            found.extend(tracks_from_list(page, playlist, NAME, pos, audio_context=audio))
        elif config.get("file") or config.get("sources"):
            found.append(track_from_object(page, config, NAME, pos, audio_context=audio))


def _jplayer(page: Page, script: Script, found: list[PlacedTrack | None]) -> None:
    tokens = script.tokens
    for index, args in calls(tokens, {"jPlayer", "jPlayerPlaylist", "add"}, page.string_env):
        pos = script_pos(script, tokens[index])
        name = tokens[index].value
        if name == "jPlayer" and len(args) > 1 and args[0] == "setMedia":
            found.append(_jplayer_media(page, args[1], pos))
        elif name == "jPlayerPlaylist" and len(args) > 1 and isinstance(args[1], list):
            for i, item in enumerate(args[1][:2000]):
                found.append(_jplayer_media(page, item, (pos[0], pos[1] + i / 10_000)))
        elif name == "add" and args and isinstance(args[0], dict):
            found.append(_jplayer_media(page, args[0], pos))


def _jplayer_media(page: Page, media: Any, pos: Position) -> PlacedTrack | None:
    if not isinstance(media, dict) or not any(key in media for key in _JPLAYER_KEYS):
        return None
    return track_from_object(page, media, NAME, pos, trust=True, audio_context=True,
                             url_keys=_JPLAYER_KEYS)


def _aplayer(page: Page, script: Script, found: list[PlacedTrack | None]) -> None:
    tokens = script.tokens
    for index, args in calls(tokens, {"APlayer", "add"}, page.string_env):
        if not args:
            continue
        value = args[0]
        if tokens[index].value == "APlayer":
            value = value.get("audio") if isinstance(value, dict) else None
        found.extend(tracks_from_list(page, value, NAME, script_pos(script, tokens[index]),
                                      trust=True))


def _amplitude(page: Page, script: Script, found: list[PlacedTrack | None]) -> None:
    tokens = script.tokens
    for index, args in calls(tokens, {"init", "addSong", "playNow"}, page.string_env):
        if not args or not isinstance(args[0], dict):
            continue
        pos = script_pos(script, tokens[index])
        config = args[0]
        if tokens[index].value != "init":
            found.extend(tracks_from_list(page, config, NAME, pos, trust=True))
            continue
        found.extend(tracks_from_list(page, config.get("songs"), NAME, pos, trust=True))
        playlists = config.get("playlists")
        for playlist in playlists.values() if isinstance(playlists, dict) else []:
            if isinstance(playlist, dict):
                found.extend(tracks_from_list(page, playlist.get("songs"), NAME, pos, trust=True))


def _arrays(page: Page, script: Script, found: list[PlacedTrack | None]) -> None:
    """Any `[{...}, ...]` whose objects name audio files (not a `sources:` list of formats)."""
    tokens = script.tokens
    reader = Reader(tokens, page.string_env)
    parsed, skip_to = 0, 0
    for i, token in enumerate(tokens):
        if i < skip_to or token.value != "[" or token.kind != "punct" or not reader._is(i + 1,
                                                                                       "{"):
            continue
        before = (tokens[i - 2].value, tokens[i - 1].value) if i >= 2 else ("", "")
        if before in (("sources", ":"), ("sources", "="), ("src", "(")):
            continue  # alternative formats of one track, read by the player families
        parsed += 1
        try:
            value, end = reader.value(i, 1)
        except OutOfBudget:
            break
        if parsed > _MAX_ARRAYS:
            break
        pos = script_pos(script, token)
        for index, items in enumerate(_object_lists(value)):
            found.extend(tracks_from_list(page, items, NAME, (pos[0], pos[1] + index / 100)))
        skip_to = end  # nested arrays were read with this one


def _object_lists(value: Any, depth: int = 0) -> list[list[Any]]:
    """Every list of objects inside a value (not `sources` lists), outermost first."""
    if depth > 12:
        return []
    found: list[list[Any]] = []
    children: list[Any] = []
    if isinstance(value, list):
        if any(isinstance(item, dict) for item in value):
            found.append(value)
        children = value
    elif isinstance(value, dict):
        children = [v for k, v in value.items() if k != "sources"]
    for child in children[:2000]:
        if isinstance(child, list | dict):
            found.extend(_object_lists(child, depth + 1))
    return found


def _soundmanager(page: Page, found: list[PlacedTrack | None]) -> None:
    for node in page.css(_SM2_LINKS):
        found.append(make_track(page, node.attributes.get("href"), NAME, (page.position(node), 0),
                                title=node_text(node) or attr(node, "title"),
                                mime=attr(node, "type") or None, trust=True))


def find(page: Page) -> list[PlacedTrack]:
    """Tracks of the script players the page sets up, in page order."""
    found: list[PlacedTrack | None] = []
    html = page.html.lower()
    if "soundmanager" in html or "sm2" in html:
        _soundmanager(page, found)
    for script in page.scripts:
        if not script.is_javascript:
            continue
        text = script.text
        if "jwplayer" in text:
            _jwplayer(page, script, found)
        if "jPlayer" in text:
            _jplayer(page, script, found)
        if "APlayer" in text:
            _aplayer(page, script, found)
        if "Amplitude" in text:
            _amplitude(page, script, found)
        _arrays(page, script, found)
    return unique(sorted((t for t in found if t is not None), key=lambda t: t.position))
