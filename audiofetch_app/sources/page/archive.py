"""Per output folder, the URLs already saved there, so a second run skips them."""

from __future__ import annotations

from pathlib import Path

ARCHIVE_NAME = ".audiofetch-archive.txt"


class DownloadArchive:
    def __init__(self, folder: Path) -> None:
        self.path = folder / ARCHIVE_NAME
        try:
            self._urls = set(self.path.read_text(encoding="utf-8").split())
        except OSError:
            self._urls = set()

    def __contains__(self, url: str) -> bool:
        return url in self._urls

    def add(self, url: str) -> None:
        if url in self._urls:
            return
        self._urls.add(url)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(url + "\n")
