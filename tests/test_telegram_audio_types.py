"""Audio sent as a file without a name: its extension from its MIME type (registries' tables),
else from its first bytes (each format's signature), never `.bin`.

Expected extensions come from the registries: freedesktop.org shared-mime-info (each type's
glob, aliases), the IANA media types registry and its RFCs, and the names Windows, macOS and
apps send. Headers are those of real files FFmpeg writes, and hand-built ones from each
format's specification where FFmpeg writes none.
"""

from __future__ import annotations

import functools
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import imageio_ffmpeg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from audiofetch_app.core.audio_mime import extension_for_mime, normalise_mime
from audiofetch_app.core.job_record import JobState
from audiofetch_app.sources.telegram import media
from tests.telegram_app import TelegramApp
from tests.telegram_messages import audio_file

MIME_CASES = [
    # (MIME type as sent, extension, where the pair is written down)
    ("audio/mpeg", "mp3", "IANA (RFC 3003); shared-mime-info *.mp3"),
    ("audio/x-mpeg", "mp3", "shared-mime-info: alias of audio/mpeg"),
    ("audio/mpeg3", "mp3", "Windows' legacy name"),
    ("audio/x-mpeg-3", "mp3", "Windows' legacy name"),
    ("audio/x-mp3", "mp3", "shared-mime-info: alias of audio/mpeg"),
    ("audio/mp3", "mp3", "shared-mime-info: alias of audio/mpeg"),
    ("audio/x-mpg", "mp3", "shared-mime-info: alias of audio/mpeg"),
    ("audio/mpg", "mp3", "apps' name"),
    ("audio/mpa", "mp3", "IANA audio/MPA (RFC 3555)"),
    ("audio/mp2", "mp2", "shared-mime-info *.mp2"),
    ("audio/x-opus+ogg", "opus", "shared-mime-info *.opus"),
    ("audio/opus", "opus", "IANA (RFC 7587); RFC 7845 §9: .opus"),
    ("audio/amr", "amr", "IANA (RFC 4867); shared-mime-info audio/AMR *.amr"),
    ("audio/amr-wb", "awb", "IANA (RFC 4867); shared-mime-info audio/AMR-WB *.awb"),
    ("audio/x-vorbis+ogg", "ogg", "shared-mime-info *.ogg; RFC 5334 §10: .ogg for Vorbis"),
    ("audio/vorbis", "ogg", "IANA (RFC 5215); shared-mime-info alias of audio/x-vorbis+ogg"),
    ("audio/ogg", "ogg", "IANA (RFC 5334)"),
    ("audio/x-flac+ogg", "oga", "shared-mime-info *.oga"),
    ("audio/x-speex", "spx", "shared-mime-info *.spx"),
    ("audio/webm", "webm", "WebM project; shared-mime-info: sub-class of video/webm *.webm"),
    ("audio/x-matroska", "mka", "shared-mime-info *.mka"),
    ("audio/3gpp", "3gp", "IANA (RFC 3839); shared-mime-info alias of video/3gpp *.3gp"),
    ("audio/3gpp2", "3g2", "IANA (RFC 4393)"),
    ("audio/x-caf", "caf", "Apple Core Audio Format"),
    ("audio/vnd.dlna.adts", "aac", "Windows' registry, .aac"),
    ("audio/x-hx-aac-adts", "aac", "macOS' type table, .aac"),
    ("audio/aacp", "aac", "AAC+ streams"),
    ("audio/x-aac", "aac", "shared-mime-info: alias of audio/aac"),
    ("audio/aac", "aac", "IANA; shared-mime-info *.aac"),
    ("audio/mp4", "m4a", "IANA (RFC 4337); shared-mime-info *.m4a"),
    ("audio/x-m4a", "m4a", "shared-mime-info: alias of audio/mp4"),
    ("audio/x-m4b", "m4b", "shared-mime-info *.m4b"),
    ("audio/x-realaudio", "ra", "apps' name for RealAudio"),
    ("audio/vnd.rn-realaudio", "ra", "shared-mime-info *.ra"),
    ("audio/basic", "au", "IANA (RFC 2046); shared-mime-info *.au"),
    ("audio/midi", "mid", "shared-mime-info *.mid"),
    ("audio/x-midi", "mid", "shared-mime-info: alias of audio/midi"),
    ("audio/x-wav", "wav", "shared-mime-info *.wav"),
    ("audio/wav", "wav", "shared-mime-info: alias of audio/x-wav"),
    ("audio/vnd.wave", "wav", "IANA (RFC 2361)"),
    ("audio/flac", "flac", "IANA (RFC 9639); shared-mime-info *.flac"),
    ("audio/x-flac", "flac", "shared-mime-info: alias of audio/flac"),
    ("audio/x-aiff", "aiff", "shared-mime-info *.aiff"),
    ("audio/x-aifc", "aifc", "shared-mime-info *.aifc"),
    ("audio/x-ms-wma", "wma", "shared-mime-info *.wma"),
    ("audio/x-ape", "ape", "shared-mime-info *.ape"),
    ("audio/x-wavpack", "wv", "shared-mime-info *.wv"),
    ("audio/x-musepack", "mpc", "shared-mime-info *.mpc"),
    ("audio/x-tta", "tta", "shared-mime-info *.tta"),
    ("audio/x-dsf", "dsf", "shared-mime-info *.dsf"),
    ("audio/ac3", "ac3", "IANA (RFC 4184); shared-mime-info *.ac3"),
    ("audio/eac3", "eac3", "IANA (RFC 4598)"),
    ("audio/vnd.dts", "dts", "IANA; shared-mime-info *.dts"),
    ("audio/x-gsm", "gsm", "shared-mime-info *.gsm"),
    ("audio/x-mpegurl", "m3u", "shared-mime-info *.m3u"),
    ("audio/x-scpls", "pls", "shared-mime-info *.pls"),
]


