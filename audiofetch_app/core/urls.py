"""Links to audio, as every source reads them: which links can be fetched, what a URL's
extension or a Content-Type says the audio is, and a title made from a URL."""

from __future__ import annotations

import mimetypes
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from audiofetch_app.core.job_context import JobError

AUDIO_EXTENSIONS = {
    ".mp3": "mp3", ".m4a": "m4a", ".aac": "aac", ".ogg": "ogg", ".oga": "ogg",
    ".opus": "opus", ".webm": "webm", ".weba": "webm", ".wav": "wav", ".flac": "flac",
    ".m4b": "m4b", ".mp4a": "m4a",
}
CONTENT_TYPE_EXT = {
    "audio/mpeg": "mp3", "audio/mp3": "mp3", "audio/mp4": "m4a", "audio/x-m4a": "m4a",
    "audio/m4a": "m4a", "audio/aac": "aac", "audio/aacp": "aac", "audio/ogg": "ogg",
    "audio/opus": "opus", "audio/webm": "webm", "audio/wav": "wav", "audio/x-wav": "wav",
    "audio/wave": "wav", "audio/flac": "flac", "audio/x-flac": "flac",
}
HLS_TYPES = ("application/vnd.apple.mpegurl", "application/x-mpegurl", "audio/mpegurl",
             "audio/x-mpegurl")


def check_url(url: str) -> str:
    """`url` without surrounding space if it is a complete http(s) address; JobError (one
    sentence a person understands) otherwise."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port  # ValueError when it is not a number from 0 to 65535
    except ValueError:  # "http://[::1": an address urllib cannot read (RFC 3986 §3.2.2)
        raise JobError(f"{url!r} is not a web address AudioFetch can read.") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise JobError("Only http:// and https:// links can be downloaded.")
    if not parts.hostname:
        raise JobError(f"{url!r} is not a complete web address.")
    if port == 0:
        raise JobError(f"{url!r} names port 0, which no server listens on.")
    return url


def is_web_url(url: str) -> bool:
    """True for a complete http(s) address."""
    try:
        check_url(url)
    except JobError:
        return False
    return True


def url_extension(url: str) -> str | None:
    """The audio format a URL's path names by its extension (`mp3`, `m4a`, ...), or None."""
    return AUDIO_EXTENSIONS.get(Path(urlsplit(url).path).suffix.lower())


def title_from_url(url: str) -> str:
    """A readable title from the URL's last path segment (`Chapter_1.mp3` -> `Chapter 1`),
    or the host when the path has none."""
    name = unquote(Path(urlsplit(url).path).name)
    stem = Path(name).stem if Path(name).suffix else name
    return re.sub(r"[_+]+", " ", stem).strip() or urlsplit(url).netloc


def extension_for(content_type: str | None, fallback: str) -> str:
    """The file extension for a Content-Type (RFC 9110 media type, parameters ignored);
    `fallback` when it names no audio format."""
    mime = (content_type or "").split(";")[0].strip().lower()
    if mime in CONTENT_TYPE_EXT:
        return CONTENT_TYPE_EXT[mime]
    guessed = mimetypes.guess_extension(mime) if mime.startswith("audio/") else None
    return guessed.lstrip(".") if guessed else fallback
