"""What the browser saw, merged with detection (sources/page/seen.py), and through REST."""

from __future__ import annotations

import pytest

from audiofetch_app.core.registry import OptionError
from audiofetch_app.sources.page.options import PageOptions
from audiofetch_app.sources.page.seen import check_seen, merge
from audiofetch_app.sources.page.tracks import Track


def test_detection_keeps_its_order_and_the_browser_adds_only_what_is_new() -> None:
    detected = [Track("https://a.example/one.mp3", "One", family="html5"),
                Track("https://a.example/two.mp3", "", family="html5")]
    seen = check_seen([
        {"url": "https://a.example/two.mp3#t=10", "title": "Two", "kind": "element"},
        {"url": "https://cdn.example/three.m4a?sig=1", "title": "Three", "kind": "element"},
        {"url": "https://A.EXAMPLE:443/one.mp3", "title": "Other name", "kind": "source"},
        {"url": "https://cdn.example/live/index.m3u8", "kind": "request"},
        {"url": "https://cdn.example/app.js", "kind": "request"},
        {"url": "https://cdn.example/manifest.mpd", "kind": "request"},
        {"url": "https://cdn.example/stream", "kind": "request", "mime": "audio/ogg"},
        {"url": "blob:https://a.example/5f1e", "kind": "element"},
        {"url": "data:audio/mpeg;base64,AAAA", "kind": "element"},
    ])
    merged = merge(detected, seen)
    assert [(t.url, t.title, t.family) for t in merged] == [
        ("https://a.example/one.mp3", "One", "html5"),  # its own name stays
        ("https://a.example/two.mp3", "Two", "html5"),  # an empty name is filled
        ("https://cdn.example/three.m4a?sig=1", "Three", "browser"),
        ("https://cdn.example/live/index.m3u8", "index", "browser"),
        ("https://cdn.example/stream", "stream", "browser"),
    ]


def test_what_the_browser_sends_is_checked() -> None:
    with pytest.raises(OptionError, match="seen: each entry needs a url"):
        check_seen([{"title": "x"}])
    with pytest.raises(OptionError, match="at most 500"):
        check_seen([{"url": f"https://a.example/{i}.mp3"} for i in range(501)])
    with pytest.raises(OptionError):
        PageOptions.from_dict({"seen": "https://a.example/a.mp3"})
    options = PageOptions.from_dict({"seen": [{"url": " https://a.example/a.mp3 ",
                                               "title": "A" * 1000, "kind": "sideways"}]})
    assert options.seen == [{"url": "https://a.example/a.mp3", "title": "A" * 300,
                             "kind": "request", "mime": None}]
    # What urllib cannot read (RFC 3986 §3.2.2 brackets, a port over 65535) is left out,
    # as a blob: source is, instead of failing the whole preview.
    kept = check_seen([{"url": "http://[::1/a.mp3", "kind": "element"},
                       {"url": "http://cdn.example:99999/b.mp3", "kind": "element"},
                       {"url": "https://cdn.example/c.mp3", "kind": "element"}])
    assert [entry["url"] for entry in kept] == ["https://cdn.example/c.mp3"]


async def test_rest_takes_a_sources_options_but_not_local_paths(http_server, runtime) -> None:
    from fastapi import FastAPI
    from httpx import ASGITransport, AsyncClient

    from audiofetch_app.web.api import build_router

    http_server.add("/empty.html", "<html><title>Empty</title><body>none</body></html>",
                    content_type="text/html")
    page = http_server.url_for("/empty.html")
    app = FastAPI()
    app.include_router(build_router(lambda: runtime))
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as client:
        seen = [{"url": http_server.url_for("/a.mp3"), "title": "Aria", "kind": "element"}]
        answer = await client.post("/api/preview", json={
            "url": page, "kind": "page", "options": {"seen": seen}})
        assert answer.status_code == 200, answer.text
        assert [(t["title"], t["family"]) for t in answer.json()["tracks"]] == [
            ("Aria", "browser")]
        for name in ("cookies_file", "output_dir"):
            refused = await client.post("/api/download", json={
                "url": page, "options": {name: "/etc/passwd"}})
            assert refused.status_code == 403
            assert refused.json()["detail"] == (
                f"The option {name} names a file on this computer, so only its command line "
                "(with the local token) may give it.")
        unknown = await client.post("/api/preview", json={
            "url": page, "kind": "page", "options": {"colour": "blue"}})
        assert unknown.status_code == 422 and "colour" in unknown.json()["detail"]
