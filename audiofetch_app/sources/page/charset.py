"""A page's character encoding as a browser determines it, and URLs encoded to match.

The order is the HTML Standard's "determining the character encoding" (13.2.3.2): a byte
order mark; else the HTTP `charset`; else what the prescan of the first 1024 bytes finds (a
`<meta charset>`, a `<meta http-equiv="content-type" content="...; charset=...">` or an XML
declaration); else, as browsers do on "changing the encoding while parsing" (13.2.3.4), a
`<meta>` further down the head; else the bytes themselves (valid UTF-8 is read as UTF-8, the
optional "autodetect" step); else windows-1252. Labels go through the Encoding Standard's
table (the `webencodings` package), so `iso-8859-1`, `latin1` and `ascii` all mean
windows-1252, as they do in every browser.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

import webencodings

PRESCAN_BYTES = 1024            # the HTML Standard advises prescanning this much
LATE_META_BYTES = 64 * 1024     # how far a later <meta> may still change the encoding
DEFAULT_ENCODING = "windows-1252"

_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_BE, "utf-16be"),
         (codecs.BOM_UTF16_LE, "utf-16le"))
_SPACE = b"\t\n\x0c\r "
_SPACE_OR_SLASH = b"\t\n\x0c\r /"
_ASCII_LETTERS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
# Python's decoders that are closer to the Encoding Standard's than webencodings' choice.
_PYTHON_DECODER = {"gbk": "gb18030"}
# windows-1252 as the Encoding Standard defines it: cp1252, but the five bytes cp1252
# leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) are the C1 controls of the same value.
_WINDOWS_1252 = {byte: char for byte in range(0x80, 0xA0)
                 if (char := bytes([byte]).decode("cp1252", "ignore"))}
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_LOWER = {code: code + 32 for code in range(0x41, 0x5B)}  # ASCII A-Z to a-z, nothing else


@dataclass(frozen=True)
class Sniffed:
    """The encoding a page's bytes are read in, why, and how many BOM bytes to skip."""

    encoding: str        # the Encoding Standard's name, e.g. "windows-1252", "utf-8"
    source: str          # "bom", "http", "meta", "xml", "late-meta", "utf-8" or "default"
    bom_length: int = 0


class _End(Exception):
    """The prescan ran out of bytes."""


def lookup(label: str | None) -> str | None:
    """The Encoding Standard's name for an encoding label ("Latin1" -> "windows-1252"), or
    None when the label names no encoding."""
    if not label:
        return None
    found = webencodings.lookup(label)
    return found.name if found is not None else None


def sniff_encoding(data: bytes, http_charset: str | None = None) -> Sniffed:
    """How a browser picks the encoding of the HTML bytes `data` (see the module docstring).

    `http_charset` is the `charset` parameter of the response's Content-Type, if any."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return Sniffed(name, "bom", len(bom))
    declared = lookup(http_charset)
    if declared:
        return Sniffed(declared, "http")
    found = prescan(data[:PRESCAN_BYTES])
    if found:
        return Sniffed(found[0], found[1])
    if len(data) > PRESCAN_BYTES:
        late = prescan(data[:LATE_META_BYTES], xml=False)
        if late:
            return Sniffed(late[0], "late-meta")
    if _is_utf8(data):
        return Sniffed("utf-8", "utf-8")
    return Sniffed(DEFAULT_ENCODING, "default")


def decode(data: bytes, encoding: str) -> str:
    """`data` decoded with the Encoding Standard's decoder for `encoding`, malformed bytes
    replaced by U+FFFD (a leading BOM of that encoding is not part of the text)."""
    if encoding == "replacement":  # labels such as iso-2022-kr: browsers show nothing
        return "\ufffd" if data else ""
    if encoding == "windows-1252":
        return data.decode("latin-1").translate(_WINDOWS_1252)
    codec = _PYTHON_DECODER.get(encoding)
    if codec is None:
        found = webencodings.lookup(encoding)
        info = found.codec_info if found is not None else codecs.lookup("utf-8")
    else:
        info = codecs.lookup(codec)
    text, _ = info.decode(data, "replace")
    return text


def decode_html(data: bytes, http_charset: str | None = None) -> tuple[str, str]:
    """(text, encoding) of HTML bytes, the encoding sniffed as a browser would."""
    sniffed = sniff_encoding(data, http_charset)
    return decode(data[sniffed.bom_length:], sniffed.encoding), sniffed.encoding


def url_encoding(encoding: str) -> str:
    """The encoding a document's URLs encode their query in (the Encoding Standard's "get an
    output encoding": UTF-16 and replacement documents use UTF-8)."""
    return "utf-8" if encoding in ("utf-16be", "utf-16le", "replacement") else encoding


