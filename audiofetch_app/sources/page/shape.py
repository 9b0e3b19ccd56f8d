"""A quick look at a page's shape before it is parsed: how many elements, how deep.

HTML parsers slow down with nesting (lexbor takes half a minute on 100,000 nested `<div>`s,
as each new block element looks up the stack of open elements), and a tree of millions of
elements costs memory. This scan counts start tags and tracks the depth of the elements
that stay open, in one pass of string searches, and stops as soon as a cap is passed. It
follows the tokenizer only as far as a cap needs: comments, raw text (`<script>`, `<style>`,
`<textarea>`...) and void elements are skipped, elements whose end tag may be left out (`<p>`,
`<li>`, `<td>`...) never count as open, and `/>` closes only inside `<svg>` and `<math>`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Elements that never have content (HTML Standard "void elements", and obsolete ones parsed
# the same way).
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                   "source", "track", "wbr", "basefont", "bgsound", "frame", "image",
                   "keygen", "param"})
# Elements whose end tag may be omitted: the parser closes them when the next one starts,
# so sloppy pages that never close them do not nest (HTML Standard 13.1.2.4).
_OPTIONAL_END = frozenset({"html", "head", "body", "p", "li", "dt", "dd", "option",
                           "optgroup", "rb", "rt", "rtc", "rp", "tr", "td", "th", "thead",
                           "tbody", "tfoot", "colgroup", "caption"})
# Elements whose content is text up to their end tag.
_RAW_TEXT = frozenset({"script", "style", "textarea", "title", "xmp", "iframe", "noembed",
                       "noframes", "noscript"})
_FOREIGN = frozenset({"svg", "math"})
_TAG = re.compile(r"<(/?)([a-z][^\t\n\x0c\r />]*)")


class PageTooComplex(Exception):
    """A page past a cap: `what` is "depth" or "elements", `limit` the cap it passed."""

    def __init__(self, what: str, limit: int) -> None:
        super().__init__(what, limit)
        self.what, self.limit = what, limit


@dataclass(frozen=True)
class Shape:
    """What the scan counted: start tags, and the deepest nesting of open elements."""

    elements: int
    depth: int


def check_shape(text: str, *, max_depth: int, max_elements: int) -> Shape:
    """Count the elements and nesting of the HTML `text`; PageTooComplex as soon as there
    are more than `max_elements` start tags or more than `max_depth` elements open at once.

    Linear in the length of `text` (every search moves forward), so a hostile page cannot
    make the scan itself slow."""
    low = text.lower()
    elements = depth = deepest = 0
    foreign_at = 0  # the depth of an open <svg>/<math>; 0 when outside one
    position = low.find("<")
    while position >= 0:
        if low.startswith("<!--", position):
            close = low.find("-->", position + 2)
            if close < 0:
                break  # the rest of the page is a comment
            position = low.find("<", close + 3)
            continue
        match = _TAG.match(low, position)
        if match is None:
            position = low.find("<", position + 1)
            continue
        end = low.find(">", match.end())
        if end < 0:
            break
        closing, name = match.group(1), match.group(2)
        if closing:
            if name not in _VOID and name not in _OPTIONAL_END and depth:
                depth -= 1
                if depth < foreign_at:
                    foreign_at = 0
        else:
            elements += 1
            if elements > max_elements:
                raise PageTooComplex("elements", max_elements)
            self_closing = low[end - 1] == "/"
            if name in _RAW_TEXT:
                close = low.find(f"</{name}", end)
                if close < 0:
                    break  # the rest of the page is this element's text
                end = low.find(">", close)
                if end < 0:
                    break
            elif (name not in _VOID and name not in _OPTIONAL_END
                  and not (self_closing and (foreign_at or name in _FOREIGN))):
                depth += 1
                deepest = max(deepest, depth)
                if depth > max_depth:
                    raise PageTooComplex("depth", max_depth)
                if name in _FOREIGN and not foreign_at:
                    foreign_at = depth
        position = low.find("<", end + 1)
    return Shape(elements, deepest)
