"""URL handling for page detection: resolve what a page says into absolute http(s) URLs,
recognise audio by extension or type, and normalise URLs for de-duplication."""

from __future__ import annotations

import posixpath
import re
from urllib.parse import parse_qsl, quote, unquote, urlencode, urljoin, urlsplit, urlunsplit

AUDIO_EXTENSIONS = frozenset(
    {"mp3", "m4a", "m4b", "aac", "ogg", "oga", "opus", "webm", "weba", "wav", "flac", "m3u8"}
)
HLS_MIME = "application/vnd.apple.mpegurl"

EXTENSION_MIME = {
    "mp3": "audio/mpeg", "m4a": "audio/mp4", "m4b": "audio/mp4", "aac": "audio/aac",
    "ogg": "audio/ogg", "oga": "audio/ogg", "opus": "audio/opus", "webm": "audio/webm",
    "weba": "audio/webm", "wav": "audio/wav", "flac": "audio/flac", "m3u8": HLS_MIME,
}
_MIME_ALIASES = {
    "audio/mp3": "audio/mpeg", "audio/x-mp3": "audio/mpeg", "audio/mpeg3": "audio/mpeg",
    "audio/x-mpeg": "audio/mpeg", "audio/mpa": "audio/mpeg", "audio/x-m4a": "audio/mp4",
    "audio/m4a": "audio/mp4", "audio/x-aac": "audio/aac", "audio/x-wav": "audio/wav",
    "audio/wave": "audio/wav", "audio/x-flac": "audio/flac", "audio/oga": "audio/ogg",
    "application/x-mpegurl": HLS_MIME, "audio/mpegurl": HLS_MIME, "audio/x-mpegurl": HLS_MIME,
    "application/mpegurl": HLS_MIME, "vnd.apple.mpegurl": HLS_MIME,
    "application/vnd.apple.mpegurl.audio": HLS_MIME,
}
# The short format names players use as `type` or as keys (jPlayer `mp3:`, `oga:`).
_FORMAT_MIME: dict[str, str | None] = {
    "mp3": "audio/mpeg", "m4a": "audio/mp4", "oga": "audio/ogg", "ogg": "audio/ogg",
    "webma": "audio/webm", "wav": "audio/wav", "fla": "audio/x-flv", "aac": "audio/aac",
    "flac": "audio/flac", "opus": "audio/opus", "hls": HLS_MIME, "m3u8a": HLS_MIME, "rtmpa": None,
}

# Lower is better: direct, widely playable files first, HLS last.
_PREFERENCE = {"audio/mpeg": 0, "audio/mp4": 0, "audio/aac": 0, "audio/x-m4b": 0,
               "audio/flac": 1, "audio/wav": 1, "audio/ogg": 2, "audio/opus": 2,
               "audio/webm": 2, HLS_MIME: 4}

_REJECTED_SCHEMES = ("javascript:", "data:", "blob:", "about:", "mailto:", "tel:", "file:")
_ENTITY = re.compile(r"&(amp|quot|apos|lt|gt|#\d{1,7}|#[xX][0-9a-fA-F]{1,6});")
_ENTITY_TEXT = {"amp": "&", "quot": '"', "apos": "'", "lt": "<", "gt": ">"}
_CACHE_BUSTER = "_"
_DEFAULT_PORTS = {"http": 80, "https": 443}
_HOSTNAME = re.compile(r"[a-z0-9_~-]+(?:\.[a-z0-9_~-]+)*\.?")
_IPV6 = re.compile(r"[0-9a-f:.]+(?:%[\w.~-]+)?")


def _entity(match: re.Match[str]) -> str:
    name = match.group(1)
    if name in _ENTITY_TEXT:
        return _ENTITY_TEXT[name]
    try:
        code = int(name[2:], 16) if name[1] in "xX" else int(name[1:])
        return chr(code) if 0 < code < 0x110000 else ""
    except ValueError:
        return ""


def unescape_entities(text: str) -> str:
    """Undo (possibly repeated) HTML escaping such as `&amp;amp;`; leaves `&copy=1` alone."""
    for _ in range(3):
        if "&" not in text:
            break
        new = _ENTITY.sub(_entity, text)
        if new == text:
            break
        text = new
    return text


def _strip_cache_buster(query: str) -> str:
    if "_=" not in query:
        return query
    pairs = parse_qsl(query, keep_blank_values=True)
    kept = [(k, v) for k, v in pairs if not (k == _CACHE_BUSTER and v.isdigit())]
    return query if len(kept) == len(pairs) else urlencode(kept)