def encode_query(url: str, encoding: str) -> str:
    """`url` as written in a page, with non-ASCII characters of its query percent-encoded in
    the document's `encoding`, as the URL Standard does for http(s) URLs; a character the
    encoding lacks becomes `%26%23NNN%3B` (its `&#NNN;`). The rest is left as written."""
    encoding = url_encoding(encoding)
    if encoding == "utf-8" or url.isascii():
        return url
    head, mark, rest = url.partition("?")
    if not mark:
        return url
    query, hash_mark, fragment = rest.partition("#")
    info = _encoder(encoding)

    def one(match: re.Match[str]) -> str:
        char = match.group(0)
        try:
            raw = info.encode(char, "strict")[0]
        except UnicodeError:
            return f"%26%23{ord(char)}%3B"
        return "".join(f"%{byte:02X}" for byte in raw)

    return f"{head}?{_NON_ASCII.sub(one, query)}{hash_mark}{fragment}"


def _encoder(encoding: str) -> codecs.CodecInfo:
    codec = _PYTHON_DECODER.get(encoding)
    if codec is not None:
        return codecs.lookup(codec)
    found = webencodings.lookup(encoding)
    return found.codec_info if found is not None else codecs.lookup("utf-8")


def _is_utf8(data: bytes) -> bool:
    """Whether `data` is UTF-8 with at least one non-ASCII character; a cut last character
    (a page read only in part) still counts when a whole one came before it."""
    if data.isascii():
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        cut_at_end = exc.reason == "unexpected end of data" and exc.end == len(data)
        return cut_at_end and exc.start >= len(data) - 3 and not data[:exc.start].isascii()
    return True


# --- the prescan (HTML Standard 13.2.3.2, "prescan a byte stream to determine its encoding")

def prescan(data: bytes, *, xml: bool = True) -> tuple[str, str] | None:
    """(encoding, "meta" or "xml") that a `<meta>` or an XML declaration in `data` declares,
    as the HTML Standard's prescan finds it; None when it finds none. `xml=False` skips
    the XML declaration (its place is the start of the document only)."""
    if xml and data.startswith(b"<\x00?\x00x\x00"):
        return "utf-16le", "xml"
    if xml and data.startswith(b"\x00<\x00?\x00x"):
        return "utf-16be", "xml"
    try:
        found = _scan(data)
    except _End:
        found = None
    if found:
        return found, "meta"
    declared = xml_encoding(data) if xml else None
    return (declared, "xml") if declared else None


def _scan(b: bytes) -> str | None:
    pos, end = b.find(b"<"), len(b)
    while 0 <= pos < end:
        if b.startswith(b"<!--", pos):
            close = b.find(b"-->", pos + 2)  # "<!-->" is a whole comment
            if close < 0:
                raise _End
            pos = close + 2
        elif (b[pos:pos + 5].lower() == b"<meta" and pos + 5 < end
              and b[pos + 5] in _SPACE_OR_SLASH):
            found, pos = _meta(b, pos + 5)
            if found:
                return found
        elif b[pos] == 0x3C and pos + 1 < end and (
                b[pos + 1] in _ASCII_LETTERS
                or (b[pos + 1] == 0x2F and pos + 2 < end and b[pos + 2] in _ASCII_LETTERS)):
            pos += 1
            while pos < end and b[pos] not in b"\t\n\x0c\r >":
                pos += 1
            while True:
                attribute, pos = _attribute(b, pos)
                if attribute is None:
                    break
        elif b.startswith((b"<!", b"</", b"<?"), pos):
            pos = b.find(b">", pos + 1)
            if pos < 0:
                raise _End
        # "Next byte": nothing but a "<" can start what the steps above look for.
        pos = b.find(b"<", pos + 1)
        if pos < 0:
            raise _End
    raise _End


