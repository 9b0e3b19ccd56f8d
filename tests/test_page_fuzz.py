"""Random markup thrown at page detection: it never raises and only returns usable tracks."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audiofetch_app.sources.page.detect import (
    FAMILIES,
    detect_tracks,
    family_names,
    feed_links,
    parse_page,
)
from audiofetch_app.sources.page.scripts import parse_literal, tokenize
from audiofetch_app.sources.page.tracks import Track
from audiofetch_app.sources.page.urls import resolve_url

FIXTURES = [p.read_text("utf-8") for p in sorted((Path(__file__).parent / "fixtures" /
                                                  "pages").iterdir()) if p.suffix != ".json"]

# Pieces of the markup real players produce, to be cut and glued in random order.
FRAGMENTS = [
    '<audio controls src="a.mp3"></audio>',
    '<audio><source src="b.ogg" type="audio/ogg"><source src="//cdn.x/b.mp3" type="audio/mpeg">',
    '<amp-audio src="c.m4a" title="C"></amp-audio>', '<audio data-src="/lazy.mp3">',
    '<a href="d.mp3">Chapter</a>', '<a href="x?y=1&amp;z=2" type="audio/mpeg">t</a>',
    '<base href="https://base.example/dir/">', '<base href="javascript:alert(1)">',
    '<audio class="plyr" data-plyr-config=\'{"title": "P"}\'><source src="p.mp3">',
    "<script>const tracks = [{title: 'T', src: 't.mp3'}, {file: \"u.m4a\",}];</script>",
    "<script>player.source = {type: 'audio', sources: [{src: 's.mp3', type: 'audio/mp3'}]}",
    "<script>var base = '/snd/'; new Howl({src: [base + 'h' + '.mp3', base + x]});</script>",
    '<audio class="mejs__player" data-mejsoptions=\'{"features": ["playlist"]}\'>',
    '<source src="m1.mp3" title="M1"><source src="m2.mp3" data-title="M2"></audio>',
    "<script>new MediaElementPlayer('pl', {features: ['playlist']})</script>",
    '<video-js class="vjs-audio-only-mode" data-setup=\'{"sources": [{"src": "l.m3u8"}]}\'>',
    "<script>videojs('v').src([{src: 'v.mp3', type: 'audio/mpeg'}])</script>",
    '<audio class="wp-audio-shortcode"><source src="w.mp3?_=1" type="audio/mpeg"></audio>',
    '<script type="application/json" class="wp-playlist-script">{"tracks": [{"src": "y.mp3"',
    '<script type="application/ld+json">{"@graph": [{"@type": "PodcastEpisode", "audio": ',
    '{"@type": "AudioObject", "contentUrl": "e.mp3"}]}</script>',
    '<meta property="og:audio" content="o.mp3"><meta property="og:audio:secure_url" content="',
    '<meta name="twitter:player:stream" content="s" >',
    '<?xml version="1.0"?><rss><channel><item><title>R</title><enclosure url="r.mp3"/>',
    '<feed xmlns="http://www.w3.org/2005/Atom"><entry><link rel="enclosure" href="f.mp3"/>',
    '<link rel="alternate" type="application/rss+xml" href="/feed/">',
    "<script>jwplayer('audio').setup({height: 40, playlist: [{file: 'j.m3u8', title: 'J'}]})",
    "<script>$(this).jPlayer('setMedia', {mp3: 'jp.mp3'}); new jPlayerPlaylist({}, [{oga: 'q'",
    "<script>new APlayer({audio: [{name: 'A', url: 'ap'}]}); Amplitude.init({songs: [{url: ",
    '<a class="sm2_button" href="sm.mp3">x</a><ul class="sm2-playlist-bd"><li><a href="#">',
    "<script>hls.loadSource('https://h.example/live.m3u8'); hls.attachMedia(audio)</script>",
    "<script>new Plyr('#['); Plyr.setup(':not('); new MediaElementPlayer('a b[');</script>",
    "<script>videojs('x\\\"').src('y.mp3'); jwplayer(']').setup({file: 'z.mp3'})</script>",
    "<script>var s = `tpl ${x}`; /* unterminated", "<script>var r = /[/]'\"/g; '", "<!--",
    "<![CDATA[", "]]>", "</script>", "<script>", "{", "[", "(", "'", '"', "`", "\\", "&amp;",
    "\x00", "\ufeff", "<!ENTITY x 'y'>", "<!DOCTYPE rss [", "data:audio/mpeg;base64,AA",
]

noise = st.text(alphabet=st.sampled_from(list("<>[]{}()'\"`/\\;:,.=+-*&#!?$ \n\tabcmp3_")),
                max_size=40)


@st.composite
def fixture_slices(draw):
    text = draw(st.sampled_from(FIXTURES))
    start = draw(st.integers(0, len(text)))
    return text[start:start + draw(st.integers(0, 3000))]


markup = st.lists(st.one_of(st.sampled_from(FRAGMENTS), noise, fixture_slices(), st.text(
    max_size=30)), max_size=14).map("".join)


def check(tracks: list) -> None:
    for track in tracks:
        assert isinstance(track, Track)
        parts = urlsplit(track.url)
        assert parts.scheme in ("http", "https") and parts.hostname
        assert not any(c.isspace() for c in track.url)
        assert isinstance(track.title, str)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(html=markup, plugin=st.sampled_from([None, *family_names()]), as_bytes=st.booleans())
def test_detection_never_raises_on_random_markup(html, plugin, as_bytes):
    raw = html.encode("utf-8", "replace") if as_bytes else html
    page = parse_page(raw, "https://fuzz.example/page/index.html", max_bytes=50_000)
    check(detect_tracks(page, plugin))
    assert all(link.startswith("http") for link in feed_links(page))
    for module in FAMILIES.values():  # each family on its own, so a bug is not hidden
        check(module.find(page))


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(noise, st.text(max_size=200), st.sampled_from(FRAGMENTS)))
def test_js_reader_and_resolver_never_raise(text):
    tokenize(text)
    parse_literal(text)
    url = resolve_url(text, "https://fuzz.example/a/")
    assert url is None or url.startswith(("http://", "https://"))
