"""What kind of audio file a file is, from its first bytes (each format's own signature).

Used when a file arrives with neither a name nor a MIME type that says what it is. Each
check follows the format's specification, named beside it; 4 KiB of the file's start is
enough for all of them (an ID3 tag longer than what was read counts as MP3, as it nearly
always is).
"""

from __future__ import annotations

HEADER_BYTES = 4096  # how much of a file's start `extension_from_header` wants

# ASF Header Object GUID 75B22630-668E-11CF-A6D9-00AA0062CE6C, as stored (ASF spec 1.2 §3.1,
# §10.1: the first three fields little-endian).
_ASF_HEADER = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")

# Signatures at offset 0 -> extension, longest first where one starts another.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"fLaC", "flac"),  # RFC 9639: the stream marker
    (b"#!AMR-WB_MC1.0\n", "awb"),  # RFC 4867 §5 (multi-channel AMR-WB)
    (b"#!AMR-WB\n", "awb"),  # RFC 4867 §5
    (b"#!AMR_MC1.0\n", "amr"),  # RFC 4867 §5 (multi-channel AMR)
    (b"#!AMR\n", "amr"),  # RFC 4867 §5
    (b"caff\x00\x01", "caf"),  # Apple Core Audio Format Specification 1.0: 'caff', version 1
    (b".snd", "au"),  # Sun/NeXT audio (audio/basic): magic 0x2e736e64
    (b"MThd\x00\x00\x00\x06", "mid"),  # Standard MIDI Files 1.0: header chunk of length 6
    (b".ra\xfd", "ra"),  # RealAudio 1.0-5.0
    (b".RMF", "rm"),  # RealMedia File Format
    (b"MAC ", "ape"),  # Monkey's Audio
    (b"wvpk", "wv"),  # WavPack 4 block header
    (b"MPCK", "mpc"),  # Musepack SV8
    (b"MP+", "mpc"),  # Musepack SV7
    (b"TTA1", "tta"),  # True Audio 1
    (b"DSD ", "dsf"),  # Sony DSF File Format Specification 1.01: 'DSD ' chunk
    (b"FRM8", "dff"),  # Philips DSDIFF 1.5: 'FRM8' container
    (b"ADIF", "aac"),  # ISO/IEC 14496-3 §1.A.2.1: adif_id
    (b"Creative Voice File\x1a", "voc"),  # Creative Labs VOC
    (_ASF_HEADER, "wma"),  # ASF (Windows Media Audio)
)

# The first packet of an Ogg stream names its codec (each codec's Ogg mapping).
_OGG_CODECS: tuple[tuple[bytes, str], ...] = (
    (b"OpusHead", "opus"),  # RFC 7845 §5.1, file extension .opus (§9)
    (b"\x01vorbis", "ogg"),  # Vorbis I specification §4.2.1; RFC 5334 §10: .ogg
    (b"\x7fFLAC", "oga"),  # FLAC-in-Ogg mapping; RFC 5334 §10: .oga for other audio
    (b"Speex   ", "spx"),  # Speex manual, Ogg mapping; RFC 5334 §10: .spx
    (b"\x80theora", "ogv"),  # Theora specification; RFC 5334 §10: .ogv
)

# ISO base media file (ISO/IEC 14496-12 §4.3 'ftyp') brands that name the file's kind.
_BRANDS = {b"M4A ": "m4a", b"M4B ": "m4b", b"M4P ": "m4p", b"qt  ": "mov"}


def extension_from_header(head: bytes) -> str | None:
    """The file extension (no dot, lower case) for a file starting with `head`, or None.

    `head` is the file's first bytes: `HEADER_BYTES` (4096) are enough, fewer still work for
    most formats, more (up to 64 KiB are read) let it see past a long ID3 tag.
    Recognised: MP3/MP2/MP1 (ID3v2 tag or MPEG audio frame), AAC (ADTS, ADIF),
    Ogg (opus/ogg/oga/spx by the first packet), FLAC, WAV (RIFF/RF64/BW64 WAVE), AIFF/AIFC,
    AMR/AMR-WB, MP4 family (m4a, m4b, 3gp, 3g2, mp4 by brand), WebM/Matroska (by DocType:
    webm, mka), CAF, AU, MIDI, RealAudio, APE, WavPack, Musepack, TTA, DSF, DSDIFF, VOC,
    WMA (ASF), AC-3/E-AC-3 and DTS. Never raises.
    """
    return _sniff(bytes(head[:65536]), depth=0)


def _sniff(head: bytes, depth: int) -> str | None:
    for magic, ext in _MAGIC:
        if head.startswith(magic):
            return ext
    if head[:4] in (b"RIFF", b"RF64", b"BW64") and len(head) >= 12:
        # Microsoft RIFF; EBU Tech 3306 (RF64); ITU-R BS.2088 (BW64)
        return {b"WAVE": "wav", b"QLCM": "qcp"}.get(head[8:12])  # QCP: RFC 3625
    if head[:4] == b"FORM" and len(head) >= 12:  # EA IFF 85; Apple AIFF 1.3 and AIFF-C
        return {b"AIFF": "aiff", b"AIFC": "aifc"}.get(head[8:12])
    if head[:4] == b"OggS":
        return _ogg(head)
    if head[4:8] == b"ftyp":
        return _iso_media(head)
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return _ebml(head)
    if head[:3] == b"ID3":
        return _after_id3(head, depth)
    return _frame_sync(head)


