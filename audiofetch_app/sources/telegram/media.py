"""Which messages carry audio a user wants, what kind it is, and the file name it gets.

Dates are read in a time zone: `wanted()` and `file_name()` take `tz`, the zone of the days in
a source's date range and of `{date}` in names (Settings' `telegram_zone()`); None is the
computer's own zone, read when called.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from audiofetch_app.core.audio_mime import extension_for_mime, normalise_mime
from audiofetch_app.core.audio_sniff import HEADER_BYTES as HEADER_BYTES
from audiofetch_app.core.audio_sniff import extension_from_header as extension_from_header
from audiofetch_app.core.job_context import JobError
from audiofetch_app.core.naming import TemplateError, render_template

MUSIC, VOICE, ROUND, DOCUMENT = "music", "voice", "round", "document"
KINDS = (MUSIC, VOICE, ROUND, DOCUMENT)
KIND_LABELS = {MUSIC: "Music", VOICE: "Voice notes", ROUND: "Round video messages",
               DOCUMENT: "Audio documents"}
DEFAULT_TEMPLATE = "{channel}/{date:%Y-%m-%d} {title}.{ext}"
# Extensions of files kept as audio documents whatever their MIME type says.
AUDIO_EXTENSIONS = ("mp3", "mp2", "m4a", "m4b", "aac", "ogg", "oga", "opus", "spx", "flac",
                    "wav", "wma", "alac", "aiff", "aif", "aifc", "ape", "mka", "amr", "awb",
                    "caf", "au", "wv", "mpc", "tta", "ac3", "dsf", "dff", "ra", "mid")
# The extension of an audio file whose MIME type is unknown and whose first bytes are too.
UNKNOWN_AUDIO_EXT = "audio"


@dataclass(frozen=True)
class Keep:
    """What a source keeps: kinds of audio, and for documents their MIME types or extensions."""

    kinds: tuple[str, ...] = (MUSIC, VOICE, DOCUMENT)
    extensions: tuple[str, ...] = ()  # extra file extensions kept as documents ("mp3", "zip")
    mime_prefixes: tuple[str, ...] = ("audio/",)
    date_from: dt.date | None = None
    date_to: dt.date | None = None  # inclusive

    def to_dict(self) -> dict[str, Any]:
        return {"kinds": list(self.kinds), "extensions": list(self.extensions),
                "mime_prefixes": list(self.mime_prefixes),
                "date_from": self.date_from.isoformat() if self.date_from else None,
                "date_to": self.date_to.isoformat() if self.date_to else None}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Keep:
        data = data or {}
        kinds = tuple(k for k in data.get("kinds", cls.kinds) if k in KINDS)
        exts = tuple(clean_extension(e) for e in data.get("extensions", ()) if clean_extension(e))
        date_from, date_to = _date(data.get("date_from")), _date(data.get("date_to"))
        if date_from and date_to and date_from > date_to:
            raise JobError("The date range ends before it starts.")
        if not kinds and not exts:
            raise JobError("Choose at least one kind of audio to keep.")
        return cls(kinds=kinds, extensions=exts,
                   mime_prefixes=tuple(data.get("mime_prefixes", cls.mime_prefixes)),
                   date_from=date_from, date_to=date_to)


def clean_extension(value: str) -> str:
    return str(value).strip().lstrip(".").lower()


def _date(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise JobError(f"“{value}” is not a date; write it as 2024-05-31.") from exc


@dataclass(frozen=True)
class AudioItem:
    """A message's file and the facts its name is made from."""

    message_id: int
    kind: str
    size: int
    ext: str
    mime: str
    date: dt.datetime
    title: str
    performer: str
    file_name: str
    duration: int | None
    caption: str = field(default="", repr=False)
    # True when `ext` is only a stand-in (UNKNOWN_AUDIO_EXT): neither the file's name nor its
    # MIME type tells its kind, and its first bytes will (`with_header`).
    ext_from_header: bool = False


