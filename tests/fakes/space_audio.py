"""Real X Space chunk audio: ADTS AAC-LC at 48 kHz made by FFmpeg, with ID3 tags and junk.

Each chunk is exactly `CHUNK_FRAMES` ADTS frames (141 x 1024 samples = 3.008 s, what X
uses). The audio of chunk `seq` is a tone of `tone_hz(seq)` Hz: the tones cycle through
`TONE_CYCLE` frequencies, so a finished recording can be checked chunk by chunk with
`measure_tones()` (a gap, a repeat or a swap at a live seam shows up as a wrong tone).

FFmpeg encodes one cycle once per process (well under a second) and every chunk is a
slice of it, so a two-hour Space costs nothing more to serve. Cycled slices are frames of
the same encoder run, so any sequence of them decodes without errors.

A served chunk is `[junk] + ID3v2.4 tag + ADTS frames`. The tag holds the PRIV frame
"com.apple.streaming.transportStreamTimestamp" (8-byte 33-bit 90 kHz PTS), as Apple-style
HLS packed audio does; the junk (8-60 bytes, never containing b"ID3") is what X puts in
front of some chunks and what breaks FFmpeg unless it is stripped (see `junk_bytes`).
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import random
import struct
import subprocess
from array import array
from pathlib import Path

from audiofetch_app.core.ffmpeg import find_ffmpeg

SAMPLE_RATE = 48_000
FRAME_SAMPLES = 1024
CHUNK_FRAMES = 141
CHUNK_SAMPLES = CHUNK_FRAMES * FRAME_SAMPLES
CHUNK_SECONDS = CHUNK_SAMPLES / SAMPLE_RATE  # 3.008
TONE_CYCLE = 16
BASE_HZ = 300
STEP_HZ = 100
PRIV_OWNER = b"com.apple.streaming.transportStreamTimestamp"


def tone_hz(seq: int) -> int:
    """Frequency of the tone in chunk `seq`."""
    return BASE_HZ + STEP_HZ * (seq % TONE_CYCLE)


def split_adts(data: bytes) -> list[bytes]:
    """Split a raw ADTS stream into its frames (raises ValueError on a lost sync)."""
    frames: list[bytes] = []
    pos = 0
    while pos < len(data):
        if data[pos] != 0xFF or data[pos + 1] & 0xF0 != 0xF0:
            raise ValueError(f"no ADTS sync at byte {pos}")
        length = ((data[pos + 3] & 0x03) << 11) | (data[pos + 4] << 3) | (data[pos + 5] >> 5)
        if length < 7:
            raise ValueError(f"bad ADTS frame length at byte {pos}")
        frames.append(data[pos:pos + length])
        pos += length
    return frames


@functools.lru_cache(maxsize=4)
def _cycle(channels: int) -> tuple[bytes, ...]:
    """The TONE_CYCLE chunk payloads (ADTS frames only) for `channels` channels."""
    frames_needed = TONE_CYCLE * CHUNK_FRAMES + 1  # +1: the encoder's priming frame
    seconds = (frames_needed + 4) * FRAME_SAMPLES / SAMPLE_RATE
    # Commas inside the quoted expression would otherwise split the filtergraph.
    expr = (f"0.5*sin(2*PI*({BASE_HZ}+{STEP_HZ}*mod(floor(t/{CHUNK_SECONDS}),{TONE_CYCLE}))*t)")
    exprs = "|".join([expr] * channels)
    done = subprocess.run(
        [find_ffmpeg(), "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
         f"aevalsrc=exprs='{exprs}':s={SAMPLE_RATE}:d={seconds:.6f}",
         "-c:a", "aac", "-b:a", f"{64 * channels}k", "-ar", str(SAMPLE_RATE),
         "-f", "adts", "pipe:1"],
        check=True, capture_output=True)
    frames = split_adts(done.stdout)
    if len(frames) < frames_needed:
        raise RuntimeError(f"FFmpeg made {len(frames)} AAC frames, {frames_needed} needed")
    # Drop the priming frame so that chunk k of the cycle is exactly tone k.
    frames = frames[1:frames_needed]
    return tuple(b"".join(frames[k * CHUNK_FRAMES:(k + 1) * CHUNK_FRAMES])
                 for k in range(TONE_CYCLE))


def chunk_audio(seq: int, channels: int = 1) -> bytes:
    """The ADTS frames of chunk `seq` (no tag, no junk)."""
    if channels not in (1, 2):
        raise ValueError("channels must be 1 or 2")
    return _cycle(channels)[seq % TONE_CYCLE]


def _syncsafe(n: int) -> bytes:
    return bytes([(n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F])


def id3_timestamp_tag(pts_90khz: int) -> bytes:
    """An ID3v2.4 tag with Apple's transportStreamTimestamp PRIV frame."""
    data = PRIV_OWNER + b"\x00" + struct.pack(">Q", pts_90khz & ((1 << 33) - 1))
    frame = b"PRIV" + _syncsafe(len(data)) + b"\x00\x00" + data
    return b"ID3\x04\x00\x00" + _syncsafe(len(frame)) + frame


