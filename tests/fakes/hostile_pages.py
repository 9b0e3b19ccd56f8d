"""Pages a hostile (or merely odd) site serves: deep nesting, millions of elements, pages
larger than AudioFetch reads, and pages whose encoding only the markup declares."""

from __future__ import annotations

AUDIO_LINK = '<a href="/media/deep.mp3">The deep track</a>'


def nested_divs(levels: int, inner: str = AUDIO_LINK, title: str = "Deep") -> bytes:
    """`levels` nested `<div>`s around `inner` (1,000,000 levels is about 11 MB)."""
    return (f"<!DOCTYPE html><html><head><title>{title}</title></head><body>"
            + "<div>" * levels + inner + "</div>" * levels + "</body></html>").encode()


def many_elements(count: int, inner: str = AUDIO_LINK) -> bytes:
    """`count` elements in all: `inner` (one element) after `count - 1` empty `<i>`s."""
    return ("<!DOCTYPE html><title>Wide</title>" + "<i></i>" * (count - 1) + inner).encode()


def larger_than(size: int, *, before: str = "", after: str = "") -> bytes:
    """A page of more than `size` bytes of prose, `before` at its start, `after` at its end."""
    paragraph = "<p>" + "All work and no play makes a dull page. " * 20 + "</p>\n"
    body = paragraph * (size // len(paragraph) + 1)
    return f"<!DOCTYPE html><title>Long</title>{before}{body}{after}".encode()


def latin1_page(track_href: str, *, meta: str = '<meta charset="iso-8859-1">') -> bytes:
    """A page written in ISO-8859-1 whose only declaration is `meta`: title "Café Été"
    and one audio link, `track_href` as written in the page."""
    return (f"<!DOCTYPE html><html><head>{meta}<title>Café Été</title></head><body>"
            f'<p>Écoutez :</p><a href="{track_href}">Chanson d’été</a></body></html>'
            ).replace("’", "'").encode("iso-8859-1")
