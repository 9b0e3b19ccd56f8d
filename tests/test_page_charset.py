"""A page's encoding as browsers determine it (BOM, HTTP charset, <meta> prescan, then the
bytes), and the URLs in it requested as a browser requests them."""

from __future__ import annotations

import asyncio
import codecs
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import audiofetch_app.sources  # noqa: F401 - registers the sources
from audiofetch_app.core import net
from audiofetch_app.core.job_record import JobState
from audiofetch_app.sources.page import finder
from audiofetch_app.sources.page.charset import (
    Sniffed,
    charset_from_content,
    decode,
    decode_html,
    encode_query,
    lookup,
    prescan,
    sniff_encoding,
    xml_encoding,
)
from audiofetch_app.sources.page.document import parse_page
from audiofetch_app.sources.page.source import KIND
from audiofetch_app.sources.runtime import open_runtime
from tests.fakes.hostile_pages import latin1_page
from tests.media import make_tone

TRACK_HREF = "/audio/Été.mp3?t=é"
LINK = '<a href="/a.mp3">a</a>'


@pytest.fixture(scope="module")
def mp3(tmp_path_factory) -> bytes:
    return make_tone(tmp_path_factory.mktemp("m") / "t.mp3", seconds=1).read_bytes()


@pytest.fixture
async def runtime(af_home: Path):
    rt = await open_runtime(console_log=False)
    yield rt
    await rt.close()


async def find(url: str) -> finder.FoundPage:
    async with net.make_client() as client:
        return await finder.find_tracks(client, url)


# --- end to end on loopback ----------------------------------------------------------------

async def test_a_latin1_page_declared_in_its_markup_only(runtime, http_server,
                                                         mp3: bytes) -> None:
    page = latin1_page(TRACK_HREF)
    assert b"Caf\xe9 \xc9t\xe9" in page  # the title as the page's bytes have it
    http_server.add("/chansons", page, content_type="text/html")  # no charset in the header
    # The fake server matches routes on the percent-decoded (UTF-8) path, as web servers do:
    # only a path sent as a browser sends it (/audio/%C3%89t%C3%A9.mp3) finds the file.
    http_server.add("/audio/Été.mp3", mp3, content_type="audio/mpeg")
    job = await runtime.jobs.submit(KIND, http_server.url_for("/chansons"), {})
    job = await asyncio.wait_for(runtime.jobs.wait(job.id), 60)
    assert job.state == JobState.DONE, job.error
    assert Path(job.output_path).name == "Café Été.zip"
    assert [t["title"] for t in job.detail["tracks"]] == ["Chanson d'été"]
    with zipfile.ZipFile(job.output_path) as archive:
        assert archive.namelist() == ["01 - Chanson d'été.mp3"]
    asked = http_server.requests_to("/audio/Été.mp3")
    # The query goes in the page's encoding (é is %E9 in windows-1252), as browsers send it.
    assert asked and {r.query_string for r in asked} == {"t=%E9"}


@pytest.mark.parametrize("body, content_type, title", [
    # <meta http-equiv="Content-Type" content="...; charset=...">
    (latin1_page(TRACK_HREF, meta='<META HTTP-EQUIV="Content-Type" '
                                  'CONTENT="text/html; charset=ISO-8859-1">'),
     "text/html", "Café Été"),
    # The HTTP charset wins over the markup.
    ("<meta charset='utf-8'><title>Café Été</title>".encode("cp1252"),
     "text/html; charset=windows-1252", "Café Été"),
    # A BOM wins over both.
    (codecs.BOM_UTF8 + "<meta charset=iso-8859-1><title>Café Été</title>".encode(),
     "text/html; charset=iso-8859-1", "Café Été"),
    (codecs.BOM_UTF16_LE + f"<title>Café Été</title>{LINK}".encode("utf-16-le"),
     "text/html", "Café Été"),
    # Nothing declared: valid UTF-8 is UTF-8, anything else windows-1252.
    ("<title>Café Été</title>".encode(), "text/html", "Café Été"),
    ("<title>Café Été – “quoted”</title>".encode("cp1252"), "text/html",
     "Café Été – “quoted”"),
    # A <meta> after 1024 bytes of head still counts, as in browsers.
    (b"<head><script>" + b"var x = 1;\n" * 200 + b"</script><meta charset=koi8-r>"
     + "<title>Кафе</title>".encode("koi8-r"), "text/html", "Кафе"),
])
async def test_the_encoding_comes_from_where_a_browser_finds_it(
        http_server, body: bytes, content_type: str, title: str) -> None:
    if not body.startswith(codecs.BOM_UTF16_LE):
        body += LINK.encode("ascii")
    http_server.add("/p", body, content_type=content_type)
    found = await find(http_server.url_for("/p"))
    assert found.title == title
    assert http_server.url_for("/a.mp3") in [t.url for t in found.tracks]


