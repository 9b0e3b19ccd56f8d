"""The page as detection sees it: decoded text, parsed tree, base URL, inline scripts."""

from __future__ import annotations

import functools
import html as html_lib
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from audiofetch_app.sources.page import charset
from audiofetch_app.sources.page.scripts import Token, string_vars, tokenize
from audiofetch_app.sources.page.urls import resolve_url

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
_JS_TYPES = ("", "text/javascript", "application/javascript", "module", "text/babel",
             "application/x-javascript", "text/ecmascript", "application/ecmascript")
_TITLE_WINDOW = 200_000  # characters; a title further down is not the page's


def decode_html(data: bytes, http_charset: str | None = None) -> str:
    """Text of a page, its encoding sniffed as browsers do (see `charset`): BOM, then the
    HTTP charset, then `<meta>` or XML declaration, then UTF-8 if valid, else windows-1252."""
    return charset.decode_html(data, http_charset)[0]


def page_title(text: str, url: str) -> str:
    """The page's first `<title>`, whitespace collapsed; the host name when it has none.

    Plain forward searches, so no page can make this slow."""
    head = text[:_TITLE_WINDOW]
    low = head.lower()
    title, position = "", low.find("<title")
    while position >= 0:
        after = low[position + 6:position + 7]
        if after in ("", ">", "/") or after.isspace():
            start = low.find(">", position)
            end = low.find("</title", start) if start >= 0 else -1
            if end >= 0:
                title = html_lib.unescape(head[start + 1:end]).strip()
            break
        position = low.find("<title", position + 6)
    return re.sub(r"\s+", " ", title) or urlsplit(url).netloc


@dataclass
class Script:
    """One inline `<script>` element: its text and where it sits in the document."""

    text: str
    position: int
    type: str = ""
    attrs: dict[str, str] = field(default_factory=dict)
    _tokens: list[Token] | None = field(default=None, repr=False)

    @property
    def is_javascript(self) -> bool:
        return self.type in _JS_TYPES

    @property
    def tokens(self) -> list[Token]:
        if self._tokens is None:
            self._tokens = tokenize(self.text) if self.is_javascript else []
        return self._tokens


@dataclass
class Page:
    """A parsed page; every family reads from this and never touches the network."""

    url: str
    html: str
    tree: LexborHTMLParser
    base_url: str
    scripts: list[Script]
    encoding: str = "utf-8"  # what the page was decoded with; its URLs' queries use it too

    def resolve(self, raw: Any) -> str | None:
        """Absolute http(s) URL for a URL as written in the page (a non-ASCII query encoded
        in the page's encoding, as browsers do); None for anything else."""
        if isinstance(raw, str):
            raw = charset.encode_query(raw, self.encoding)
        return resolve_url(raw, self.base_url)

    @functools.cached_property
    def _order(self) -> dict[int, int]:
        order: dict[int, int] = {}
        root = self.tree.root
        if root is not None:
            for index, node in enumerate(root.traverse()):
                order[node.mem_id] = index
        return order

    def position(self, node: LexborNode | None) -> int:
        """Index of an element in document order (for keeping tracks in page order)."""
        if node is None:
            return 0
        return self._order.get(node.mem_id, 0)

    def css(self, selector: str) -> list[LexborNode]:
        try:
            return list(self.tree.css(selector))
        except Exception:  # selectolax raises on odd trees; treat as "nothing there"
            return []

    @functools.cached_property
    def string_env(self) -> dict[str, str]:
        """String variables every inline script defines (`var base = "/audio/"`)."""
        env: dict[str, str] = {}
        for script in self.scripts:
            if script.is_javascript:
                env = string_vars(script.tokens, env)
        return env

    @functools.cached_property
    def script_text(self) -> str:
        return "\n".join(s.text for s in self.scripts if s.is_javascript)

    def meta(self, *names: str) -> str:
        """First non-empty `<meta property|name=...>` content among names."""
        for name in names:
            for node in self.css(f'meta[property="{name}"], meta[name="{name}"]'):
                content = (node.attributes.get("content") or "").strip()
                if content:
                    return content
        return ""


def parse_page(html: str | bytes, url: str, *, max_bytes: int = DEFAULT_MAX_BYTES,
               http_charset: str | None = None, encoding: str = "utf-8") -> Page:
    """Parse a page for detection; anything beyond max_bytes is ignored. Bytes are decoded
    with the encoding a browser would pick (`http_charset`: the Content-Type's charset);
    text says with `encoding` what it was decoded from (its URLs' queries use it)."""
    if isinstance(html, bytes | bytearray):
        text, encoding = charset.decode_html(bytes(html[:max_bytes]), http_charset)
    else:
        text = str(html)[:max_bytes]
    text = text.replace("\x00", "\ufffd")
    tree = LexborHTMLParser(text)
    base_url = url
    for node in tree.css("base[href]"):
        href = node.attributes.get("href")
        resolved = resolve_url(charset.encode_query(href, encoding) if href else href, url)
        if resolved:
            base_url = resolved
        break
    page = Page(url=url, html=text, tree=tree, base_url=base_url, scripts=[],
                encoding=encoding)
    for node in tree.css("script"):
        attrs = {k: v or "" for k, v in node.attributes.items()}
        if attrs.get("src"):
            continue
        body = node.text(deep=True) or ""
        if body.strip():
            kind = attrs.get("type", "").strip().lower()
            page.scripts.append(Script(body, page.position(node), kind, attrs))
    return page
