"""Page audio detection: every player family on fixture pages written like real sites."""

from __future__ import annotations

from pathlib import Path

import pytest

from audiofetch_app.sources.page import detect
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

URLS = {
    "html5_audiobook.html": "https://openshelf-audio.example/book/adventures-of-sherlock-holmes",
    "html5_amp.html": "https://fieldnotes-radio.example/stories/why-bats-sing/amp/",
    "links_archive.html": "https://files.folkfest.example/recordings/2023-folk-festival/",
    "plyr_site.html": "https://tidepool.example/sessions/7/",
    "howler_game.html": "https://pixelpond.example/play/",
    "mediaelement_playlist.html": "https://stbrendans-choir.example/rehearsals/",
    "videojs_audio.html": "https://nightshift-radio.example/",
    "wordpress_post.html": "https://valleyvoices.example/2024/05/mill-strike-1962/",
    "jsonld_podcast_episode.html": "https://keeperslog.example/episodes/118-automation",
    "jsonld_series.html": "https://smallengines.example/",
    "meta_og_audio.html": "https://harbourline.example/track/88213-lanterns",
    "feeds_podcast_rss.xml": "https://smallengines.example/feed.xml",
    "feeds_atom.xml": "https://fieldrec.example/atom.xml",
    "scripts_jwplayer.html": "https://riverton.example/meetings/audio",
    "scripts_jplayer.html": "https://starkpalace.example/listen/",
    "scripts_aplayer.html": "https://xiaolin.example/2024/03/09/weekend-playlist/",
    "scripts_amplitude.html": "https://astronauts.example/album/we-are-to-answer",
    "scripts_soundmanager.html": "https://junipervo.example/demos",
    "hls_radio.html": "https://harbourfm.example/listen",
    "mixed_base_href.html": "https://www.readaloud.example/books/moby-dick/listen?ch=1-6",
    "mixed_audiobook.html": "https://lantern-audio.example/books/wind-in-the-willows",
}


def page_of(name: str) -> detect.Page:
    return parse_page((PAGES / name).read_bytes(), URLS[name])


def found(name: str, plugin: str | None = None) -> list[tuple[str, str]]:
    return [(t.url, t.title) for t in detect_tracks(page_of(name), plugin)]


# --- the registry and its API ------------------------------------------------------------

def test_family_names_are_fixed_and_complete():
    assert family_names() == ["html5", "links", "plyr", "howler", "mediaelement", "videojs",
                              "wordpress", "jsonld", "meta", "feeds", "scripts", "hls"]
    for name, module in FAMILIES.items():
        assert name == module.NAME
        assert module.DESCRIPTION and len(module.DESCRIPTION) < 80
        assert callable(module.find)


def test_unknown_plugin_lists_the_valid_names():
    with pytest.raises(UnknownPlugin) as caught:
        detect_tracks(page_of("html5_amp.html"), "foo")
    assert isinstance(caught.value, ValueError)
    assert str(caught.value) == (
        "Unknown plugin 'foo'; choose one of: html5, links, plyr, howler, mediaelement, videojs, "
        "wordpress, jsonld, meta, feeds, scripts, hls")


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
    for name in URLS:
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


# --- html5 -------------------------------------------------------------------------------

HOLMES = "https://archive.openshelf-audio.example/holmes/"


def test_html5_audio_picks_one_source_per_element():
    tracks = detect_tracks(page_of("html5_audiobook.html"), "html5")
    assert [(t.url, t.title, t.mime) for t in tracks] == [
        (HOLMES + "adventures_01_doyle.mp3", "", "audio/mpeg"),
        (HOLMES + "adventures_02_doyle.mp3", "", "audio/mpeg"),
        (HOLMES + "adventures_03_doyle.mp3", "", "audio/mpeg"),  # lazy data-src
        (HOLMES + "adventures_04_doyle.ogg", "The Boscombe Valley Mystery", "audio/ogg"),
    ]


def test_auto_merges_audio_and_links_keeping_the_link_titles():
    tracks = detect_tracks(page_of("html5_audiobook.html"))
    assert [(t.url, t.title, t.family) for t in tracks] == [
        (HOLMES + "adventures_01_doyle.mp3", "A Scandal in Bohemia", "html5"),
        (HOLMES + "adventures_02_doyle.mp3", "The Red-Headed League", "html5"),
        (HOLMES + "adventures_03_doyle.mp3", "A Case of Identity", "html5"),
        (HOLMES + "adventures_04_doyle.ogg", "The Boscombe Valley Mystery", "html5"),
    ]


