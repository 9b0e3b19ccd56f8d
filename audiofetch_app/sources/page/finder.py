"""Fetch a page and find its tracks; follow the page's feed when the page itself has none.

The page is read (decoded, parsed, searched) by `reader`, in a worker process under a time
limit, so no page can hold up the event loop."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx

from audiofetch_app.core import net, registry
from audiofetch_app.core.job_context import JobError
from audiofetch_app.core.net_errors import NetError
from audiofetch_app.core.registry import Link, Preview, Services
from audiofetch_app.core.urls import title_from_url
from audiofetch_app.sources.page import detect, reader, seen
from audiofetch_app.sources.page.document import page_title
from audiofetch_app.sources.page.options import PageOptions
from audiofetch_app.sources.page.tracks import Track, numbered

__all__ = ["MAX_PAGE_BYTES", "FoundPage", "PagePreview", "check_plugin", "find_tracks",
           "find_with_seen", "page_title", "preview"]

log = logging.getLogger(__name__)

MAX_PAGE_BYTES = 5 * 1024 * 1024  # beyond this a page is read only in part
MAX_FEEDS = 3  # feeds a page without tracks links to that are tried, in page order
SCRIPT_PLAYERS = ("If the page builds its player with JavaScript, AudioFetch's browser "
                  "extension can send what it plays (see `audiofetch extension`).")
_TEXT_TYPES = ("text/", "application/xhtml", "application/xml", "application/rss",
               "application/atom", "application/json", "application/ld+json")


@dataclass
class FoundPage:
    url: str
    title: str
    tracks: list[Track]
    truncated: bool = False  # the page was longer than MAX_PAGE_BYTES; the rest was not read


@dataclass
class PagePreview(Preview):
    """A page's tracks in page order; `link` is the page (or, when the link was one audio
    file, that file as a direct link, to be saved as it is)."""

    tracks: list[Track]
    note: str = ""  # what the user should know besides (a page read only in part)


@dataclass
class _Fetched:
    data: bytes            # at most MAX_PAGE_BYTES
    url: str               # after redirects
    content_type: str      # lower-case, without parameters
    charset: str | None    # the Content-Type's charset parameter
    truncated: bool        # the body went on past MAX_PAGE_BYTES


async def _fetch(client: httpx.AsyncClient, url: str) -> _Fetched:
    # One byte past the cap tells a page of exactly MAX_PAGE_BYTES from a longer one.
    _, response = await net.fetch_text(client, url, max_bytes=MAX_PAGE_BYTES + 1,
                                       truncate=True)
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    body = response.content
    return _Fetched(body[:MAX_PAGE_BYTES], str(response.url), content_type,
                    response.charset_encoding, len(body) > MAX_PAGE_BYTES)


def check_plugin(plugin: str | None) -> None:
    """A JobError listing the valid names when `plugin` is not a player family."""
    if plugin and plugin.strip().lower() not in ("auto", *detect.family_names()):
        raise JobError(f"Unknown plugin {plugin!r}; choose one of: "
                       f"{', '.join(detect.family_names())}.")


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"


async def _tracks_from_feeds(client: httpx.AsyncClient, feed_urls: list[str]) -> list[Track]:
    """The tracks of the first feed (of the first MAX_FEEDS) that has any."""
    for feed_url in feed_urls[:MAX_FEEDS]:
        try:
            feed = await _fetch(client, feed_url)
            reading = await reader.read_page(feed.data, feed.url, http_charset=feed.charset,
                                             plugin="feeds")
        except (net.NetError, JobError) as exc:  # a broken feed: try the next one
            log.info("Feed %s skipped: %s", feed_url, exc)
            continue
        if reading.tracks:
            return reading.tracks
    return []


async def find_tracks(client: httpx.AsyncClient, url: str, plugin: str | None = None
                      ) -> FoundPage:
    """The tracks `url` offers, in page order; JobError with a sentence when there are none,
    when the page is past a cap (see `reader`) or takes too long to read. A page longer than
    MAX_PAGE_BYTES is searched in its first MAX_PAGE_BYTES."""
    check_plugin(plugin)
    reader.warm_up()  # the worker starts while the page downloads
    page = await _fetch(client, url)
    if page.content_type.startswith("audio/") or page.content_type in (
            "application/vnd.apple.mpegurl", "application/x-mpegurl"):
        # A link straight to audio: one track, nothing to detect.
        return FoundPage(page.url, title_from_url(page.url),
                         [Track(url=page.url, title=title_from_url(page.url),
                                mime=page.content_type, family="direct")])
    if page.content_type and not page.content_type.startswith(_TEXT_TYPES):
        raise JobError(f"That link is not a web page (the server sent {page.content_type}).")
    reading = await reader.read_page(page.data, page.url, http_charset=page.charset,
                                     plugin=plugin)
    tracks = reading.tracks
    if not tracks and plugin in (None, "feeds"):
        tracks = await _tracks_from_feeds(client, reading.feed_links)
    if not tracks and page.content_type.startswith("text/") and \
            page.content_type not in ("text/html", "text/xml"):
        raise JobError(f"That link is a text file ({page.content_type}), not a web page with "
                       "audio.")
    if not tracks:
        looked = detect.what_we_look_for() if plugin is None else \
            f"Looked for the {plugin} player only."
        if page.truncated:
            cap = _megabytes(MAX_PAGE_BYTES)
            raise JobError(f"No audio found on this page, but it is larger than {cap} and "
                           f"AudioFetch read only its first {cap}. {looked}")
        raise JobError(f"No audio found on this page. {looked} {SCRIPT_PLAYERS}")
    if page.truncated:
        log.info("%s is larger than %s; only its first part was searched.", page.url,
                 _megabytes(MAX_PAGE_BYTES))
    return FoundPage(page.url, reading.title, tracks, page.truncated)


async def find_with_seen(client: httpx.AsyncClient, url: str, plugin: str | None,
                         browser: list[dict[str, Any]] | None, title: str | None = None
                         ) -> FoundPage:
    """`find_tracks`, merged with what the user's browser saw the page play (`seen.merge`).
    When the browser saw audio, a page AudioFetch cannot read or finds nothing on (a login
    wall, a player built by JavaScript) still gives the browser's tracks; the page's title
    is then `title` (the browser tab's)."""
    if not browser:
        page = await find_tracks(client, url, plugin)
        numbered(page.tracks)
        return page
    try:
        page = await find_tracks(client, url, plugin)
    except (JobError, NetError) as exc:
        tracks = seen.merge([], browser)
        if not tracks:
            raise
        log.info("%s: %s; using what the browser saw", url, exc)
        return FoundPage(url, title or title_from_url(url), numbered(tracks))
    return FoundPage(page.url, page.title or title or "",
                     numbered(seen.merge(page.tracks, browser)), page.truncated)


async def preview(found: Link, options: PageOptions, services: Services | None = None
                  ) -> PagePreview:
    """The tracks the page at `found` offers (JobError or NetError with a sentence if none),
    with what the user's browser saw it play when the extension sent that."""
    cookies = net.load_cookies_txt(options.cookies_file) if options.cookies_file else None
    async with net.make_client(referer=found.url, cookies=cookies) as client:
        page = await find_with_seen(client, found.url, options.plugin, options.seen,
                                    options.name)
    target = found
    if len(page.tracks) == 1 and page.tracks[0].family == "direct":
        target = registry.recognise(page.tracks[0].url, "direct")
    return PagePreview(target, page.title, page.tracks, partly_read(page))


def partly_read(page: FoundPage) -> str:
    """The sentence for a page longer than MAX_PAGE_BYTES ("" for any other)."""
    if not page.truncated:
        return ""
    cap = _megabytes(MAX_PAGE_BYTES)
    return (f"This page is larger than {cap}; AudioFetch read its first {cap} only, so "
            "tracks after that are not listed.")