@pytest.mark.parametrize(("mime", "ext", "source"), MIME_CASES)
def test_mime_types_map_to_their_registered_extension(mime: str, ext: str, source: str) -> None:
    assert extension_for_mime(mime) == ext, source
    item = media.classify(audio_file(11, 5, mime=mime))
    assert (item.ext, item.ext_from_header) == (ext, False)
    assert media.file_name("{title}.{ext}", item, "C") == f"document_5.{ext}"


def test_parameters_case_and_spaces_do_not_matter() -> None:
    assert normalise_mime(" Audio/MPEG; charset=binary ") == "audio/mpeg"
    for sent, ext in (("audio/mpeg; charset=utf-8", "mp3"), ("AUDIO/X-WAV", "wav"),
                      (" audio/ogg ;codecs=opus", "ogg"), ("Audio/X-Opus+Ogg", "opus")):
        assert extension_for_mime(sent) == ext
        item = media.classify(audio_file(11, 6, mime=sent))
        assert (item.ext, item.mime) == (ext, normalise_mime(sent))
    assert extension_for_mime("audio/x-opus") == "opus"  # an x- more or less
    assert extension_for_mime("") is None and extension_for_mime("nonsense") is None


def _shared_mime_info() -> list[tuple[str, set[str]]]:
    """(type or alias, the globs of its type) for each audio type on this machine's
    shared-mime-info, following sub-class-of for types without globs."""
    path = Path("/usr/share/mime/packages/freedesktop.org.xml")
    if not path.exists():
        pytest.skip("no shared-mime-info database here")
    ns = {"m": "http://www.freedesktop.org/standards/shared-mime-info"}
    globs: dict[str, set[str]] = {}
    parents: dict[str, list[str]] = {}
    names: dict[str, list[str]] = {}
    for node in ET.parse(path).getroot().findall("m:mime-type", ns):
        kind = node.get("type", "").lower()
        globs[kind] = {g.get("pattern", "").lower().removeprefix("*.")
                       for g in node.findall("m:glob", ns)}
        parents[kind] = [p.get("type", "").lower() for p in node.findall("m:sub-class-of", ns)]
        names[kind] = [kind, *(a.get("type", "").lower() for a in node.findall("m:alias", ns))]
    found = []
    for kind, known in names.items():
        wanted = globs[kind] or set().union(*(globs.get(p, set()) for p in parents[kind]))
        found += [(name, wanted) for name in known if name.startswith("audio/") and wanted]
    return found


def test_every_audio_type_of_shared_mime_info_gets_one_of_its_globs() -> None:
    wrong = {name: (extension_for_mime(name), sorted(globs))
             for name, globs in _shared_mime_info() if extension_for_mime(name) not in globs}
    assert not wrong


