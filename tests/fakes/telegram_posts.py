"""Posts for the fake Telegram, built from Telethon's real `telethon.tl.types`, and the bytes
of their documents.

The shapes follow what Telegram sends (layer 17x, as Telethon 1.x parses it):
- a plain post in a forum topic carries `MessageReplyHeader(forum_topic=True,
  reply_to_msg_id=<topic id>)` and no `reply_to_top_id`; a reply inside a topic carries the
  replied-to message in `reply_to_msg_id` and the topic in `reply_to_top_id`; a post in the
  General topic (id 1) has no reply header at all;
- a basic group's messages have `PeerChat` peers, a channel's or supergroup's `PeerChannel`;
- an edited post keeps its id and gets `edit_date`; a post whose media is replaced names a
  new document (documents never change; a new upload is a new document id).

A document's bytes are made on demand, block by block (`content_range`), so a 2 GB document
costs no memory and any offset can be served without making what comes before it.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import itertools
import struct
from typing import Any

from telethon.tl import types

EPOCH = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
BLOCK = 4096  # Telegram serves files in 4 KiB blocks
_PAD_BLOCKS = 16
_ids = itertools.count(1000)


def new_document_id() -> int:
    return next(_ids)


def document_of(doc_id: int, mime: str, size: int, attributes: list[Any],
                file_reference: bytes = b"ref0") -> types.Document:
    return types.Document(id=doc_id, access_hash=doc_id * 7, file_reference=file_reference,
                          date=EPOCH, mime_type=mime, size=size, dc_id=2,
                          attributes=attributes)


def topic_header(topic: int | None, reply_to: int | None = None
                 ) -> types.MessageReplyHeader | None:
    """The reply header of a post in forum topic `topic` (None or 1: General, no header)."""
    if topic in (None, 1):
        return None
    if reply_to is None:
        return types.MessageReplyHeader(reply_to_msg_id=topic, forum_topic=True)
    return types.MessageReplyHeader(reply_to_msg_id=reply_to, reply_to_top_id=topic,
                                    forum_topic=True)


def message(chat_id: int, msg_id: int, media: Any = None, text: str = "",
            topic: int | None = None, *, reply_to: int | None = None,
            date: dt.datetime | None = None) -> types.Message:
    """A channel or supergroup message (use `in_basic_group` for a basic group's)."""
    return types.Message(id=msg_id, peer_id=types.PeerChannel(chat_id), message=text,
                         date=date or EPOCH + dt.timedelta(minutes=msg_id), media=media,
                         reply_to=topic_header(topic, reply_to))


def in_basic_group(msg: types.Message, chat_id: int) -> types.Message:
    """`msg` as a basic group's message (a `PeerChat` peer)."""
    msg.peer_id = types.PeerChat(chat_id)
    return msg


def music(chat_id: int, msg_id: int, *, title: str = "Song", performer: str = "Band",
          file_name: str = "song.mp3", size: int = 10_000, topic: int | None = None,
          doc_id: int | None = None, date: dt.datetime | None = None,
          reply_to: int | None = None) -> types.Message:
    """A music file: DocumentAttributeAudio(voice=False) and a file name. `doc_id` names an
    existing document (a forward of it, or the same file sent again)."""
    attrs = [types.DocumentAttributeAudio(duration=180, voice=False, title=title,
                                          performer=performer),
             types.DocumentAttributeFilename(file_name=file_name)]
    media = types.MessageMediaDocument(
        document=document_of(doc_id or new_document_id(), "audio/mpeg", size, attrs))
    return message(chat_id, msg_id, media, topic=topic, date=date, reply_to=reply_to)


def voice(chat_id: int, msg_id: int, *, size: int = 3_000) -> types.Message:
    """A voice note: DocumentAttributeAudio(voice=True), no file name."""
    attrs = [types.DocumentAttributeAudio(duration=12, voice=True, waveform=b"\x00\x01")]
    media = types.MessageMediaDocument(
        document=document_of(new_document_id(), "audio/ogg", size, attrs), voice=True)
    return message(chat_id, msg_id, media)


def round_video(chat_id: int, msg_id: int, *, size: int = 5_000) -> types.Message:
    """A round video message."""
    attrs = [types.DocumentAttributeVideo(duration=9, w=384, h=384, round_message=True)]
    media = types.MessageMediaDocument(
        document=document_of(new_document_id(), "video/mp4", size, attrs), round=True)
    return message(chat_id, msg_id, media)


def document(chat_id: int, msg_id: int, *, mime: str, file_name: str | None,
             size: int = 4_000) -> types.Message:
    """A plain document (audio by MIME type, or not audio at all); `file_name=None` sends
    none, as some clients and bots do."""
    attrs = [types.DocumentAttributeFilename(file_name=file_name)] if file_name else []
    media = types.MessageMediaDocument(document=document_of(new_document_id(), mime, size,
                                                            attrs))
    return message(chat_id, msg_id, media)


def text(chat_id: int, msg_id: int, body: str = "hello") -> types.Message:
    return message(chat_id, msg_id, None, body)


def service(peer: types.PeerChannel | types.PeerChat, msg_id: int, action: Any
            ) -> types.MessageService:
    """A service message (a group's migration, a topic's creation, …)."""
    return types.MessageService(id=msg_id, peer_id=peer, action=action,
                                date=EPOCH + dt.timedelta(minutes=msg_id))


_GIVEN: dict[int, bytes] = {}  # documents whose bytes a test chose (real audio)


def give_content(doc_id: int, data: bytes) -> None:
    """Document `doc_id` holds `data` (a real file) instead of made-up bytes."""
    _GIVEN[doc_id] = data


@functools.lru_cache(maxsize=256)
def _pad(doc_id: int) -> bytes:
    return hashlib.shake_256(f"document {doc_id}".encode()).digest(_PAD_BLOCKS * BLOCK)


def block_of(doc_id: int, index: int) -> bytes:
    """Block `index` (4 KiB) of document `doc_id`: its id and index, then a pad; no two blocks
    of any documents are the same, so bytes from a wrong offset or document always show."""
    pad = _pad(doc_id)
    start = (index % _PAD_BLOCKS) * BLOCK
    return struct.pack(">QQ", doc_id, index) + pad[start:start + BLOCK - 16]


def content_range(doc_id: int, start: int, end: int) -> bytes:
    """Bytes `start`..`end` (end exclusive) of document `doc_id`, made on demand."""
    if end <= start:
        return b""
    if doc_id in _GIVEN:
        return _GIVEN[doc_id][start:end]
    first, last = start // BLOCK, (end - 1) // BLOCK
    data = b"".join(block_of(doc_id, i) for i in range(first, last + 1))
    offset = start - first * BLOCK
    return data[offset:offset + end - start]


def content_of(doc_id: int, size: int) -> bytes:
    """The whole of a (small) fake document."""
    return content_range(doc_id, 0, size)