def test_amp_audio_prefers_m4a_over_webm_and_resolves_protocol_relative():
    assert [(t.url, t.title, t.mime) for t in detect_tracks(page_of("html5_amp.html"))] == [
        ("https://media.fieldnotes-radio.example/2024/bats-full.m4a",
         "Why bats sing at night (full story)", "audio/mp4"),
        ("https://media.fieldnotes-radio.example/2024/bat-calls-slowed.mp3",
         "Bat calls, slowed 10x", "audio/mpeg"),
    ]


# --- links -------------------------------------------------------------------------------

def test_links_by_extension_and_type():
    base = "https://files.folkfest.example/recordings/2023-folk-festival/"
    assert found("links_archive.html", "links") == [
        (base + "01%20-%20Opening%20Set.mp3", "01 - Opening Set.mp3"),
        (base + "02%20-%20The%20Water%20is%20Wide.flac", "02 - The Water is Wide.flac"),
        (base + "03%20-%20Interview%20with%20Mara%20Quinn.m4a",
         "03 - Interview with Mara Quinn.m4a"),
        (base + "04%20-%20Closing%20Jam.OGG", "04 - Closing Jam.OGG"),
        (base + "05%20-%20Encore.opus", "05 - Encore.opus"),
        ("https://files.folkfest.example/cgi-bin/get.php?file=06%20-%20Bonus%20Tune.mp3&dl=1",
         "Bonus tune (download counter)"),
        ("https://radio.folkfest.example/listen?station=main", "Festival radio (live)"),
        ("https://radio.folkfest.example/hls/main/index.m3u8", "HLS feed"),
    ]
    tracks = detect_tracks(page_of("links_archive.html"))
    assert tracks[6].mime == "audio/mpeg" and tracks[7].mime == HLS_MIME


# --- plyr --------------------------------------------------------------------------------

def test_plyr_element_tracks_array_and_source_object():
    expected = [
        ("https://tidepool.example/media/session-07/low-tide.mp3", "Low Tide (full session)"),
        ("https://tidepool.example/media/session-07/barnacle-choir.mp3", "Barnacle Choir"),
        ("https://tidepool.example/media/session-07/kelp-wind.m4a", "Kelp / Wind"),
        ("https://cdn.tidepool.example/session-07/gull-interlude.mp3?v=2", "Gull Interlude"),
        ("https://cdn.tidepool.example/bonus/rain-on-the-pier.mp3", "Bonus: Rain on the Pier"),
    ]
    assert found("plyr_site.html", "plyr") == expected
    tracks = detect_tracks(page_of("plyr_site.html"))
    assert [(t.url, t.title) for t in tracks] == expected
    assert {t.family for t in tracks} == {"plyr"}


def test_plyr_needs_a_plyr_page():
    page = parse_page("<audio class='player'><source src='a.mp3'></audio>", "https://x.org/")
    assert detect_tracks(page, "plyr") == []


# --- howler ------------------------------------------------------------------------------

def test_howler_resolves_base_name_ext_and_skips_runtime_urls():
    audio = "https://pixelpond.example/static/pixel-pond/audio/"
    assert found("howler_game.html", "howler") == [
        (audio + "intro.mp3", "intro"),
        (audio + "splash.mp3", "splash"),
        (audio + "reel-loop.ogg", "reel"),
        ("https://cdn.pixelpond.example/music/theme.m4a", "music"),
    ]


# --- mediaelement ------------------------------------------------------------------------

def test_mediaelement_playlist_sources_are_tracks_single_players_are_one():
    media = "https://stbrendans-choir.example/media/"
    expected = [
        (media + "spring/ave-verum-soprano.mp3", "Ave verum — soprano"),
        (media + "spring/ave-verum-alto.mp3", "Ave verum — alto"),
        (media + "spring/ave-verum-tenor.mp3", "Ave verum — tenor"),
        (media + "spring/ave-verum-bass.mp3", "Ave verum — bass"),
        (media + "warmups/lip-trills.mp3", "Lip trills (5 min)"),
        (media + "sectionals/week12-sopranos.m4a", "Week 12 — sopranos"),
        (media + "sectionals/week12-altos.m4a", "Week 12 — altos"),
    ]
    assert found("mediaelement_playlist.html", "mediaelement") == expected
    assert found("mediaelement_playlist.html") == expected


# --- videojs -----------------------------------------------------------------------------