def _host(netloc: str, scheme: str) -> str | None:
    parts = urlsplit(f"{scheme}://{netloc}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if not host:
        return None
    try:
        host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        return None
    host = host.lower()
    if ":" in host:
        if not _IPV6.fullmatch(host):
            return None
        host = f"[{host}]"
    elif not _HOSTNAME.fullmatch(host):
        return None
    userinfo = quote(netloc.rpartition("@")[0], safe=":%!$&'()*+,;=~") if "@" in netloc else ""
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    return f"{userinfo}@{netloc}" if userinfo else netloc


def resolve_url(raw: object, base: str) -> str | None:
    """An absolute http(s) URL for `raw` as written in a page, or None if it is not one."""
    if not isinstance(raw, str):
        return None
    text = unescape_entities(raw)
    text = re.sub(r"[\t\n\r]", "", text).strip(" \x00\x0b\x0c\"'")
    if not text or text.startswith("#") or text.lower().startswith(_REJECTED_SCHEMES):
        return None
    if len(text) > 8192:
        return None
    try:
        absolute = urljoin(base, text)
        parts = urlsplit(absolute)
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        return None
    netloc = _host(parts.netloc, scheme)
    if netloc is None:
        return None
    path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=~")
    query = quote(_strip_cache_buster(parts.query), safe="/%:@!$&'()*+,;=?~")
    return urlunsplit((scheme, netloc, path, query, ""))


def normalize_url(url: str) -> str:
    """The key two URLs share when they name the same file."""
    try:
        parts = urlsplit(unescape_entities(url.strip()))
        scheme = parts.scheme.lower()
        netloc = _host(parts.netloc, scheme) if scheme in _DEFAULT_PORTS else parts.netloc.lower()
        path = quote(unquote(parts.path or "/"), safe="/:@!$&'()*+,;=~")
        query = _strip_cache_buster(parts.query)
        return urlunsplit((scheme, netloc or "", path, query, ""))
    except ValueError:
        return url


def extension(url: str) -> str:
    """The lower-case file extension of the URL's path ('' when none)."""
    try:
        path = urlsplit(url).path
    except ValueError:
        return ""
    ext = posixpath.splitext(unquote(path).rstrip("/"))[1]
    return ext[1:].lower() if ext else ""


def has_audio_extension(url: str) -> bool:
    return extension(url) in AUDIO_EXTENSIONS


def normalize_mime(mime: object) -> str | None:
    """A clean MIME type from a page's `type` attribute, or None."""
    if not isinstance(mime, str):
        return None
    value = mime.split(";")[0].strip().lower()
    if not value:
        return None
    if value in _FORMAT_MIME:
        return _FORMAT_MIME[value]
    if "/" not in value or len(value) > 100:
        return None
    return _MIME_ALIASES.get(value, value)


def format_mime(name: str) -> str | None:
    """MIME for a player's short format key (jPlayer's `mp3`, `m4a`, `oga`...)."""
    return _FORMAT_MIME.get(name.lower())


def guess_mime(url: str, declared: object = None) -> str | None:
    """The declared type when it says something, else one guessed from the extension."""
    mime = normalize_mime(declared)
    ext = extension(url)
    if ext == "m3u8":
        return HLS_MIME
    if mime and mime not in ("application/octet-stream", "binary/octet-stream"):
        return mime
    return EXTENSION_MIME.get(ext, mime)


def is_hls(url: str, mime: str | None = None) -> bool:
    return extension(url) == "m3u8" or normalize_mime(mime) == HLS_MIME


def is_audio(url: str, mime: object = None, *, audio_context: bool = False) -> bool:
    """Whether a URL (with its declared type) is an audio track worth keeping.

    HLS playlists carry video just as well, so they count only in an audio context."""
    declared = normalize_mime(mime)
    if is_hls(url, declared):
        return audio_context or (isinstance(mime, str) and "audio" in mime.lower())
    if declared and declared.startswith("audio/"):
        return True
    if declared and declared.startswith(("image/", "text/")):
        return False
    if declared and declared.startswith("video/"):  # servers label .m4a as video/mp4 at times
        return extension(url) in ("m4a", "m4b", "mp3", "aac")
    return has_audio_extension(url)


def preference(url: str, mime: str | None) -> int:
    """Rank of a source among alternatives of one track (lower is better)."""
    return _PREFERENCE.get(guess_mime(url, mime) or "", 3)


def same_document(url: str, page_url: str) -> bool:
    return normalize_url(url) == normalize_url(page_url)