# --- sniffing ------------------------------------------------------------------------------

@pytest.mark.parametrize("data, http, expected", [
    (b'<meta charset="iso-8859-1">', None, Sniffed("windows-1252", "meta")),
    (b"<meta charset=latin1>", None, Sniffed("windows-1252", "meta")),
    (b"<meta charset=' Shift_JIS '>", None, Sniffed("shift_jis", "meta")),
    (b'<meta http-equiv="content-type" content="text/html; charset=koi8-r">', None,
     Sniffed("koi8-r", "meta")),
    (b'<meta content="text/html; charset=koi8-r">', None, Sniffed("windows-1252", "default")),
    (b"<meta charset=utf-16>", None, Sniffed("utf-8", "meta")),
    (b"<meta charset=x-user-defined>", None, Sniffed("windows-1252", "meta")),
    (b"<meta charset=no-such-thing><meta charset=gbk>", None, Sniffed("gbk", "meta")),
    (b"<!-- <meta charset=big5> --><meta charset=euc-kr>", None, Sniffed("euc-kr", "meta")),
    (b"<!--><meta charset=big5>", None, Sniffed("big5", "meta")),
    (b'<div title="<meta charset=big5>"><meta charset=euc-jp>', None,
     Sniffed("euc-jp", "meta")),
    (b'<?xml version="1.0" encoding="ISO-8859-2"?><rss>', None, Sniffed("iso-8859-2", "xml")),
    (b'<?xml version="1.0" encoding="utf-16"?>', None, Sniffed("utf-8", "xml")),
    (b"<\x00?\x00x\x00m\x00l\x00", None, Sniffed("utf-16le", "xml")),
    (b"<meta charset=big5>", "ISO-8859-1", Sniffed("windows-1252", "http")),
    (b"<meta charset=big5>", "Latin-1", Sniffed("big5", "meta")),  # not a WHATWG label
    (b"<meta charset=big5>", "no-such", Sniffed("big5", "meta")),
    (codecs.BOM_UTF8 + b"<meta charset=big5>", "latin1", Sniffed("utf-8", "bom", 3)),
    (codecs.BOM_UTF16_BE + b"\x00<", None, Sniffed("utf-16be", "bom", 2)),
    (b"caf\xc3\xa9", None, Sniffed("utf-8", "utf-8")),
    (b"caf\xc3\xa9 cut \xe2\x82", None, Sniffed("utf-8", "utf-8")),  # read only in part
    (b"caf\xe9", None, Sniffed("windows-1252", "default")),
    (b"plain", None, Sniffed("windows-1252", "default")),
    (b"<meta charset", None, Sniffed("windows-1252", "default")),
])
def test_sniffing(data: bytes, http: str | None, expected: Sniffed) -> None:
    assert sniff_encoding(data, http) == expected


def test_labels_follow_the_encoding_standard() -> None:
    assert [lookup(label) for label in ("ISO-8859-1", " latin1\t", "ascii", "utf8",
                                        "x-sjis", "tis-620", "nonsense", "", None)] == [
        "windows-1252", "windows-1252", "windows-1252", "utf-8", "shift_jis",
        "windows-874", None, None, None]


