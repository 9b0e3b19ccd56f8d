"""More Telegram messages for tests, as real Telethon types: files with any MIME type, with or
without a name, posted at a chosen time (tests/fakes/telegram.py builds the usual kinds)."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from telethon.tl import types

_ids = itertools.count(7_000_000)  # document ids apart from the fake's own


def audio_file(chat_id: int, msg_id: int, *, mime: str, file_name: str | None = None,
               date: dt.datetime | None = None, size: int = 4_000, music: bool = False,
               voice: bool = False) -> types.Message:
    """A message with one file of MIME type `mime`: a plain document, or with `music`/`voice`
    the audio attribute Telegram clients add; no file name attribute when `file_name` is None.
    `date` (aware) defaults to 2024-05-01 12:00 UTC plus `msg_id` minutes."""
    attrs: list[Any] = []
    if music or voice:
        attrs.append(types.DocumentAttributeAudio(duration=30, voice=voice))
    if file_name is not None:
        attrs.append(types.DocumentAttributeFilename(file_name=file_name))
    when = date or dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC) + dt.timedelta(minutes=msg_id)
    doc_id = next(_ids)
    document = types.Document(id=doc_id, access_hash=doc_id * 7, file_reference=b"ref0",
                              date=when, mime_type=mime, size=size, dc_id=2, attributes=attrs)
    return types.Message(id=msg_id, peer_id=types.PeerChannel(chat_id), message="", date=when,
                         media=types.MessageMediaDocument(document=document, voice=voice))
