"""Feeds: RSS `<enclosure>`, Atom `<link rel="enclosure">` and Media RSS, when the page is a
feed; and the feeds an HTML page advertises with `<link rel="alternate">`."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

from audiofetch_app.sources.page.players.common import (
    Page,
    PlacedTrack,
    attr,
    clean_text,
    make_track,
    to_number,
    unique,
)

NAME = "feeds"
DESCRIPTION = "RSS and Atom feed enclosures"
PRECEDENCE = 70

FEED_TYPES = ("application/rss+xml", "application/atom+xml")
_FEED_START = re.compile(
    r"^(?:\s|<\?[^>]*\?>|<!--.*?-->|<!DOCTYPE[^\[>]*(?:\[.*?\])?\s*>)*<(?:rss|feed|rdf:RDF)\b",
    re.DOTALL | re.IGNORECASE)
_CDATA = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.DOTALL)


def is_feed(page: Page) -> bool:
    return bool(_FEED_START.match(page.html[:4096].lstrip("\ufeff")))


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def _xml_items(text: str) -> Iterator[tuple[str, Any, list[dict[str, str]]]]:
    """(title, episode number, enclosures) per item/entry, through the standard parser."""
    if "<!ENTITY" in text[:65536]:  # no entity games: read such a feed the tolerant way
        raise ValueError("feed declares entities")
    root = ET.fromstring(text.lstrip("\ufeff"))
    for item in root.iter():
        if _local(item.tag) not in ("item", "entry"):
            continue
        title, number, enclosures = "", None, []
        for child in item.iter():
            name = _local(child.tag)
            if name == "title" and not title and child is not item:
                title = clean_text("".join(child.itertext()))
            elif name == "episode" and number is None:
                number = to_number((child.text or "").strip())
            elif name == "enclosure":
                enclosures.append({"url": child.get("url", ""), "type": child.get("type", ""),
                                   "length": child.get("length", "")})
            elif name == "link" and child.get("rel") == "enclosure":
                enclosures.append({"url": child.get("href", ""), "type": child.get("type", ""),
                                   "length": child.get("length", "")})
            elif name == "content" and child.get("url") and child.get("medium", "audio") in (
                    "audio", ""):
                enclosures.append({"url": child.get("url", ""), "type": child.get("type", ""),
                                   "length": child.get("fileSize", "")})
        yield title, number, enclosures


def _markup_items(page: Page) -> Iterator[tuple[str, Any, list[dict[str, str]]]]:
    """The same from a broken feed, through the HTML parser (CDATA unwrapped first)."""
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(_CDATA.sub(lambda m: m.group(1).replace("<", "&lt;"), page.html))
    for item in tree.css("item, entry"):
        heading = item.css_first("title")
        title = clean_text(heading.text(deep=True)) if heading is not None else ""
        enclosures = [{"url": attr(n, "url"), "type": attr(n, "type"), "length": attr(n, "length")}
                      for n in item.css("enclosure")]
        enclosures += [{"url": attr(n, "href"), "type": attr(n, "type"),
                        "length": attr(n, "length")} for n in item.css('link[rel="enclosure"]')]
        yield title, None, enclosures


def find(page: Page) -> list[PlacedTrack]:
    """Enclosures of a feed page, in feed order, titled by their item."""
    if not is_feed(page):
        return []
    try:
        items = list(_xml_items(page.html))
    except (ET.ParseError, ValueError, RecursionError):
        items = list(_markup_items(page))
    found: list[PlacedTrack | None] = []
    for index, (title, number, enclosures) in enumerate(items):
        for enclosure in enclosures:
            track = make_track(page, enclosure["url"], NAME, (0, index), title=title,
                               number=number, mime=enclosure["type"] or None,
                               trust=enclosure["type"].lower().startswith("audio/"))
            if track is not None:
                track.size = _size(enclosure["length"])
                found.append(track)
    return unique(found)


def _size(raw: str) -> int | None:
    raw = raw.strip()
    return int(raw) if raw.isdigit() and 0 < int(raw) < 1 << 42 else None


def feed_links(page: Page) -> list[str]:
    """Feeds the page advertises (RSS/Atom), main feeds before comment feeds."""
    links: list[tuple[bool, str]] = []
    seen: set[str] = set()
    for node in page.css("link[href]"):
        rel = attr(node, "rel").lower().split()
        kind = attr(node, "type").lower().split(";")[0].strip()
        if "alternate" not in rel or kind not in FEED_TYPES:
            continue
        url = page.resolve(node.attributes.get("href"))
        if url and url not in seen:
            seen.add(url)
            comments = "comment" in (url + attr(node, "title")).lower()
            links.append((comments, url))
    return [url for _, url in sorted(links, key=lambda pair: pair[0])]
