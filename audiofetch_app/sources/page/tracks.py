"""What page detection finds: tracks in page order, each saying which player family found it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Track:
    url: str                      # absolute, resolved against the page (and its <base href>)
    title: str = ""
    number: int | None = None     # the track number the page gives, if any
    mime: str | None = None       # e.g. "audio/mpeg", when the page says
    family: str = ""              # the player family that found it, e.g. "html5", "plyr"
    size: int | None = None       # bytes, from a HEAD request when cheap (filled in later)
    position: int | None = None   # 1-based place among the page's tracks: a file's number,
    #                               so tracks chosen from one page never share a number


def numbered(tracks: list[Track]) -> list[Track]:
    """`tracks` (in page order) with each one's `position` set where it was not."""
    for place, track in enumerate(tracks, start=1):
        if track.position is None:
            track.position = place
    return tracks
