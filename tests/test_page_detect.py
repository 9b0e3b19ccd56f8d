"""Page audio detection: every player family on fixture pages written like real sites.

Each page in tests/fixtures/pages/ has `<page stem>.expected.json` beside it: the page's URL,
what it exercises, and the tracks detection must give, per plugin ("auto" = all families).
Each track lists only the fields checked (url, title, number, mime, size, family)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from audiofetch_app.sources.page import detect, players
from audiofetch_app.sources.page.detect import (
    FAMILIES,
    UnknownPlugin,
    detect_tracks,
    family_names,
    feed_links,
    parse_page,
    what_we_look_for,
)
from audiofetch_app.sources.page.players.common import PlacedTrack
from audiofetch_app.sources.page.scripts import UNRESOLVED, parse_literal, string_vars, tokenize
from audiofetch_app.sources.page.tracks import Track
from audiofetch_app.sources.page.urls import HLS_MIME, normalize_url, resolve_url

PAGES = Path(__file__).parent / "fixtures" / "pages"
EXPECTED = ".expected.json"
TRACK_FIELDS = ("url", "title", "number", "mime", "size", "family")


def expected_of(page: Path) -> Path:
    return page.with_name(page.stem + EXPECTED)


FIXTURES = sorted(p.name for p in PAGES.iterdir() if not p.name.endswith(EXPECTED))
EXPECTATIONS = {name: json.loads(expected_of(PAGES / name).read_text("utf-8"))
                for name in FIXTURES if expected_of(PAGES / name).is_file()}


def page_of(name: str) -> detect.Page:
    return parse_page((PAGES / name).read_bytes(), EXPECTATIONS[name]["url"])


# --- the registry and its API ------------------------------------------------------------

def test_every_family_module_is_listed_once_and_declares_itself():
    folder = Path(players.__file__).parent
    modules = sorted(p.stem for p in folder.glob("*.py") if p.stem not in ("__init__", "common"))
    listed = players.FAMILY_MODULES
    assert len(set(listed)) == len(listed), f"listed twice: {listed}"
    assert sorted(listed) == modules, "players/__init__.py FAMILY_MODULES must list every family"
    loaded = players.load_families()
    for name, module in zip(listed, loaded, strict=True):
        for attribute in ("NAME", "DESCRIPTION", "PRECEDENCE", "find"):
            assert hasattr(module, attribute), f"{name}.py lacks {attribute}"
        assert name == module.NAME, f"{name}.py: NAME must be the module's name"
        assert isinstance(module.DESCRIPTION, str)
        assert module.DESCRIPTION and len(module.DESCRIPTION) < 80
        assert type(module.PRECEDENCE) is int, f"{name}.PRECEDENCE must be an int"
        assert callable(module.find)
    names = [module.NAME for module in loaded]
    precedences = [module.PRECEDENCE for module in loaded]
    assert len(set(names)) == len(names), f"two families share a name: {names}"
    assert len(set(precedences)) == len(precedences), (
        f"two families share a precedence: {dict(zip(names, precedences, strict=True))}")


def test_family_names_are_the_list_in_run_order():
    assert family_names() == list(players.FAMILY_MODULES)
    assert list(FAMILIES.values()) == list(players.load_families())


def test_unknown_plugin_lists_the_valid_names():
    with pytest.raises(UnknownPlugin) as caught:
        detect_tracks(page_of("html5_amp.html"), "foo")
    assert isinstance(caught.value, ValueError)
    assert str(caught.value) == (
        f"Unknown plugin 'foo'; choose one of: {', '.join(players.FAMILY_MODULES)}")


def test_plugin_names_are_case_insensitive_and_auto_means_all():
    page = page_of("mixed_audiobook.html")
    assert detect_tracks(page, "LINKS") == detect_tracks(page, "links")
    assert detect_tracks(page, "auto") == detect_tracks(page)


def test_what_we_look_for_is_one_sentence_naming_every_family():
    sentence = what_we_look_for()
    assert sentence.endswith(".") and ". " not in sentence and "\n" not in sentence
    for module in FAMILIES.values():
        assert module.DESCRIPTION in sentence


@pytest.mark.parametrize("html", [
    "", b"", "<html></html>", "<p>No audio here, just words.</p>",
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", '{"json": true, "src": "a.mp3"}',
    "<audio></audio><a href='#'>x</a><a href='javascript:play(\"a.mp3\")'>y</a>",
])
def test_pages_without_audio_give_nothing(html):
    page = parse_page(html, "https://example.org/")
    assert detect_tracks(page) == []
    assert feed_links(page) == []


def test_every_family_runs_on_every_fixture_without_raising():
    for name in EXPECTATIONS:
        page = page_of(name)
        for module in FAMILIES.values():
            for track in module.find(page):
                assert isinstance(track, PlacedTrack)
                assert track.url.startswith(("https://", "http://"))
                assert track.family == module.NAME


def test_a_failing_family_costs_only_its_own_tracks(monkeypatch, caplog):
    def broken(page):
        raise RuntimeError("detector bug")

    monkeypatch.setattr(FAMILIES["html5"], "find", broken)
    with caplog.at_level("DEBUG", logger="audiofetch_app.sources.page.detect"):
        tracks = detect_tracks(page_of("html5_audiobook.html"))
    assert [t.family for t in tracks] == ["links"] * 3
    assert "html5 failed" in caplog.text
    assert detect_tracks(page_of("html5_audiobook.html"), "html5") == []


def test_results_are_plain_tracks_without_numbers_invented():
    tracks = detect_tracks(page_of("html5_audiobook.html"))
    assert all(type(t) is Track for t in tracks)
    assert all(t.number is None for t in tracks)


# --- the fixture pages and the tracks beside them ----------------------------------------

def test_every_fixture_has_its_expected_tracks():
    assert FIXTURES
    missing = [name for name in FIXTURES if name not in EXPECTATIONS]
    assert not missing, f"add <stem>{EXPECTED} beside: {missing}"
    pages = {Path(name).stem for name in FIXTURES}
    orphans = [p.name for p in PAGES.glob("*" + EXPECTED) if p.name[:-len(EXPECTED)] not in pages]
    assert not orphans, f"expected tracks without a page: {orphans}"
    assert len(pages) == len(FIXTURES), "two pages share a stem, so one expected file"
    for name, expectation in EXPECTATIONS.items():
        assert set(expectation) <= {"url", "about", "tracks"}, name
        assert expectation["url"].startswith(("https://", "http://")), name
        assert expectation["tracks"], f"{name}: no expectations"
        for plugin, tracks in expectation["tracks"].items():
            assert plugin == "auto" or plugin in FAMILIES, f"{name}: no plugin {plugin!r}"
            for track in tracks:
                assert track and set(track) <= set(TRACK_FIELDS), f"{name} {plugin}: {track}"


def test_every_family_has_a_fixture_that_checks_it():
    checked = set()
    for expectation in EXPECTATIONS.values():
        for plugin, tracks in expectation["tracks"].items():
            checked.add(plugin)
            checked.update(track.get("family") for track in tracks)
    assert set(FAMILIES) <= checked, f"no fixture checks: {sorted(set(FAMILIES) - checked)}"


def _checked(track: Track, fields: Any) -> dict[str, Any]:
    return {field: getattr(track, field) for field in fields}


@pytest.mark.parametrize(("name", "plugin"), [
    pytest.param(name, plugin, id=f"{Path(name).stem}-{plugin}")
    for name, expectation in EXPECTATIONS.items() for plugin in expectation["tracks"]])
def test_fixture_page_gives_its_expected_tracks(name, plugin):
    expected = EXPECTATIONS[name]["tracks"][plugin]
    tracks = detect_tracks(page_of(name), None if plugin == "auto" else plugin)
    got = [_checked(track, expected[i] if i < len(expected) else ("url", "title"))
           for i, track in enumerate(tracks)]
    assert got == expected, EXPECTATIONS[name].get("about", "")


# --- what the expected tracks do not say -------------------------------------------------

def test_links_type_the_download_counter_and_the_hls_feed():
    tracks = detect_tracks(page_of("links_archive.html"))
    assert tracks[6].mime == "audio/mpeg" and tracks[7].mime == HLS_MIME


def test_plyr_needs_a_plyr_page():
    page = parse_page("<audio class='player'><source src='a.mp3'></audio>", "https://x.org/")
    assert detect_tracks(page, "plyr") == []


def test_feed_links_main_feeds_first():
    assert feed_links(page_of("wordpress_post.html")) == [
        "https://valleyvoices.example/feed/",
        "https://valleyvoices.example/feed/atom/",
        "https://valleyvoices.example/comments/feed/",
        "https://valleyvoices.example/2024/05/mill-strike-1962/feed/",
    ]
    assert feed_links(page_of("scripts_aplayer.html")) == ["https://xiaolin.example/atom.xml"]
    assert feed_links(page_of("html5_audiobook.html")) == []


def test_broken_feed_is_read_tolerantly_and_entities_are_refused():
    broken = ('<?xml version="1.0"?><rss><channel><item><title>One & Two</title>'
              '<enclosure url="https://a.example/1.mp3" type="audio/mpeg"/></item>'
              '<item><title><![CDATA[Three]]></title><enclosure url="/3.mp3"/></item>')
    page = parse_page(broken, "https://a.example/feed")
    assert [(t.url, t.title) for t in detect_tracks(page)] == [
        ("https://a.example/1.mp3", "One & Two"), ("https://a.example/3.mp3", "Three")]
    bomb = ('<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">'
            '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            '<rss><channel><item><title>&b;</title>'
            '<enclosure url="https://a.example/x.mp3" type="audio/mpeg"/></item></channel></rss>')
    tracks = detect_tracks(parse_page(bomb, "https://a.example/feed"))
    assert [t.url for t in tracks] == ["https://a.example/x.mp3"]


def test_hls_in_an_audio_element_and_not_in_a_video():
    page = parse_page('<video src="/v/master.m3u8"></video><audio controls>'
                      '<source src="/a/live.m3u8" type="application/x-mpegURL"></audio>',
                      "https://radio.example/")
    assert [(t.url, t.mime) for t in detect_tracks(page)] == [
        ("https://radio.example/a/live.m3u8", HLS_MIME)]


# --- URLs: base href, protocol-relative, entities, whitespace, bad schemes --------------

@pytest.mark.parametrize(("raw", "expected"), [
    ("a.mp3", "https://ex.org/dir/a.mp3"),
    ("/a.mp3", "https://ex.org/a.mp3"),
    ("//cdn.ex.org/a.mp3", "https://cdn.ex.org/a.mp3"),
    ("  \n a b.mp3\t ", "https://ex.org/dir/a%20b.mp3"),
    ("x.mp3?a=1&amp;b=2", "https://ex.org/dir/x.mp3?a=1&b=2"),
    ("x.mp3?a=1&amp;amp;b=2&copy=3", "https://ex.org/dir/x.mp3?a=1&b=2&copy=3"),
    ("x.mp3?_=4", "https://ex.org/dir/x.mp3"),
    ("x.mp3?v=2&_=4#t=10", "https://ex.org/dir/x.mp3?v=2"),
    ("HTTP://EX.org:80/A.mp3", "http://ex.org/A.mp3"),
    ("https://ex.org:8443/a.mp3", "https://ex.org:8443/a.mp3"),
    ("javascript:play('a.mp3')", None),
    ("JavaScript:void(0)", None),
    ("data:audio/mpeg;base64,AAAA", None),
    ("blob:https://ex.org/1234", None),
    ("mailto:a@ex.org", None),
    ("ftp://ex.org/a.mp3", None),
    ("#top", None),
    ("", None),
    ("https://[::1/a.mp3", None),
    (None, None),
])
def test_resolve(raw, expected):
    assert resolve_url(raw, "https://ex.org/dir/page.html") == expected


def test_normalize_url_for_dedupe():
    assert normalize_url("HTTPS://Ex.ORG:443/a%20b.mp3?_=3#x") == "https://ex.org/a%20b.mp3"
    assert normalize_url("https://ex.org/a b.mp3?x=1&amp;y=2") == (
        "https://ex.org/a%20b.mp3?x=1&y=2")
    assert normalize_url("https://ex.org/a.mp3?v=1") != normalize_url("https://ex.org/a.mp3?v=2")


# --- parse_page --------------------------------------------------------------------------

def test_parse_page_decodes_declared_charset():
    html = '<meta charset="windows-1251"><a href="/a.mp3">Глава первая</a>'.encode("cp1251")
    page = parse_page(html, "https://ex.ru/")
    assert [t.title for t in detect_tracks(page)] == ["Глава первая"]


def test_parse_page_survives_bad_bytes_and_unknown_charsets():
    html = b'<meta charset="x-no-such"><a href="/a.mp3">caf\xe9 \xff</a>'
    assert [t.url for t in detect_tracks(parse_page(html, "https://ex.org/"))] == [
        "https://ex.org/a.mp3"]


def test_parse_page_truncates_beyond_max_bytes():
    html = '<a href="/1.mp3">one</a>' + " " * 1000 + '<a href="/2.mp3">two</a>'
    page = parse_page(html.encode(), "https://ex.org/", max_bytes=500)
    assert [t.title for t in detect_tracks(page)] == ["one"]
    assert len(parse_page(html, "https://ex.org/", max_bytes=500).html) == 500


# --- the JS literal reader ---------------------------------------------------------------

def test_parse_literal_js_forms():
    text = """{src: ['a.mp3', "b.ogg",], 'title': `Tab\\tbed`, n: -2, ok: true, no: null,
               u: undefined, f: function () { return {x: 1}; }, g: () => 1, m() {}, ...rest,
               // a comment with a ' quote
               last: 'z' /* end */,}"""
    assert parse_literal(text) == {
        "src": ["a.mp3", "b.ogg"], "title": "Tab\tbed", "n": -2, "ok": True, "no": None,
        "u": None, "f": UNRESOLVED, "g": UNRESOLVED, "last": "z"}


def test_parse_literal_falls_back_to_none():
    assert parse_literal("not a literal at all (") is None
    assert parse_literal("`${x}`") is None
    assert parse_literal("") is None
    assert parse_literal('{"a": 1}') == {"a": 1}


def test_string_variables_and_concatenation():
    tokens = tokenize("var base = '/audio/'; const ext = \".mp3\"\nlet full = base + 'x' + ext;"
                      "var dyn = base + location.hash; var re = /['\"]/g; var after = 'ok';")
    assert string_vars(tokens) == {"base": "/audio/", "ext": ".mp3", "full": "/audio/x.mp3",
                                   "after": "ok"}
