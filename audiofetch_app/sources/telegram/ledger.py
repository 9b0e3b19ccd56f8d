"""What a source has saved, by Telegram document: how a sync knows a file by where it came
from, not by its name and size.

Telegram names a file by its document (`Document.id`, the same in every chat it is forwarded
to; a new upload, or an edit that replaces a post's audio, is a new document). The ledger
keeps, per source, one line per event in a JSON-lines file beside the history:

    {"op": "part",  "doc": 5077, "msg": 12, "path": "Music/Song.mp3", "size": 4012, "v": 1}
    {"op": "saved", "doc": 5077, "msg": 12, "path": "Music/Song.mp3", "size": 4012, "v": 1}
    {"op": "drop",  "path": "Music/Song.mp3"}

`part` says a `.part` under that name belongs to that document (so it is continued only for
the same document and size); `saved` that the file is whole; `drop` that a `.part` was given
up. Lines are appended and flushed as they happen (a write costs one line, whatever the
ledger holds) and a line cut short by a crash is ignored; when the file holds more than twice
the lines it needs it is rewritten whole (temp file and `os.replace`) at the end of a sync.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Entry:
    """One document under one name: `doc` (Telegram document id) from message `msg`,
    `size` bytes, saved (or being saved) at `path` relative to the target; `v` is the
    version of that message's audio (2 and up after edits replaced it)."""

    doc: int
    msg: int
    path: str
    size: int
    v: int = 1
    chat: int = 0  # the chat's peer id (a group upgraded to a supergroup starts again at 1)


class Ledger:
    """A source's record of saved documents and `.part` files (see the module's text)."""

    def __init__(self, path: Path | None = None) -> None:
        """The ledger in `path`, read whole (None: an empty one that writes nowhere yet)."""
        self.path = path
        self.by_doc: dict[int, Entry] = {}
        self.by_msg: dict[tuple[int, int], Entry] = {}  # (chat, msg) -> its newest version
        self.owners: dict[str, int] = {}  # relative path -> the document saved there
        self.partials: dict[str, Entry] = {}  # relative path of a .part -> its document
        self._lines = 0
        self._handle: IO[str] | None = None
        self._load()

    # ---------------------------------------------------------------- reading

    def _load(self) -> None:
        if self.path is None:
            return
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except (FileNotFoundError, NotADirectoryError):
            return
        lines = text.split("\n")
        for line in lines[:-1]:  # the last is empty, or cut short by a crash
            try:
                record = json.loads(line)
                self._apply(record)
            except (ValueError, TypeError, KeyError):
                log.warning("Skipped a damaged line in %s", self.path)
                continue
            self._lines += 1

    def _apply(self, record: dict[str, Any]) -> None:
        op = record["op"]
        if op == "drop":
            self.partials.pop(str(record["path"]), None)
            return
        entry = Entry(int(record["doc"]), int(record["msg"]), str(record["path"]),
                      int(record["size"]), int(record.get("v", 1)), int(record.get("chat", 0)))
        if op == "part":
            self.partials[entry.path] = entry
        elif op == "saved":
            self.partials.pop(entry.path, None)
            self.by_doc[entry.doc] = entry
            newest = self.by_msg.get((entry.chat, entry.msg))
            if newest is None or entry.v >= newest.v:
                self.by_msg[(entry.chat, entry.msg)] = entry
            self.owners[entry.path] = entry.doc

    def saved(self, doc: int) -> Entry | None:
        """Where document `doc` was saved, if it was."""
        return self.by_doc.get(doc)

    def owner(self, rel: str) -> int | None:
        """The document this source saved at `rel`, if any."""
        return self.owners.get(rel)

    def partial(self, rel: str) -> Entry | None:
        """The document a `.part` at `rel` holds the start of, if this source wrote it."""
        return self.partials.get(rel)

    def newest(self, chat: int, msg: int) -> Entry | None:
        """The newest saved version of message `msg` of chat `chat`, if any."""
        return self.by_msg.get((chat, msg))

    def recent(self, chat: int, count: int) -> list[Entry]:
        """The newest saved version of each of the `count` newest saved messages of `chat`."""
        mine = sorted((e for (c, _), e in self.by_msg.items() if c == chat),
                      key=lambda e: e.msg)
        return mine[-count:] if count else []

    # ---------------------------------------------------------------- writing

    def _write(self, record: dict[str, Any]) -> None:
        assert self.path is not None, "a ledger read from no file cannot be written"
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - kept open
        self._handle.write(json.dumps(record, separators=(",", ":")) + "\n")
        self._handle.flush()
        self._apply(record)
        self._lines += 1

    def start(self, entry: Entry) -> None:
        """A `.part` at `entry.path` now holds the start of `entry.doc`."""
        self._write({"op": "part", **asdict(entry)})

    def finish(self, entry: Entry) -> None:
        """`entry.doc` is saved whole at `entry.path`."""
        self._write({"op": "saved", **asdict(entry)})

    def drop(self, rel: str) -> None:
        """The `.part` at `rel` was given up."""
        if rel in self.partials:
            self._write({"op": "drop", "path": rel})

    def close(self) -> None:
        """Flush to disk, and rewrite the file when most of its lines are spent."""
        if self._handle is not None:
            with contextlib.suppress(OSError):
                os.fsync(self._handle.fileno())
            self._handle.close()
            self._handle = None
        live = len(self.by_doc) + len(self.partials)
        if self.path is not None and self._lines > 2 * live + 100:
            self._rewrite()

    def _rewrite(self) -> None:
        assert self.path is not None
        records = [{"op": "saved", **asdict(e)} for e in self.by_doc.values()]
        records += [{"op": "part", **asdict(e)} for e in self.partials.values()]
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            with open(tmp, "w", encoding="utf-8") as out:
                for record in records:
                    out.write(json.dumps(record, separators=(",", ":")) + "\n")
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
            self._lines = len(records)
        except OSError:
            log.warning("Could not compact %s", self.path)
            tmp.unlink(missing_ok=True)
