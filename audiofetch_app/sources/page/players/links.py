"""Plain links to audio files: `<a href="....mp3">`, `<a type="audio/...">`, and download
scripts handed an audio file name (`/get.php?file=song.mp3`)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from audiofetch_app.sources.page.players.common import (
    Page,
    PlacedTrack,
    attr,
    clean_text,
    make_track,
    node_text,
    unique,
)
from audiofetch_app.sources.page.urls import AUDIO_EXTENSIONS, extension

NAME = "links"
DESCRIPTION = "links to audio files"
PRECEDENCE = 120


_SCRIPT_EXTENSIONS = ("", "php", "asp", "aspx", "ashx", "cgi", "jsp", "pl", "py")


def _download_script(page: Page, href: str | None) -> bool:
    """A server script (not a page) whose query names an audio file."""
    url = page.resolve(href)
    if url is None or extension(url) not in _SCRIPT_EXTENSIONS:
        return False
    query = parse_qsl(urlsplit(url).query)
    return any(value.rsplit(".", 1)[-1].lower() in AUDIO_EXTENSIONS
               for _, value in query if "." in value)


def _title(node) -> str:
    text = node_text(node)
    if not text:
        image = node.css_first("img[alt]")
        text = attr(image, "alt") if image is not None else ""
    text = clean_text(text) or clean_text(attr(node, "title", "aria-label", "download"))
    # A link whose text is its own address says nothing a file name would not.
    if "://" in text or text.startswith(("/", "www.")):
        return ""
    return text


def find(page: Page) -> list[PlacedTrack]:
    """Every link whose address has an audio extension or whose type says audio."""
    found = []
    for node in page.css("a[href], area[href]"):
        mime = attr(node, "type")
        href = node.attributes.get("href")
        trust = mime.lower().startswith("audio/") or _download_script(page, href)
        track = make_track(page, href, NAME, (page.position(node), 0), mime=mime or None,
                           trust=trust, audio_context=True)
        if track is not None:
            track.title = _title(node)
            found.append(track)
    return unique(found)