def _ogg(head: bytes) -> str | None:
    """RFC 3533 §6: a 27-byte page header, then `page_segments` lacing values, then data."""
    if len(head) < 27 or head[4] != 0:
        return None
    data = 27 + head[26]
    packet = head[data:data + 8]
    for magic, ext in _OGG_CODECS:
        if packet.startswith(magic):
            return ext
    return "ogg"


def _iso_media(head: bytes) -> str:
    """ISO/IEC 14496-12 §4.3: major brand, minor version, then compatible brands."""
    size = int.from_bytes(head[:4], "big")
    brands = [head[8:12]] + [head[i:i + 4] for i in range(16, min(size, len(head)) - 3, 4)]
    for brand in brands:
        if brand in _BRANDS:
            return _BRANDS[brand]
    major = brands[0]
    if major.startswith(b"3gp"):  # 3GPP TS 26.244 brands
        return "3gp"
    if major.startswith(b"3g2"):  # 3GPP2 C.S0050 brands
        return "3g2"
    return "mp4"


def _vint(data: bytes, pos: int, keep_marker: bool) -> tuple[int, int] | None:
    """An EBML variable-size integer at `pos` (RFC 8794 §4): (value, next position)."""
    if pos >= len(data) or data[pos] == 0:
        return None
    first = data[pos]
    length = 8 - first.bit_length() + 1
    if pos + length > len(data):
        return None
    value = first if keep_marker else first & (0xFF >> length)
    for byte in data[pos + 1:pos + length]:
        value = value << 8 | byte
    return value, pos + length


def _ebml(head: bytes) -> str | None:
    """RFC 8794 §11.2: the EBML header's DocType (0x4282): "webm" or "matroska" (RFC 9559)."""
    size = _vint(head, 4, keep_marker=False)
    if size is None:
        return None
    pos, end = size[1], min(len(head), size[1] + size[0])
    while pos < end:
        element, size = _vint(head, pos, keep_marker=True), None
        if element is not None:
            size = _vint(head, element[1], keep_marker=False)
        if element is None or size is None:
            return None
        start, stop = size[1], size[1] + size[0]
        if element[0] == 0x4282:
            doc_type = head[start:stop].rstrip(b"\x00")
            return {b"webm": "webm", b"matroska": "mka"}.get(doc_type)
        pos = stop
    return None


def _after_id3(head: bytes, depth: int) -> str:
    """ID3v2.4 §3.1: a 10-byte header whose size is four 7-bit bytes; a footer adds 10.
    What follows the tag says the format (FLAC and AAC files carry ID3 tags too)."""
    if len(head) < 10 or any(b & 0x80 for b in head[6:10]) or depth > 2:
        return "mp3"
    size = (head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9]
    end = 10 + size + (10 if head[5] & 0x10 else 0)
    rest = head[end:]
    return (_sniff(rest, depth + 1) if len(rest) >= 4 else None) or "mp3"


def _frame_sync(head: bytes) -> str | None:
    """A stream of frames with no file header: MPEG audio, ADTS, AC-3, DTS."""
    if len(head) < 4:
        return None
    b0, b1, b2 = head[0], head[1], head[2]
    if b0 == 0xFF and (b1 & 0xF6) == 0xF0 and (b2 >> 2) & 0x0F < 13:
        # ADTS, ISO/IEC 14496-3 §1.A.2.2: syncword 0xFFF, layer '00', a defined sampling rate
        return "aac"
    if b0 == 0xFF and (b1 & 0xE0) == 0xE0:
        # MPEG audio frame header, ISO/IEC 11172-3 §2.4.2.3 (and 13818-3 for MPEG-2/2.5):
        # version '01', layer '00', bitrate '1111' and sampling rate '11' are reserved.
        version, layer = (b1 >> 3) & 3, (b1 >> 1) & 3
        if version != 1 and layer != 0 and b2 >> 4 != 0x0F and (b2 >> 2) & 3 != 3:
            return {1: "mp3", 2: "mp2", 3: "mp1"}[layer]
        return None
    if head[:2] == b"\x0b\x77" and len(head) >= 6:
        # ATSC A/52 §5.4.1: syncword 0x0B77; bsid up to 8 is AC-3, 11-16 E-AC-3 (Annex E)
        bsid = head[5] >> 3
        return "ac3" if bsid <= 8 else "eac3" if 11 <= bsid <= 16 else None
    if head[:4] == b"\x7f\xfe\x80\x01":  # ETSI TS 102 114: DTS core sync word
        return "dts"
    return None