def test_an_unknown_audio_type_waits_for_the_header() -> None:
    item = media.classify(audio_file(11, 7, mime="audio/x-unheard-of"))
    assert (item.ext, item.ext_from_header) == (media.UNKNOWN_AUDIO_EXT, True)
    assert media.wanted(item, media.Keep())  # an audio document all the same
    settled = media.with_header(item, b"fLaC\x00\x00\x00\x22" + bytes(40))
    assert (settled.ext, settled.ext_from_header) == ("flac", False)
    assert media.file_name("{title}.{ext}", settled, "C") == "document_7.flac"
    unknown = media.with_header(item, b"not a format anybody knows")
    assert (unknown.ext, unknown.ext_from_header) == ("audio", False)
    known = media.classify(audio_file(11, 8, mime="audio/x-wav"))
    assert media.with_header(known, b"fLaC") is known  # its type said it already
    music = media.classify(audio_file(11, 9, mime="application/octet-stream", music=True))
    assert music.kind == media.MUSIC and music.ext_from_header


def test_names_voice_notes_and_other_documents() -> None:
    named = media.classify(audio_file(11, 1, mime="audio/x-unheard-of", file_name="a.Opus"))
    assert (named.ext, named.ext_from_header) == ("opus", False)  # the name's own extension
    voice = media.classify(audio_file(11, 2, mime="audio/ogg", voice=True))
    assert (voice.kind, voice.ext) == (media.VOICE, "ogg")
    # The Bot API's sendVoice also takes MP3 and M4A: their type tells.
    assert media.classify(audio_file(11, 3, mime="audio/mpeg", voice=True)).ext == "mp3"
    assert media.classify(audio_file(11, 4, mime="", voice=True)).ext == "ogg"
    pdf = media.classify(audio_file(11, 5, mime="application/pdf"))
    assert (pdf.ext, pdf.ext_from_header, media.wanted(pdf, media.Keep())) == ("pdf", False,
                                                                                False)
    blob = media.classify(audio_file(11, 6, mime="application/octet-stream"))
    assert (blob.ext, blob.ext_from_header) == ("bin", False)  # not audio: left alone


# ---------------------------------------------------------------- headers of real files

# name -> (FFmpeg output arguments, the encoder they need, expected extension)
FFMPEG_FILES = {
    "mp3 with ID3": (["-c:a", "libmp3lame", "-f", "mp3"], "libmp3lame", "mp3"),
    "mp3 frames only": (["-c:a", "libmp3lame", "-id3v2_version", "0", "-write_xing", "0",
                         "-f", "mp3"], "libmp3lame", "mp3"),
    "mp2": (["-c:a", "mp2", "-f", "mp2"], "mp2", "mp2"),
    "aac adts": (["-c:a", "aac", "-f", "adts"], "aac", "aac"),
    "ogg vorbis": (["-c:a", "libvorbis", "-f", "ogg"], "libvorbis", "ogg"),
    "ogg opus": (["-c:a", "libopus", "-f", "opus"], "libopus", "opus"),
    "ogg flac": (["-c:a", "flac", "-f", "ogg"], "flac", "oga"),
    "flac": (["-c:a", "flac", "-f", "flac"], "flac", "flac"),
    "wav": (["-c:a", "pcm_s16le", "-f", "wav"], "pcm_s16le", "wav"),
    "rf64": (["-c:a", "pcm_s16le", "-rf64", "always", "-f", "wav"], "pcm_s16le", "wav"),
    "aiff": (["-c:a", "pcm_s16be", "-f", "aiff"], "pcm_s16be", "aiff"),
    "amr": (["-ar", "8000", "-ac", "1", "-c:a", "libopencore_amrnb", "-f", "amr"],
            "libopencore_amrnb", "amr"),
    "m4a": (["-c:a", "aac", "-f", "ipod"], "aac", "m4a"),
    "mp4": (["-c:a", "aac", "-f", "mp4"], "aac", "mp4"),
    "3gp": (["-c:a", "aac", "-f", "3gp"], "aac", "3gp"),
    "webm": (["-c:a", "libopus", "-f", "webm"], "libopus", "webm"),
    "matroska": (["-c:a", "flac", "-f", "matroska"], "flac", "mka"),
    "caf": (["-c:a", "pcm_s16le", "-f", "caf"], "pcm_s16le", "caf"),
    "au": (["-c:a", "pcm_s16be", "-f", "au"], "pcm_s16be", "au"),
    "wma": (["-c:a", "wmav2", "-f", "asf"], "wmav2", "wma"),
    "ac3": (["-c:a", "ac3", "-f", "ac3"], "ac3", "ac3"),
    "eac3": (["-c:a", "eac3", "-f", "eac3"], "eac3", "eac3"),
    "dts": (["-strict", "-2", "-c:a", "dca", "-f", "dts"], "dca", "dts"),
    "tta": (["-c:a", "tta", "-f", "tta"], "tta", "tta"),
    "wavpack": (["-c:a", "wavpack", "-f", "wv"], "wavpack", "wv"),
    "realmedia": (["-ar", "8000", "-ac", "1", "-c:a", "real_144", "-f", "rm"], "real_144",
                  "rm"),
}


