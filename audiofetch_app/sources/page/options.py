"""What a page job can be told: where, how many at once, ZIP or folder, and which tracks."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from audiofetch_app.core.registry import JobOptions, OptionError
from audiofetch_app.sources.page import detect
from audiofetch_app.sources.page.seen import check_seen
from audiofetch_app.sources.page.tracks import Track

MAX_WORKERS = 20
MAX_TRACKS = 10_000


@dataclass
class PageOptions(JobOptions):
    """Options of a page download. `tracks`, when given, is the list the user ticked in a
    preview (Track fields as a JSON object each, in page order): the job downloads exactly
    these and neither fetches nor reads the page again."""

    name: str | None = None  # the collection's name (ZIP or folder); the page title if None
    plugin: str | None = None  # one player family only (see detect.family_names())
    workers: int | None = None  # parallel track downloads
    zip: bool | None = None  # one ZIP (default from Settings) or a folder of files
    stream: bool | None = None  # hand the ZIP to the REST caller; nothing kept here
    cookies_file: str | None = None  # a Netscape cookies.txt for the site
    tags: bool | None = None  # write title, album and track tags (default yes)
    tracks: list[dict[str, Any]] | None = None  # the chosen tracks, from a preview
    # What the user's browser saw the page play (the browser extension sends it): merged
    # with what detection finds (see seen.py).
    seen: list[dict[str, Any]] | None = None
    selected: list[str] | None = None  # track URLs; jobs stored by AudioFetch 0.1 only

    LIMITS: ClassVar[dict[str, tuple[int, int]]] = {"workers": (1, MAX_WORKERS)}

    def check(self) -> None:
        super().check()
        name = (self.plugin or "").strip().lower()
        if name and name not in ("auto", *detect.family_names()):
            raise OptionError(f"Unknown plugin {self.plugin!r}; choose one of: "
                              f"{', '.join(detect.family_names())}.")
        if self.tracks is not None:
            if not isinstance(self.tracks, list) or not self.tracks:
                raise OptionError("Choose at least one track.")
            if len(self.tracks) > MAX_TRACKS:
                raise OptionError(f"A page job takes at most {MAX_TRACKS:,} tracks.")
            self.chosen_tracks()
        if self.seen is not None:
            self.seen = check_seen(self.seen)

    def chosen_tracks(self) -> list[Track] | None:
        """`tracks` as Track records (OptionError when one is not a track)."""
        if self.tracks is None:
            return None
        chosen = []
        for item in self.tracks:
            try:
                track = Track(**item)
            except TypeError as exc:
                raise OptionError(f"A chosen track is not one AudioFetch found: {exc}.") \
                    from None
            if not isinstance(track.url, str) or not track.url.startswith(("http://",
                                                                          "https://")):
                raise OptionError("A chosen track has no http(s) link.")
            chosen.append(track)
        return chosen


def track_dicts(tracks: list[Track]) -> list[dict[str, Any]]:
    """Tracks as stored on a job (the inverse of PageOptions.chosen_tracks)."""
    return [asdict(t) for t in tracks]