def _meta(b: bytes, pos: int) -> tuple[str | None, int]:
    """The attributes of one `<meta`, starting after its name; (encoding or None, position)."""
    seen: set[str] = set()
    got_pragma, need_pragma, charset = False, None, None
    while True:
        attribute, pos = _attribute(b, pos)
        if attribute is None:
            break
        name, value = attribute
        if name in seen:
            continue
        seen.add(name)
        if name == "http-equiv":
            got_pragma = got_pragma or value == "content-type"
        elif name == "content" and charset is None:
            encoding = lookup(charset_from_content(value))
            if encoding is not None:
                charset, need_pragma = encoding, True
        elif name == "charset":
            charset, need_pragma = lookup(value) or "", False
    if need_pragma is None or (need_pragma and not got_pragma) or not charset:
        return None, pos
    if charset in ("utf-16be", "utf-16le"):
        charset = "utf-8"
    elif charset == "x-user-defined":
        charset = "windows-1252"
    return charset, pos


def _attribute(b: bytes, pos: int) -> tuple[tuple[str, str] | None, int]:
    """HTML Standard "get an attribute": ((name, value) or None at a `>`, position)."""
    end = len(b)

    def at(i: int) -> int:
        if i >= end:
            raise _End
        return b[i]

    while at(pos) in _SPACE_OR_SLASH:
        pos += 1
    if at(pos) == 0x3E:
        return None, pos
    name = bytearray()
    while True:
        byte = at(pos)
        if byte == 0x3D and name:
            pos += 1
            break
        if byte in _SPACE:
            while at(pos) in _SPACE:
                pos += 1
            if at(pos) != 0x3D:
                return (_text(name), ""), pos
            pos += 1
            break
        if byte in b"/>":
            return (_text(name), ""), pos
        name.append(byte)
        pos += 1
    while at(pos) in _SPACE:
        pos += 1
    value = bytearray()
    quote = at(pos)
    if quote in b"\"'":
        pos += 1
        while at(pos) != quote:
            value.append(b[pos])
            pos += 1
        return (_text(name), _text(value)), pos + 1
    if quote == 0x3E:
        return (_text(name), ""), pos
    while at(pos) not in b"\t\n\x0c\r >":
        value.append(b[pos])
        pos += 1
    return (_text(name), _text(value)), pos


def _text(raw: bytearray) -> str:
    """Bytes as the prescan reads them: isomorphic decoding, ASCII letters lower-cased."""
    return raw.decode("latin-1").translate(_LOWER)



def charset_from_content(content: str) -> str | None:
    """The label in a `<meta content>` such as `text/html; charset=iso-8859-1` (HTML
    Standard, "extracting a character encoding from a meta element"), or None."""
    position = 0
    lower = content.translate(_LOWER)
    while True:
        found = lower.find("charset", position)
        if found < 0:
            return None
        position = found + 7
        while position < len(content) and content[position] in "\t\n\x0c\r ":
            position += 1
        if position < len(content) and content[position] == "=":
            break
    position += 1
    while position < len(content) and content[position] in "\t\n\x0c\r ":
        position += 1
    if position >= len(content):
        return None
    first = content[position]
    if first in "\"'":
        close = content.find(first, position + 1)
        return content[position + 1:close] if close >= 0 else None
    stop = position
    while stop < len(content) and content[stop] not in "\t\n\x0c\r ;":
        stop += 1
    return content[position:stop]


def xml_encoding(data: bytes) -> str | None:
    """The encoding an XML declaration at the start of `data` names (HTML Standard, "get an
    XML encoding"), or None."""
    if not data.startswith(b"<?xml"):
        return None
    declaration_end = data.find(b">")
    if declaration_end < 0:
        return None
    position = data.find(b"encoding", 5, declaration_end)
    if position < 0:
        return None
    position += 8
    while position < declaration_end and data[position] <= 0x20:
        position += 1
    if position >= declaration_end or data[position] != 0x3D:
        return None
    position += 1
    while position < declaration_end and data[position] <= 0x20:
        position += 1
    quote = data[position] if position < declaration_end else None
    if quote not in (0x22, 0x27):
        return None
    close = data.find(bytes([quote]), position + 1, declaration_end)
    if close < 0:
        return None
    label = data[position + 1:close]
    if any(byte <= 0x20 for byte in label):
        return None
    encoding = lookup(label.decode("latin-1"))
    return "utf-8" if encoding in ("utf-16be", "utf-16le") else encoding