@functools.cache
def _encoders() -> str:
    return subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-encoders"],
                          capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def encoded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Half a second of a tone in each format this FFmpeg can write: name -> first 4 KiB."""
    folder = tmp_path_factory.mktemp("formats")
    found = {}
    for number, (name, (args, encoder, _)) in enumerate(FFMPEG_FILES.items()):
        if f" {encoder} " not in _encoders():
            continue
        out = folder / f"{number}.out"
        subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error",
                        "-f", "lavfi", "-i", "sine=frequency=440:duration=0.5", *args,
                        str(out)], check=True)
        with open(out, "rb") as f:
            found[name] = f.read(media.HEADER_BYTES)
    return found


@pytest.mark.parametrize("name", FFMPEG_FILES)
def test_headers_of_files_ffmpeg_writes(name: str, encoded: dict[str, bytes]) -> None:
    if name not in encoded:
        pytest.skip(f"this FFmpeg has no {FFMPEG_FILES[name][1]} encoder")
    assert media.extension_from_header(encoded[name]) == FFMPEG_FILES[name][2]


# ---------------------------------------------------------------- hand-built headers


def _id3(size: int, footer: bool = False) -> bytes:
    """An ID3v2.4 header (ID3v2.4 structure §3.1): tag size in four 7-bit bytes."""
    syncsafe = bytes((size >> s) & 0x7F for s in (21, 14, 7, 0))
    return b"ID3\x04\x00" + (b"\x10" if footer else b"\x00") + syncsafe


def _ogg_page(packet: bytes) -> bytes:
    """An Ogg page (RFC 3533 §6) with one segment holding `packet`."""
    return (b"OggS\x00\x02" + bytes(8) + b"\x01\x00\x00\x00" + bytes(4) + bytes(4)
            + bytes([1, len(packet)]) + packet)


def _ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = major + bytes(4) + b"".join(compatible)
    return (8 + len(body)).to_bytes(4, "big") + b"ftyp" + body


def _ebml(doc_type: bytes) -> bytes:
    """An EBML header (RFC 8794 §11.2) with EBMLVersion 1 and DocType `doc_type`."""
    body = b"\x42\x86\x81\x01" + b"\x42\x82" + bytes([0x80 | len(doc_type)]) + doc_type
    return b"\x1a\x45\xdf\xa3" + bytes([0x80 | len(body)]) + body


ADTS_FRAME = b"\xff\xf1\x50\x80\x02\x1f\xfc"  # MPEG-4 AAC LC, 44.1 kHz, stereo

HAND_BUILT = [
    (_id3(100) + bytes(100) + b"fLaC\x00\x00\x00\x22", "flac", "ID3 tag before FLAC"),
    (_id3(20) + bytes(20) + ADTS_FRAME, "aac", "ID3 tag before ADTS"),
    (_id3(20, footer=True) + bytes(30) + b"\xff\xfb\x90\x64", "mp3", "tag with footer"),
    (_id3(100_000) + bytes(4086), "mp3", "a tag longer than what was read"),
    (b"ADIF" + bytes(12), "aac", "ISO/IEC 14496-3 adif_header"),
    (b"#!AMR-WB\n\x04", "awb", "RFC 4867 §5"),
    (b"#!AMR\n\x3c", "amr", "RFC 4867 §5"),
    (b"#!AMR_MC1.0\n\x00\x00\x00\x01", "amr", "RFC 4867 §5"),
    (b"#!AMR-WB_MC1.0\n\x00\x00\x00\x01", "awb", "RFC 4867 §5"),
    (b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0", "mid", "Standard MIDI Files 1.0"),
    (b".ra\xfd\x00\x04\x00\x00", "ra", "RealAudio 4"),
    (b"MAC \x96\x0f\x00\x00", "ape", "Monkey's Audio 3.99"),
    (b"wvpk\x20\x00\x00\x00\x10\x04", "wv", "WavPack 4 block"),
    (b"MPCKSH", "mpc", "Musepack SV8"),
    (b"MP+\x07", "mpc", "Musepack SV7"),
    (b"TTA1\x01\x00", "tta", "True Audio"),
    (b"DSD \x1c" + bytes(7), "dsf", "DSF 1.01"),
    (b"FRM8" + bytes(8) + b"DSD ", "dff", "DSDIFF 1.5"),
    (b"Creative Voice File\x1a\x1a\x00", "voc", "Creative VOC"),
    (b"FORM\x00\x00\x10\x00AIFCFVER", "aifc", "AIFF-C"),
    (b"RIFF\x00\x10\x00\x00QLCMfmt ", "qcp", "RFC 3625 §4"),
    (_ogg_page(b"Speex   1.2"), "spx", "Speex in Ogg"),
    (_ogg_page(b"\x7fFLAC\x01\x00"), "oga", "FLAC in Ogg"),
    (_ogg_page(b"OpusHead\x01\x02"), "opus", "RFC 7845 §5.1"),
    (_ogg_page(b"something else"), "ogg", "Ogg of another codec"),
    (_ftyp(b"M4B ", b"M4A ", b"mp42"), "m4b", "audiobook brand"),
    (_ftyp(b"isom", b"iso2", b"M4A "), "m4a", "M4A as a compatible brand"),
    (_ftyp(b"3g2a", b"3g2a"), "3g2", "3GPP2 brand"),
    (_ebml(b"webm"), "webm", "WebM DocType"),
    (_ebml(b"matroska"), "mka", "Matroska DocType"),
    (b"\x0b\x77\x00\x00\x00\x40", "ac3", "A/52 bsid 8"),
]


@pytest.mark.parametrize(("head", "ext", "what"), HAND_BUILT)
def test_hand_built_headers(head: bytes, ext: str, what: str) -> None:
    assert media.extension_from_header(head) == ext, what


@pytest.mark.parametrize("head", [
    b"", b"\x00" * 64, b"%PDF-1.7\n", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0\x00\x10JFIF",
    b"PK\x03\x04\x14\x00", b"hello world", b"\xff\xff\xff\xff", b"RIFF\x00\x00\x00\x00AVI ",
    _ebml(b"something"), b"ID", b"OggS",
])
def test_what_is_not_a_known_audio_header(head: bytes) -> None:
    assert media.extension_from_header(head) is None


@given(st.binary(max_size=512))
def test_any_bytes_give_an_extension_or_none(head: bytes) -> None:
    found = media.extension_from_header(head)
    assert found is None or (found.isalnum() and found == found.lower())
    for prefix in (b"ID3\x04\x00\x00", b"OggS\x00", b"\x1a\x45\xdf\xa3", b"\x00\x00\x00\x10ftyp"):
        media.extension_from_header(prefix + head)  # half a header never raises


# ---------------------------------------------------------------- through a sync


async def test_a_sync_names_files_without_names_by_their_type(tg_app: TelegramApp,
                                                              tmp_path: Path) -> None:
    for msg_id, mime in ((101, "audio/x-mpeg"), (102, "audio/x-opus+ogg; codecs=opus"),
                         (103, "audio/vnd.dlna.adts")):
        tg_app.world.post(audio_file(11, msg_id, mime=mime))
    session = await tg_app.logged_in()
    source = await tg_app.service.add_source(
        session, "@music", keep={"kinds": ["document"]}, template="{title}.{ext}",
        target={"type": "folder", "path": str(tmp_path / "out")})
    job = await tg_app.service.sync_now(source.id)
    assert (await tg_app.jobs.wait(job.id)).state == JobState.DONE
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "document_101.mp3", "document_102.opus", "document_103.aac", "live.flac"]
