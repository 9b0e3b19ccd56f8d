"""The page as detection sees it: decoded text, parsed tree, base URL, inline scripts."""

from __future__ import annotations

import codecs
import functools
import re
from dataclasses import dataclass, field
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode

from audiofetch_app.sources.page.scripts import Token, string_vars, tokenize
from audiofetch_app.sources.page.urls import resolve_url

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
_HEAD_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{1,40})"""
    rb"""|<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_.:-]{1,40})""",
    re.IGNORECASE,
)
_JS_TYPES = ("", "text/javascript", "application/javascript", "module", "text/babel",
             "application/x-javascript", "text/ecmascript", "application/ecmascript")
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))


def decode_html(data: bytes) -> str:
    """Text of a page: BOM, then a `<meta charset>`/XML declaration, else UTF-8 (replacing)."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    match = _HEAD_CHARSET.search(data[:4096])
    encoding = "utf-8"
    if match:
        name = (match.group(1) or match.group(2)).decode("ascii", "replace")
        try:
            encoding = codecs.lookup(name).name
        except LookupError:
            encoding = "utf-8"
        if encoding.startswith("utf-16"):  # a declaration read as ASCII cannot be UTF-16
            encoding = "utf-8"
    return data.decode(encoding, errors="replace")


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

    def resolve(self, raw: Any) -> str | None:
        """Absolute http(s) URL for a URL as written in the page; None for anything else."""
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


def parse_page(html: str | bytes, url: str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Page:
    """Parse a page for detection; bytes are decoded, anything beyond max_bytes is ignored."""
    if isinstance(html, bytes | bytearray):
        text = decode_html(bytes(html[:max_bytes]))
    else:
        text = str(html)[:max_bytes]
    text = text.replace("\x00", "\ufffd")
    tree = LexborHTMLParser(text)
    base_url = url
    for node in tree.css("base[href]"):
        resolved = resolve_url(node.attributes.get("href"), url)
        if resolved:
            base_url = resolved
        break
    page = Page(url=url, html=text, tree=tree, base_url=base_url, scripts=[])
    for node in tree.css("script"):
        attrs = {k: v or "" for k, v in node.attributes.items()}
        if attrs.get("src"):
            continue
        body = node.text(deep=True) or ""
        if body.strip():
            kind = attrs.get("type", "").strip().lower()
            page.scripts.append(Script(body, page.position(node), kind, attrs))
    return page
