"""Fetch a page and find its tracks; follow the page's feed when the page itself has none."""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from audiofetch_app.core import net, registry
from audiofetch_app.core.job_context import JobError
from audiofetch_app.core.registry import Link, Preview, Services
from audiofetch_app.core.urls import title_from_url
from audiofetch_app.sources.page import detect
from audiofetch_app.sources.page.options import PageOptions
from audiofetch_app.sources.page.tracks import Track

MAX_PAGE_BYTES = 5 * 1024 * 1024  # beyond this a page is read only in part
_TEXT_TYPES = ("text/", "application/xhtml", "application/xml", "application/rss",
               "application/atom", "application/json", "application/ld+json")
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)


@dataclass
class FoundPage:
    url: str
    title: str
    tracks: list[Track]


@dataclass
class PagePreview(Preview):
    """A page's tracks in page order; `link` is the page (or, when the link was one audio
    file, that file as a direct link, to be saved as it is)."""

    tracks: list[Track]


def page_title(text: str, url: str) -> str:
    match = _TITLE.search(text[:200_000])
    title = html_lib.unescape(match.group(1)).strip() if match else ""
    return re.sub(r"\s+", " ", title) or urlsplit(url).netloc


async def _fetch(client: httpx.AsyncClient, url: str) -> tuple[str, str, str]:
    text, response = await net.fetch_text(client, url, max_bytes=MAX_PAGE_BYTES, truncate=True)
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    return text, str(response.url), content_type


def check_plugin(plugin: str | None) -> None:
    """A JobError listing the valid names when `plugin` is not a player family."""
    if plugin and plugin.strip().lower() not in ("auto", *detect.family_names()):
        raise JobError(f"Unknown plugin {plugin!r}; choose one of: "
                       f"{', '.join(detect.family_names())}.")


async def find_tracks(client: httpx.AsyncClient, url: str, plugin: str | None = None
                      ) -> FoundPage:
    """The tracks `url` offers, in page order; JobError with a sentence when there are none."""
    check_plugin(plugin)
    text, final_url, content_type = await _fetch(client, url)
    if content_type.startswith("audio/") or content_type in (
            "application/vnd.apple.mpegurl", "application/x-mpegurl"):
        # A link straight to audio: one track, nothing to detect.
        return FoundPage(final_url, title_from_url(final_url),
                         [Track(url=final_url, title=title_from_url(final_url),
                                mime=content_type, family="direct")])
    if content_type and not content_type.startswith(_TEXT_TYPES):
        raise JobError(f"That link is not a web page (the server sent {content_type}).")
    page = detect.parse_page(text, final_url)
    tracks = detect.detect_tracks(page, plugin)
    if not tracks and plugin in (None, "feeds"):
        for feed_url in detect.feed_links(page)[:3]:
            try:
                feed_text, feed_final, _ = await _fetch(client, feed_url)
            except net.NetError:
                continue
            tracks = detect.detect_tracks(detect.parse_page(feed_text, feed_final), "feeds")
            if tracks:
                break
    if not tracks:
        looked = detect.what_we_look_for() if plugin is None else \
            f"Looked for the {plugin} player only."
        raise JobError(f"No audio found on this page. {looked}")
    return FoundPage(final_url, page_title(text, final_url), tracks)


async def preview(found: Link, options: PageOptions, services: Services | None = None
                  ) -> PagePreview:
    """The tracks the page at `found` offers (JobError or NetError with a sentence if none)."""
    cookies = net.load_cookies_txt(options.cookies_file) if options.cookies_file else None
    async with net.make_client(referer=found.url, cookies=cookies) as client:
        page = await find_tracks(client, found.url, options.plugin)
    target = found
    if len(page.tracks) == 1 and page.tracks[0].family == "direct":
        target = registry.recognise(page.tracks[0].url, "direct")
    return PagePreview(target, page.title, page.tracks)
