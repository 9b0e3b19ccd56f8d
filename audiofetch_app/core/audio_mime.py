"""File extensions for audio MIME types, the same on every machine.

`mimetypes.guess_extension` reads the system's tables (/etc/mime.types, the Windows registry),
so its answer differs between machines; here only Python's built-in table is read
(`mimetypes.MimeTypes(filenames=())`), under a table of the audio types that clients send:

- freedesktop.org shared-mime-info 2.2 (freedesktop.org.xml): each audio type's first glob,
  and its aliases (`audio/x-mp3`, `audio/x-mpeg`, `audio/x-mpg` and `audio/mp3` are aliases
  of `audio/mpeg`; `audio/x-aac` of `audio/aac`; `audio/x-flac` of `audio/flac`, ...);
- the IANA media types registry (https://www.iana.org/assignments/media-types/#audio) and
  the RFCs it names: audio/basic (RFC 2046), audio/MPA (RFC 3555), audio/ogg (RFC 5334),
  audio/opus (RFC 7587), audio/vorbis (RFC 5215), audio/AMR and audio/AMR-WB (RFC 4867),
  audio/3gpp (RFC 3839), audio/3gpp2 (RFC 4393), audio/ac3 (RFC 4184), audio/eac3 (RFC 4598),
  audio/flac (RFC 9639), audio/vnd.wave (RFC 2361), audio/sp-midi, audio/mobile-xmf;
- names platforms and apps use that neither lists: `audio/vnd.dlna.adts` (Windows' registry
  for .aac), `audio/x-hx-aac-adts` (macOS' UTI table), `audio/x-caf` (Apple Core Audio
  Format), `audio/aacp` (AAC+ streams), `audio/mpeg3`, `audio/x-mpeg-3`, `audio/mpg`,
  `audio/x-wav`, `audio/wave`, `audio/x-pn-wav`, `audio/webm` (the WebM project),
  `audio/x-realaudio`.
"""

from __future__ import annotations

import mimetypes