def test_videojs_keeps_audio_and_skips_video():
    tracks = detect_tracks(page_of("videojs_audio.html"), "videojs")
    assert [(t.url, t.title, t.mime) for t in tracks] == [
        ("https://live.nightshift-radio.example/hls/nsr/playlist.m3u8", "", HLS_MIME),
        ("https://nightshift-radio.example/episodes/041-ferry-workers.mp3",
         "Episode 41: Ferry Workers", "audio/mpeg"),
        ("https://nightshift-radio.example/episodes/042-night-market.m4a", "", "audio/mp4"),
    ]
    assert [t.url for t in detect_tracks(page_of("videojs_audio.html"))] == [
        t.url for t in tracks]


# --- wordpress ---------------------------------------------------------------------------

UPLOADS = "https://valleyvoices.example/wp-content/uploads/2024/05/"


def test_wordpress_shortcodes_block_and_playlist():
    tracks = detect_tracks(page_of("wordpress_post.html"), "wordpress")
    assert [(t.url, t.title, t.number, t.mime) for t in tracks] == [
        (UPLOADS + "mill-strike-part-1.mp3", "", None, "audio/mpeg"),
        (UPLOADS + "mill-strike-part-2.mp3", "", None, "audio/mpeg"),
        (UPLOADS + "brass-band-1962.mp3", "The works brass band at the rally (1962 recording)",
         None, "audio/mpeg"),
        (UPLOADS + "interview-edith.mp3", "Edith Marsh", 1, "audio/mpeg"),
        (UPLOADS + "interview-tom.mp3", "Tom Heald", 2, "audio/mpeg"),
        (UPLOADS + "interview-sam.m4a", "Sam Okafor", None, "audio/mp4"),
    ]


def test_wordpress_auto_dedupes_the_fallback_and_noscript_links():
    tracks = detect_tracks(page_of("wordpress_post.html"))
    assert [(t.url, t.family) for t in tracks] == [
        (UPLOADS + "mill-strike-part-1.mp3", "wordpress"),
        (UPLOADS + "mill-strike-part-2.mp3", "wordpress"),
        (UPLOADS + "brass-band-1962.mp3", "wordpress"),
        (UPLOADS + "interview-edith.mp3", "wordpress"),
        (UPLOADS + "interview-tom.mp3", "wordpress"),
        (UPLOADS + "interview-sam.m4a", "wordpress"),
    ]
    assert [t.number for t in tracks][3:5] == [1, 2]


def test_feed_links_main_feeds_first():
    assert feed_links(page_of("wordpress_post.html")) == [
        "https://valleyvoices.example/feed/",
        "https://valleyvoices.example/feed/atom/",
        "https://valleyvoices.example/comments/feed/",
        "https://valleyvoices.example/2024/05/mill-strike-1962/feed/",
    ]
    assert feed_links(page_of("scripts_aplayer.html")) == ["https://xiaolin.example/atom.xml"]
    assert feed_links(page_of("html5_audiobook.html")) == []


# --- jsonld and meta ---------------------------------------------------------------------

def test_jsonld_graph_and_top_level_array():
    tracks = detect_tracks(page_of("jsonld_podcast_episode.html"), "jsonld")
    assert [(t.url, t.title, t.number, t.mime) for t in tracks] == [
        ("https://media.keeperslog.example/episodes/klog-118.mp3",
         "How Lighthouses Were Automated", 118, "audio/mpeg"),
        ("https://media.keeperslog.example/clips/foghorn-point-ardent.m4a",
         "Foghorn at Point Ardent (final day)", None, "audio/mp4"),
    ]


def test_podcast_page_merges_jsonld_meta_audio_and_link():
    tracks = detect_tracks(page_of("jsonld_podcast_episode.html"))
    assert [(t.url, t.title, t.number, t.family) for t in tracks] == [
        ("https://media.keeperslog.example/episodes/klog-118.mp3",
         "How Lighthouses Were Automated", 118, "jsonld"),
        ("https://media.keeperslog.example/clips/foghorn-point-ardent.m4a",
         "Foghorn at Point Ardent (final day)", None, "jsonld"),
    ]


def test_jsonld_episode_audio_forms_nested_in_a_series():
    tracks = detect_tracks(page_of("jsonld_series.html"))
    assert [(t.url, t.title, t.number) for t in tracks] == [
        ("https://cdn.smallengines.example/audio/se-003.mp3?utm_source=jsonld",
         "Carburettors, demystified", 3),
        ("https://cdn.smallengines.example/audio/se-002.mp3", "The two-stroke question", 2),
        ("https://cdn.smallengines.example/audio/se-001.ogg", "Pilot: why fix anything?", 1),
    ]


