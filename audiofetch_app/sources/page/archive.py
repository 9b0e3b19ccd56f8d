"""Per output folder, the tracks already saved there, so a second run skips them.

`.audiofetch-archive.txt` holds one line per saved track: its URL, a tab, and the file's
name in the folder. A track counts as saved while that file is there: once the file is
deleted (by hand, or with its job), the next run fetches it again. Lines written by older
versions hold only the URL and count as saved, as they did then."""

from __future__ import annotations

from pathlib import Path

from audiofetch_app.core.job_files import BOOKKEEPING_PREFIX

ARCHIVE_NAME = f"{BOOKKEEPING_PREFIX}-archive.txt"


class DownloadArchive:
    """The archive of one folder, read once; `add` appends a line at once (a crash keeps
    what was saved before it)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / ARCHIVE_NAME
        self._names: dict[str, str | None] = {}  # URL -> file name (None: an older line)
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError:
            text = ""
        for line in text.splitlines():
            url, _, name = line.strip().partition("\t")
            if url:
                self._names[url] = name or None  # a later line wins

    def __contains__(self, url: str) -> bool:
        """The track at `url` was saved here and its file is still here."""
        if url not in self._names:
            return False
        name = self._names[url]
        return name is None or (self.folder / name).is_file()

    def add(self, url: str, name: str) -> None:
        """The track at `url` is saved here as `name` (a file name, no folder)."""
        if self._names.get(url, "") == name:
            return
        self._names[url] = name
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(f"{url}\t{name}\n")
