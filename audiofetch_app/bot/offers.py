"""What a link's preview becomes in the chat: a Space's card (title, host, state, duration,
cover) with format buttons, a page's track count with send-all, ZIP and the first tracks.
A pressed button names an `Offer` kept here by a short token (callback data ≤ 64 bytes)."""

from __future__ import annotations

import contextlib
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from audiofetch_app import sources
from audiofetch_app.bot.gateway import InlineButton, Keyboard
from audiofetch_app.core import address_guard, net
from audiofetch_app.core.registry import Preview
from audiofetch_app.sources.page.finder import PagePreview
from audiofetch_app.sources.page.options import track_dicts
from audiofetch_app.sources.spaces import SpacePreview
from audiofetch_app.sources.spaces.mux import fetch_cover

STATE_WORDS = {"Running": "live now", "Ended": "ended", "NotStarted": "scheduled",
               "PrePublished": "scheduled", "Canceled": "cancelled", "TimedOut": "timed out"}
PICKABLE = 5  # tracks offered one by one under a page's card
LISTED = 10  # tracks named in a page's card
OFFER_LIFE = 24 * 3600.0  # seconds an offer's buttons work


@dataclass
class Offer:
    """A preview waiting for a button: what to submit for each choice."""

    token: str
    url: str
    kind: str
    title: str
    user_id: int
    tracks: list[dict[str, Any]] = field(default_factory=list)  # a page's, in page order
    created: float = field(default_factory=time.time)

    def job_for(self, choice: str, default_format: str) -> tuple[dict[str, Any], str]:
        """(options, title) of the job a button starts. ValueError for an unknown choice."""
        if choice in ("m4a", "mp3"):
            return {"format": choice}, self.title
        if choice == "all":
            return {"name": self.title, "zip": False, "tracks": self.tracks}, self.title
        if choice == "zip":
            return {"name": self.title, "zip": True, "tracks": self.tracks}, self.title
        if choice.startswith("t") and choice[1:].isdigit() and int(choice[1:]) < len(self.tracks):
            track = self.tracks[int(choice[1:])]
            return {"name": self.title, "zip": False, "tracks": [track]}, \
                track.get("title") or self.title
        raise ValueError(choice)


def offer_data(token: str, choice: str) -> bytes:
    return f"o:{token}:{choice}".encode()


def cancel_keyboard(job_id: str) -> Keyboard:
    return [[InlineButton("Cancel", f"c:{job_id}".encode())]]


def send_again_keyboard(job_id: str) -> Keyboard:
    """Under a delivery that gave up: send what was not sent yet, now."""
    return [[InlineButton("Send again", f"r:{job_id}".encode())]]


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    if seconds < 60:
        return f"{int(seconds)} s"
    minutes = int(seconds // 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


class Offers:
    """The offers made in this run (in memory: after a restart, links are sent again)."""

    def __init__(self) -> None:
        self._offers: dict[str, Offer] = {}

    def make(self, url: str, kind: str, title: str, user_id: int,
             tracks: list[dict[str, Any]] | None = None) -> Offer:
        now = time.time()
        for token in [t for t, o in self._offers.items() if o.created < now - OFFER_LIFE]:
            del self._offers[token]
        offer = Offer(secrets.token_hex(4), url, kind, title, user_id, list(tracks or []))
        self._offers[offer.token] = offer
        return offer

    def get(self, token: str) -> Offer | None:
        return self._offers.get(token)


def is_offer(found: Preview) -> bool:
    """A preview that asks for a choice (a Space, a page of tracks); other links start at once."""
    return isinstance(found, SpacePreview) or (
        isinstance(found, PagePreview) and found.link.kind == sources.page.KIND)


def card(found: Preview, offers: Offers, user_id: int, default_format: str = "m4a"
         ) -> tuple[str, Keyboard | None]:
    """The card's text and buttons for a Space or a page preview (the person's default
    format first)."""
    if isinstance(found, SpacePreview):
        meta = found.meta
        lines = [meta.display_title, f"Host: {meta.host_label}",
                 f"State: {STATE_WORDS.get(meta.state, meta.state)}",
                 f"Duration: {_duration(meta.duration)}"]
        if found.problem:
            return "\n".join([*lines, found.problem]), None
        offer = offers.make(found.link.url, found.link.kind, meta.display_title, user_id)
        formats = sorted(("m4a", "mp3"), key=lambda f: f != default_format)
        label = "{}"
        if meta.state == "Running":
            lines.append("Live: it is recorded from its start and followed until it ends.")
            label = "Record from start · {}"
        return "\n".join(lines), [[InlineButton(label.format(f), offer_data(offer.token, f))
                                   for f in formats]]
    assert isinstance(found, PagePreview)
    tracks = track_dicts(found.tracks)
    count = len(tracks)
    offer = offers.make(found.link.url, found.link.kind, found.title, user_id, tracks)
    names = [f"{n}. {t.get('title') or Path(t['url']).name}"
             for n, t in enumerate(tracks[:LISTED], start=1)]
    more = [f"… and {count - LISTED} more"] if count > LISTED else []
    text = "\n".join([f"Found {count} track{'s' if count != 1 else ''} on {found.title}.",
                      *names, *more])
    rows: Keyboard = [[InlineButton(f"Send all ({count})", offer_data(offer.token, "all")),
                       InlineButton("Send as ZIP", offer_data(offer.token, "zip"))]]
    for index, name in enumerate(names[:PICKABLE]):
        rows.append([InlineButton(name[:60], offer_data(offer.token, f"t{index}"))])
    return text, rows


async def space_cover(found: Preview, policy: address_guard.AddressPolicy | None,
                      folder: Path) -> Path | None:
    """The Space host's avatar as a file in `folder` (None when there is none or it fails),
    fetched under `policy` as the preview was."""
    if not isinstance(found, SpacePreview) or not found.meta.host_avatar_url:
        return None
    token = address_guard.current.set(policy)
    try:
        async with net.make_client() as http:
            with contextlib.suppress(net.NetError, OSError):
                return await fetch_cover(http, found.meta.host_avatar_url, folder / "cover")
    finally:
        address_guard.current.reset(token)
    return None