def test_meta_prefers_secure_url_and_reads_twitter_stream():
    tracks = detect_tracks(page_of("meta_og_audio.html"), "meta")
    assert [(t.url, t.title, t.mime) for t in tracks] == [
        ("https://stream.harbourline.example/preview/lanterns-30s.mp3", "Saltmarsh — Lanterns",
         "audio/mpeg"),
        ("https://stream.harbourline.example/tracks/88213/stream?format=aac&quality=high",
         "Saltmarsh — Lanterns", "audio/aac"),
    ]
    meta_only = detect_tracks(page_of("jsonld_podcast_episode.html"), "meta")
    assert [t.url for t in meta_only] == ["https://media.keeperslog.example/episodes/klog-118.mp3"]


# --- feeds -------------------------------------------------------------------------------

def test_rss_enclosures_with_titles_numbers_and_sizes():
    tracks = detect_tracks(page_of("feeds_podcast_rss.xml"))
    assert [(t.url, t.title, t.number, t.mime, t.size, t.family) for t in tracks] == [
        ("https://cdn.smallengines.example/audio/se-003.mp3?utm_source=rss&utm_medium=feed",
         "Carburettors, demystified & other tales", 3, "audio/mpeg", 39506123, "feeds"),
        ("https://cdn.smallengines.example/audio/se-002.m4a", "The two-stroke question", 2,
         "audio/mp4", None, "feeds"),
        ("https://cdn.smallengines.example/audio/se-001.ogg", "Pilot: why fix anything?", 1,
         "audio/ogg", 20114022, "feeds"),
    ]


def test_atom_enclosure_links():
    tracks = detect_tracks(page_of("feeds_atom.xml"), "feeds")
    assert [(t.url, t.title, t.mime, t.size) for t in tracks] == [
        ("https://fieldrec.example/media/2024-06-dawn-chorus.mp3", "Dawn chorus, Wyre Forest",
         "audio/mpeg", 57334112),
        ("https://fieldrec.example/media/2024-05-night-train.flac",
         "Night train, Inverness sleeper", "audio/flac", None),
    ]


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


# --- script players ----------------------------------------------------------------------

def test_jwplayer_playlist_audio_only():
    tracks = detect_tracks(page_of("scripts_jwplayer.html"), "scripts")
    assert [(t.url, t.title, t.mime) for t in tracks] == [
        ("https://media.riverton.example/council/2024-05-14-full-council.mp3",
         "Full council, 14 May 2024", "audio/mpeg"),
        ("https://riverton.example/media/council/2024-04-09-full-council.m4a",
         "Full council, 9 April 2024", "audio/aac"),
        ("https://live.riverton.example/council/audio.m3u8",
         "Live: full council (when in session)", HLS_MIME),
    ]


def test_jplayer_playlist_and_set_media():
    assert found("scripts_jplayer.html") == [
        ("https://audio.starkpalace.example/mp3/TSP-01-Cro_magnon_man.mp3", "Cro Magnon Man"),
        ("https://audio.starkpalace.example/mp3/TSP-05-Your_face.mp3", "Your Face"),
        ("https://audio.starkpalace.example/ogg/Miaow-02-Hidden.ogg", "Hidden"),
        ("https://audio.starkpalace.example/m4a/Miaow-07-Bubble.m4a", "Bubble"),
    ]


def test_aplayer_audio_list_and_added_songs():
    assert found("scripts_aplayer.html", "scripts") == [
        ("https://music.xiaolin.example/songs/haibian-de-feng.mp3", "海边的风"),
        ("https://xiaolin.example/music/slow-morning.m4a", "Slow Morning"),
        ("https://music.xiaolin.example/api/stream?id=4413", "电台 · 夜读"),
        ("https://xiaolin.example/music/rainy-tram.mp3", "Rainy Tram"),
    ]


def test_amplitude_songs_with_spaces_and_quotes_in_urls():
    song = "https://cdn.astronauts.example/song/"
    assert found("scripts_amplitude.html") == [
        (song + "Ancient%20Astronauts%20-%20Risin'%20High%20(feat%20Raashan%20Ahmad).mp3",
         "Risin' High (feat Raashan Ahmad)"),
        (song + "08%20The%20Gun.mp3", "The Gun"),
        (song + "LORN%20-%20ANVIL.mp3", "Anvil"),
    ]