def classify(message: Any) -> AudioItem | None:
    """The audio in `message`, or None when it carries none of the kinds we know."""
    # Imported here: Telethon takes 0.6 s to import, which every command would otherwise pay.
    from telethon.tl import types

    media = getattr(message, "media", None)
    doc = getattr(media, "document", None)
    if not isinstance(media, types.MessageMediaDocument) or not isinstance(doc, types.Document):
        return None
    audio = video = None
    file_name = ""
    for attr in doc.attributes:
        if isinstance(attr, types.DocumentAttributeAudio):
            audio = attr
        elif isinstance(attr, types.DocumentAttributeVideo):
            video = attr
        elif isinstance(attr, types.DocumentAttributeFilename):
            file_name = attr.file_name or ""
    mime = normalise_mime(doc.mime_type)
    if video is not None and (video.round_message or getattr(media, "round", False)):
        kind, duration = ROUND, int(video.duration or 0)
    elif audio is not None and (audio.voice or getattr(media, "voice", False)):
        kind, duration = VOICE, audio.duration
    elif audio is not None:
        kind, duration = MUSIC, audio.duration
    else:
        kind, duration = DOCUMENT, None
    ext = _extension(file_name, mime, kind)
    from_header = ext is None
    title = performer = ""
    if audio is not None and kind == MUSIC:
        title, performer = (audio.title or "").strip(), (audio.performer or "").strip()
    if not title and file_name:
        title = file_name.rsplit(".", 1)[0] if "." in file_name else file_name
    return AudioItem(message_id=message.id, kind=kind, size=int(doc.size or 0),
                     ext=ext or UNKNOWN_AUDIO_EXT, ext_from_header=from_header, mime=mime,
                     date=message.date or dt.datetime.now(dt.UTC), title=title,
                     performer=performer, file_name=file_name,
                     duration=int(duration) if duration is not None else None,
                     caption=(getattr(message, "message", "") or "").strip())


def _extension(file_name: str, mime: str, kind: str) -> str | None:
    """From the file's name, else its MIME type; None when only its first bytes can tell."""
    if "." in file_name:
        ext = clean_extension(file_name.rsplit(".", 1)[1])
        if ext and len(ext) <= 8 and ext.isalnum():
            return ext
    if kind == ROUND:
        return "mp4"
    known = extension_for_mime(mime)
    if known and (kind == DOCUMENT or mime.startswith("audio/")):
        return known
    if kind == VOICE:  # Telegram's voice notes are Ogg Opus unless their type says otherwise
        return "ogg"
    if kind == MUSIC or mime.startswith("audio/"):
        return None
    return known or "bin"


def with_header(item: AudioItem, head: bytes) -> AudioItem:
    """`item` with its extension settled by the file's first bytes (`HEADER_BYTES` of them
    are enough; see `extension_from_header`): the format they show, else UNKNOWN_AUDIO_EXT.
    An item whose `ext_from_header` is False is returned as it is."""
    if not item.ext_from_header:
        return item
    ext = extension_from_header(head) or UNKNOWN_AUDIO_EXT
    return dataclasses.replace(item, ext=ext, ext_from_header=False)


def local_time(when: dt.datetime, tz: dt.tzinfo | None = None) -> dt.datetime:
    """`when` (aware; naive counts as UTC, as Telegram's dates are) in zone `tz`, or in the
    computer's own zone when `tz` is None (read now, so a changed TZ applies)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(tz)


def wanted(item: AudioItem, keep: Keep, tz: dt.tzinfo | None = None) -> bool:
    """Whether a source that keeps `keep` saves this item. The date range's days are days in
    zone `tz` (None: the computer's zone); both ends are inclusive."""
    day = local_time(item.date, tz).date()
    if keep.date_from and day < keep.date_from:
        return False
    if keep.date_to and day > keep.date_to:
        return False
    if item.kind in (MUSIC, VOICE, ROUND):
        return item.kind in keep.kinds or item.ext in keep.extensions
    if item.ext in keep.extensions:
        return True
    return DOCUMENT in keep.kinds and (
        any(item.mime.startswith(p) for p in keep.mime_prefixes)
        or item.ext in AUDIO_EXTENSIONS)


def file_name(template: str, item: AudioItem, channel: str, topic: str = "", *,
              tz: dt.tzinfo | None = None) -> str:
    """The relative path (POSIX, `/` between folders) for `item` under a source's target,
    from the source's template; `{date}` is the post's time in zone `tz` (None: the
    computer's zone). Raises JobError when the template is not valid."""
    title = item.title
    if not title:
        title = f"{item.kind if item.kind != MUSIC else 'audio'}_{item.message_id}"
        if item.kind == VOICE:
            title = f"voice_{item.message_id}"
    fields = {"channel": channel or "Telegram", "date": local_time(item.date, tz),
              "title": title,
              "performer": item.performer, "artist": item.performer, "id": item.message_id,
              "message_id": item.message_id, "kind": item.kind, "topic": topic,
              "file_name": item.file_name or f"{title}.{item.ext}",
              "caption": item.caption.splitlines()[0][:80] if item.caption else ""}
    try:
        return render_template(template or DEFAULT_TEMPLATE, fields, item.ext)
    except TemplateError as exc:
        raise JobError(str(exc)) from exc


def check_template(template: str) -> str:
    """`template` if a sample item renders with it; raises JobError with what is wrong."""
    sample = AudioItem(1, MUSIC, 1, "mp3", "audio/mpeg", dt.datetime(2024, 1, 2, tzinfo=dt.UTC),
                       "Title", "Artist", "a.mp3", 1)
    file_name(template, sample, "Channel")
    return template