# type -> extension, lower case. The first glob shared-mime-info gives a type, unless noted.
AUDIO_EXTENSION_BY_MIME: dict[str, str] = {
    # MPEG-1/2 audio
    "audio/mpeg": "mp3", "audio/mp3": "mp3", "audio/x-mp3": "mp3", "audio/x-mpeg": "mp3",
    "audio/x-mpg": "mp3", "audio/mpg": "mp3", "audio/mpeg3": "mp3", "audio/x-mpeg-3": "mp3",
    "audio/mpa": "mp3", "audio/mpa-robust": "mp3", "audio/x-mpegaudio": "mp3",
    "audio/mp2": "mp2", "audio/x-mp2": "mp2",
    # AAC in ADTS, and MPEG-4 files
    "audio/aac": "aac", "audio/x-aac": "aac", "audio/aacp": "aac", "audio/vnd.dlna.adts": "aac",
    "audio/x-hx-aac-adts": "aac", "audio/x-hx-aac-adif": "aac", "audio/usac": "loas",
    "audio/mp4": "m4a", "audio/x-m4a": "m4a", "audio/m4a": "m4a", "audio/x-m4b": "m4b",
    "audio/x-m4p": "m4p", "audio/x-m4r": "m4r", "audio/3gpp": "3gp", "audio/3gpp2": "3g2",
    "audio/x-rn-3gpp-amr": "3gp", "audio/x-rn-3gpp-amr-wb": "3gp", "audio/3gpp-encrypted": "3gp",
    "audio/x-rn-3gpp-amr-encrypted": "3gp", "audio/x-rn-3gpp-amr-wb-encrypted": "3gp",
    # Ogg (RFC 5334: .ogg for Vorbis, .oga for other audio, .opus for Opus) and WebM/Matroska
    "audio/ogg": "ogg", "audio/x-ogg": "ogg", "audio/vorbis": "ogg", "audio/x-vorbis": "ogg",
    "audio/x-vorbis+ogg": "ogg", "audio/opus": "opus", "audio/x-opus+ogg": "opus",
    "audio/x-flac+ogg": "oga", "audio/x-oggflac": "oga", "audio/x-speex+ogg": "spx",
    "audio/x-speex": "spx", "audio/speex": "spx", "audio/webm": "webm",
    "audio/x-matroska": "mka", "audio/annodex": "axa", "audio/x-annodex": "axa",
    # lossless and PCM
    "audio/flac": "flac", "audio/x-flac": "flac", "audio/wav": "wav", "audio/x-wav": "wav",
    "audio/wave": "wav", "audio/vnd.wave": "wav", "audio/x-pn-wav": "wav",
    "audio/aiff": "aiff", "audio/x-aiff": "aiff", "audio/x-aifc": "aifc", "audio/x-aiffc": "aifc",
    "audio/x-caf": "caf", "audio/basic": "au", "audio/x-au": "au", "audio/x-ape": "ape",
    "audio/ape": "ape", "audio/x-wavpack": "wv", "audio/x-wavpack-correction": "wvc",
    "audio/x-tta": "tta", "audio/tta": "tta", "audio/x-dsf": "dsf", "audio/dsf": "dsf",
    "audio/x-dsd": "dsf", "audio/dsd": "dsf", "audio/x-dff": "dff", "audio/dff": "dff",
    "audio/x-voc": "voc", "audio/x-shorten": "shn",
    # speech codecs
    "audio/amr": "amr", "audio/amr-encrypted": "amr", "audio/amr-wb": "awb",
    "audio/amr-wb-encrypted": "awb", "audio/x-gsm": "gsm", "audio/gsm": "gsm",
    # Windows Media, RealAudio, Musepack, Dolby, DTS
    "audio/x-ms-wma": "wma", "audio/wma": "wma", "audio/x-ms-wax": "wax",
    "audio/vnd.rn-realaudio": "ra", "audio/x-pn-realaudio": "ra", "audio/vnd.m-realaudio": "ra",
    "audio/x-realaudio": "ra", "audio/x-musepack": "mpc", "audio/musepack": "mpc",
    "audio/ac3": "ac3", "audio/eac3": "eac3", "audio/vnd.dts": "dts", "audio/x-dts": "dts",
    "audio/vnd.dts.hd": "dtshd", "audio/x-dtshd": "dtshd",
    # MIDI and tracker music
    "audio/midi": "mid", "audio/x-midi": "mid", "audio/mid": "mid", "audio/sp-midi": "mid",
    "audio/x-xmf": "xmf", "audio/xmf": "xmf", "audio/mobile-xmf": "mxmf",
    "audio/vnd.nokia.mobile-xmf": "mxmf", "audio/x-mod": "mod", "audio/x-s3m": "s3m",
    "audio/x-xm": "xm", "audio/x-it": "it", "audio/x-stm": "stm", "audio/x-mo3": "mo3",
    "audio/prs.sid": "sid", "audio/x-psf": "psf", "audio/x-minipsf": "minipsf",
    "audio/x-psflib": "psflib", "audio/x-xi": "xi", "audio/x-imelody": "imy",
    "audio/imelody": "imy",
    # audiobooks
    "audio/x-pn-audibleaudio": "aa", "audio/vnd.audible": "aa", "audio/vnd.audible.aax": "aax",
    # playlists are sent as audio/* too
    "audio/x-mpegurl": "m3u", "audio/mpegurl": "m3u", "audio/x-m3u": "m3u", "audio/m3u": "m3u",
    "audio/x-mp3-playlist": "m3u",
    "audio/x-scpls": "pls", "audio/scpls": "pls", "audio/x-ms-asx": "asx",
    "audio/x-iriver-pla": "pla", "audio/x-amzxml": "amz",
}

_BUILT_IN = mimetypes.MimeTypes(filenames=())  # Python's own table only: no system files


def normalise_mime(mime: str | None) -> str:
    """`mime` without parameters or spaces, lower case: `Audio/MPEG; charset=x` -> `audio/mpeg`
    (RFC 2045 §5.1: types and subtypes are case-insensitive)."""
    return str(mime or "").split(";", 1)[0].strip().lower()


def extension_for_mime(mime: str | None) -> str | None:
    """The file extension (no dot, lower case) for MIME type `mime`, or None when unknown.

    Parameters and case are ignored. Audio types come from the table above (an `x-` prefix
    more or less is tried too: `audio/x-opus` is `audio/opus`); other types from Python's
    built-in `mimetypes` table, which is the same on every machine.
    """
    kind = normalise_mime(mime)
    if not kind or "/" not in kind:
        return None
    top, sub = kind.split("/", 1)
    for candidate in (kind, f"{top}/{sub[2:]}" if sub.startswith("x-") else f"{top}/x-{sub}"):
        if candidate in AUDIO_EXTENSION_BY_MIME:
            return AUDIO_EXTENSION_BY_MIME[candidate]
    extensions = _BUILT_IN.guess_all_extensions(kind, strict=False)
    return extensions[0].lstrip(".") if extensions else None