def test_decoders_follow_the_encoding_standard() -> None:
    # windows-1252: 0x80 is the euro sign; the bytes cp1252 leaves out are C1 controls.
    assert decode(b"\x80\x81\x9d\xe9", "windows-1252") == "€\x81\x9dé"
    assert decode(b"<p>anything", "replacement") == "\ufffd"
    assert decode("中文".encode("gb18030"), "gbk") == "中文"
    assert decode_html(b"\xef\xbb\xbfcaf\xc3\xa9") == ("café", "utf-8")


@pytest.mark.parametrize("content, label", [
    ("text/html; charset=ISO-8859-1", "ISO-8859-1"),
    ("text/html;charset = 'utf-8' ", "utf-8"),
    ('charset="koi8-r', None),
    ("charsetcharset=big5", "big5"),
    ("charset", None),
    ("charset=", None),
    ("text/html", None),
])
def test_charset_from_meta_content(content: str, label: str | None) -> None:
    assert charset_from_content(content) == label


def test_xml_declaration_needs_a_quoted_label_in_the_declaration() -> None:
    assert xml_encoding(b"<?xml encoding='koi8-r'?>") == "koi8-r"
    assert xml_encoding(b"<?xml encoding=koi8-r?>") is None
    assert xml_encoding(b"<?xml version='1.0'?><p>encoding='koi8-r'") is None
    assert xml_encoding(b" <?xml encoding='koi8-r'?>") is None


# --- URLs ----------------------------------------------------------------------------------

def test_queries_are_encoded_in_the_page_encoding() -> None:
    assert encode_query("/Été.mp3?t=é&x=€#é", "windows-1252") == "/Été.mp3?t=%E9&x=%80#é"
    assert encode_query("/a?t=中", "windows-1252") == "/a?t=%26%2320013%3B"
    assert encode_query("/a?t=é", "utf-8") == "/a?t=é"
    assert encode_query("/a?t=é", "utf-16le") == "/a?t=é"  # UTF-16 pages use UTF-8 in URLs
    assert encode_query("/Été.mp3", "koi8-r") == "/Été.mp3"


def test_page_urls_resolve_as_a_browser_resolves_them() -> None:
    html = ('<meta charset="windows-1251"><base href="/книги/?a=б">'
            '<a href="Глава 1.mp3?ч=я">Глава</a>').encode("cp1251")
    page = parse_page(html, "https://ex.ru/")
    assert page.encoding == "windows-1251"
    assert page.base_url == "https://ex.ru/%D0%BA%D0%BD%D0%B8%D0%B3%D0%B8/?a=%E1"
    assert page.resolve("Глава 1.mp3?ч=я") == (
        "https://ex.ru/%D0%BA%D0%BD%D0%B8%D0%B3%D0%B8/"
        "%D0%93%D0%BB%D0%B0%D0%B2%D0%B0%201.mp3?%F7=%FF")


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.one_of(st.binary(max_size=300), st.lists(st.sampled_from(
    [b"<meta", b" charset=", b"http-equiv=content-type", b" content='", b"charset=",
     b"latin1", b"utf-16", b"<!--", b"-->", b"<?xml", b" encoding=", b'"', b"'", b">",
     b"<", b"/", b" ", b"\xe9", b"\xc3\xa9", b"<a", b"=", b"koi8-r"]), max_size=30).map(
    b"".join)), http=st.sampled_from([None, "", "latin1", "bogus", "utf-16"]))
def test_sniffing_never_raises(data: bytes, http: str | None) -> None:
    sniffed = sniff_encoding(data, http)
    assert lookup(sniffed.encoding) == sniffed.encoding
    assert prescan(data) is None or lookup(prescan(data)[0])
    text, _ = decode_html(data, http)
    assert isinstance(text, str)