def test_soundmanager_link_markup():
    tracks = detect_tracks(page_of("scripts_soundmanager.html"), "scripts")
    assert [(t.url, t.title) for t in tracks] == [
        ("https://junipervo.example/reels/60s-commercial.mp3", "60s commercial"),
        ("https://junipervo.example/reels/narration-documentary.mp3",
         "Narration - Documentary (wildlife)"),
        ("https://junipervo.example/reels/character-reel.ogg", "Characters - Animation reel New"),
        ("https://stream.junipervo.example/api/clip/93f1c2", "Audiobook - Sample chapter"),
        ("https://junipervo.example/reels/2019/radio-spot.mp3", "Radio spot (2019)"),
        ("https://junipervo.example/reels/2018/elearning.wav", "E-learning module (2018)"),
    ]
    assert [t.family for t in detect_tracks(page_of("scripts_soundmanager.html"))] == [
        "scripts"] * 6


# --- hls ---------------------------------------------------------------------------------

def test_hls_streams_on_an_audio_page():
    tracks = detect_tracks(page_of("hls_radio.html"))
    assert [(t.url, t.title, t.mime, t.family) for t in tracks] == [
        ("https://stream.harbourfm.example/jazz/playlist.m3u8", "Harbour Jazz", HLS_MIME, "hls"),
        ("https://stream.harbourfm.example/gold/playlist.m3u8", "Harbour Gold", HLS_MIME, "hls"),
        ("https://stream.harbourfm.example/main/playlist.m3u8", "", HLS_MIME, "hls"),
    ]


def test_hls_in_an_audio_element_and_not_in_a_video():
    page = parse_page('<video src="/v/master.m3u8"></video><audio controls>'
                      '<source src="/a/live.m3u8" type="application/x-mpegURL"></audio>',
                      "https://radio.example/")
    assert [(t.url, t.mime) for t in detect_tracks(page)] == [
        ("https://radio.example/a/live.m3u8", HLS_MIME)]


# --- URLs: base href, protocol-relative, entities, whitespace, bad schemes --------------

def test_base_href_and_url_forms():
    static = "https://static.readaloud.example/"
    assert [(t.url, t.title, t.family) for t in detect_tracks(page_of("mixed_base_href.html"))] \
        == [
        (static + "books/moby-dick/chapter-01.mp3", "Chapter 1. Loomings", "html5"),
        (static + "books/moby-dick/chapter-02.mp3", "Chapter 2. The Carpet-Bag", "links"),
        (static + "audio/moby-dick/chapter-03.mp3", "Chapter 3. The Spouter-Inn", "links"),
        ("https://cdn.readaloud.example/moby-dick/chapter-04.mp3", "Chapter 4. The Counterpane",
         "links"),
        ("https://signed.readaloud.example/moby-dick/chapter-05.mp3?Expires=1735689600"
         "&Signature=abc123&Key-Pair-Id=K2", "Chapter 5. Breakfast", "scripts"),
        ("https://media.readaloud.example/moby-dick/chapter-06.mp3", "Chapter 6. The Street",
         "html5"),
        ("https://cdn.readaloud.example/moby-dick/etymology.mp3",
         "Etymology (read by the narrator)", "scripts"),
    ]


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


# --- the mixed page: many families, one list in page order -------------------------------

def test_auto_merges_families_in_page_order():
    files = "https://files.lantern-audio.example/willows/"
    tracks = detect_tracks(page_of("mixed_audiobook.html"))
    assert [(t.url, t.title, t.number, t.family) for t in tracks] == [
        (files + "01-river-bank.mp3", "The River Bank", 1, "jsonld"),
        (files + "02-open-road.mp3", "The Open Road", 2, "jsonld"),
        (files + "03-wild-wood.mp3", "3. The Wild Wood (MP3, 21 MB)", None, "html5"),
        (files + "04-mr-badger.mp3", "4. Mr. Badger (MP3, 25 MB)", None, "links"),
        ("https://lantern-audio.example/samples/willows-sample.mp3", "", None, "html5"),
    ]
    assert all(t.mime == "audio/mpeg" for t in tracks)


def test_forced_plugin_gives_only_that_family():
    files = "https://files.lantern-audio.example/willows/"
    assert found("mixed_audiobook.html", "links") == [
        (files + "01-river-bank.mp3", "Download"),
        (files + "02-open-road.mp3", "Download"),
        (files + "03-wild-wood.mp3", "3. The Wild Wood (MP3, 21 MB)"),
        (files + "04-mr-badger.mp3", "4. Mr. Badger (MP3, 25 MB)"),
    ]
    assert found("mixed_audiobook.html", "hls") == []


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