def junk_bytes(seed: str, max_len: int = 60) -> bytes:
    """8..max_len deterministic junk bytes that never contain b"ID3".

    The junk starts like a stale ADTS frame (a plausible header whose length runs past
    the junk into the ID3 tag and the audio), so FFmpeg reading it unstripped decodes
    garbage and loses real frames, as it does with X's junk.
    """
    rng = random.Random(hashlib.sha256(seed.encode()).digest())
    size = rng.randint(8, max(8, max_len))
    claimed = size + rng.randint(20, 200)
    header = bytes([0xFF, 0xF1, 0x4C, 0x40 | ((claimed >> 11) & 0x03), (claimed >> 3) & 0xFF,
                    ((claimed & 0x07) << 5) | 0x1F, 0xFC])
    junk = header + bytes(rng.randrange(256) for _ in range(size - len(header)))
    return junk.replace(b"ID3", b"IDX")


def chunk_pts(seq: int, first_seq: int = 0) -> int:
    """90 kHz PTS of the start of chunk `seq` (chunk `first_seq` starts at 0)."""
    return (seq - first_seq) * CHUNK_SAMPLES * 90_000 // SAMPLE_RATE


def build_chunk(seq: int, *, channels: int = 1, first_seq: int = 0,
                junk: bytes = b"") -> bytes:
    """A chunk as X serves it: junk (maybe), ID3 timestamp tag, ADTS frames."""
    return junk + id3_timestamp_tag(chunk_pts(seq, first_seq)) + chunk_audio(seq, channels)


def strip_junk(chunk: bytes) -> bytes:
    """Drop anything before the ID3 header (what a client must do)."""
    start = chunk.find(b"ID3")
    return chunk[start:] if start > 0 else chunk


def decode_pcm(path: Path | str) -> array:
    """Decode any audio file to mono 48 kHz signed 16-bit samples with FFmpeg."""
    done = subprocess.run(
        [find_ffmpeg(), "-hide_banner", "-loglevel", "error", "-i", str(path),
         "-ac", "1", "-ar", str(SAMPLE_RATE), "-f", "s16le", "pipe:1"],
        check=True, capture_output=True)
    samples = array("h")
    samples.frombytes(done.stdout)
    return samples


def measure_tones(path: Path | str) -> list[int]:
    """The tone (Hz, rounded to STEP_HZ) of each whole 3.008 s chunk window of a file.

    Compare with `[tone_hz(s) for s in sequence]`. Only the middle half of each window is
    measured, so encoder delay (a few ms, e.g. after an MP3 re-encode) does not matter.
    """
    samples = decode_pcm(path)
    tones: list[int] = []
    for k in range(len(samples) // CHUNK_SAMPLES):
        start = k * CHUNK_SAMPLES + CHUNK_SAMPLES // 4
        window = samples[start:start + CHUNK_SAMPLES // 2]
        crossings = sum(1 for a, b in itertools.pairwise(window) if (a < 0) != (b < 0))
        hz = crossings / 2 / (len(window) / SAMPLE_RATE)
        tones.append(round(hz / STEP_HZ) * STEP_HZ)
    return tones
