"""Real audio made with the real FFmpeg, cached per session, for tests to serve."""

from __future__ import annotations

import subprocess
from pathlib import Path

from audiofetch_app.core.ffmpeg import find_ffmpeg


def make_tone(path: Path, seconds: float = 3.0, codec: str = "libmp3lame",
              fmt: str = "mp3") -> Path:
    subprocess.run(
        [find_ffmpeg(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
         f"sine=frequency=440:duration={seconds}", "-ar", "48000", "-c:a", codec,
         "-f", fmt, str(path)],
        check=True,
    )
    return path


def make_hls(folder: Path, seconds: float = 9.0, segment: float = 3.0,
             segment_type: str = "mpegts", key_url: str | None = None) -> Path:
    """An HLS VOD of AAC audio in `folder`: list.m3u8 plus its segments."""
    folder.mkdir(parents=True, exist_ok=True)
    ext = "ts" if segment_type == "mpegts" else "m4s"
    args = [find_ffmpeg(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
            f"sine=frequency=440:duration={seconds}", "-c:a", "aac", "-ar", "48000",
            "-f", "hls", "-hls_time", str(segment), "-hls_playlist_type", "vod",
            "-hls_segment_type", segment_type,
            "-hls_segment_filename", str(folder / f"seg%d.{ext}")]
    if segment_type == "fmp4":
        args += ["-hls_fmp4_init_filename", "init.mp4"]
    if key_url:  # AES-128: the key is served at key_url, as real encrypted streams do
        (folder / "audio.key").write_bytes(bytes(range(16)))
        info = folder / "keyinfo.txt"
        info.write_text(f"{key_url}\n{folder / 'audio.key'}\n")
        args += ["-hls_key_info_file", str(info)]
    subprocess.run([*args, str(folder / "list.m3u8")], check=True)
    return folder / "list.m3u8"


def serve_folder(server, folder: Path, prefix: str, content_types: dict[str, str]) -> None:
    for file in folder.iterdir():
        server.add(f"{prefix}/{file.name}", file.read_bytes(),
                   content_type=content_types.get(file.suffix, "application/octet-stream"))


# -- HLS test media (tests/test_hls_*.py): tone segments, AES-128, what the audio holds ----

# fmt -> (extension, codec arguments, segment muxer, its options)
HLS_SEGMENT_FORMATS = {
    "adts": (".aac", ["-c:a", "aac", "-b:a", "64k"], "adts", []),
    "mp3": (".mp3", ["-c:a", "libmp3lame", "-b:a", "64k"], "mp3",
            ["-segment_format_options", "write_xing=0:id3v2_version=0"]),
    "mpegts": (".ts", ["-c:a", "aac", "-b:a", "64k"], "mpegts", []),
}


def _tone_inputs(freqs: list[int], seconds: float, sample_rate: int) -> list[str]:
    """FFmpeg input arguments for one stream whose tone steps through `freqs`."""
    args: list[str] = []
    for freq in freqs:
        args += ["-f", "lavfi", "-i",
                 f"sine=frequency={freq}:duration={seconds}:sample_rate={sample_rate}"]
    chain = "".join(f"[{n}:a]" for n in range(len(freqs)))
    return [*args, "-filter_complex", f"{chain}concat=n={len(freqs)}:v=0:a=1"]


def make_tone_segments(folder: Path, freqs: list[int], seconds: float = 1.0,
                       fmt: str = "adts", sample_rate: int = 48000, channels: int = 1,
                       name: str = "seg") -> list[Path]:
    """One continuous stream whose tone is freqs[i] during segment i, cut every `seconds`
    by FFmpeg's segment muxer, so the files join seamlessly as an HLS packager's do.
    `fmt`: adts (packed AAC), mp3 (packed MP3, no Xing or ID3 header) or mpegts (AAC)."""
    folder.mkdir(parents=True, exist_ok=True)
    ext, codec, muxer, options = HLS_SEGMENT_FORMATS[fmt]
    subprocess.run(
        [find_ffmpeg(), "-hide_banner", "-loglevel", "error", "-y",
         *_tone_inputs(freqs, seconds, sample_rate), "-ac", str(channels),
         "-ar", str(sample_rate), *codec, "-f", "segment", "-segment_time", str(seconds),
         "-segment_format", muxer, *options, str(folder / f"{name}%d{ext}")],
        check=True)
    made = [folder / f"{name}{n}{ext}" for n in range(len(freqs) + 4)]
    made = [path for path in made if path.exists()]
    # The encoder's last frames may spill into one more, tiny file: it belongs to the last.
    with open(made[len(freqs) - 1], "ab") as last:
        for extra in made[len(freqs):]:
            last.write(extra.read_bytes())
            extra.unlink()
    return made[:len(freqs)]


def make_fmp4_hls(folder: Path, freqs: list[int], seconds: float = 1.0,
                  single_file: bool = False) -> Path:
    """FFmpeg's own fMP4 HLS of the tones (EXT-X-MAP; one file of byte ranges when
    `single_file`); returns its list.m3u8."""
    folder.mkdir(parents=True, exist_ok=True)
    args = [find_ffmpeg(), "-hide_banner", "-loglevel", "error", "-y",
            *_tone_inputs(freqs, seconds, 48000), "-ac", "1", "-c:a", "aac", "-b:a", "64k",
            "-f", "hls", "-hls_time", str(seconds), "-hls_playlist_type", "vod",
            "-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", "init.mp4"]
    if single_file:
        args += ["-hls_flags", "single_file", "-hls_segment_filename",
                 str(folder / "media.m4s")]
    else:
        args += ["-hls_segment_filename", str(folder / "part%d.m4s")]
    subprocess.run([*args, str(folder / "list.m3u8")], check=True)
    return folder / "list.m3u8"


def make_video_segments(folder: Path, count: int, seconds: float = 1.0) -> list[Path]:
    """Video-only MPEG-TS segments (no audio stream at all), for video variants."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [find_ffmpeg(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
         f"testsrc=size=64x64:rate=10:duration={count * seconds}", "-c:v", "mpeg2video",
         "-f", "segment", "-segment_time", str(seconds), "-segment_format", "mpegts",
         str(folder / "video%d.ts")], check=True)
    return [folder / f"video{n}.ts" for n in range(count) if (folder / f"video{n}.ts").exists()]


def aes128_encrypt(data: bytes, key: bytes, iv: bytes) -> bytes:
    """AES-128-CBC with PKCS7 padding, as RFC 8216 §4.3.2.4 encrypts a whole segment."""
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    padder = padding.PKCS7(128).padder()
    padded = padder.update(data) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return encryptor.update(padded) + encryptor.finalize()


def sequence_iv(sequence: int) -> bytes:
    """RFC 8216 §5.2: with no IV attribute, the IV is the Media Sequence Number as a
    big-endian 128-bit integer."""
    return sequence.to_bytes(16, "big")


def _ffprobe_value(path: Path, *args: str) -> str:
    import shutil

    exe = shutil.which("ffprobe")
    assert exe, "ffprobe is missing: .ci/run installs Debian's ffmpeg package for it"
    forced = {".mp3": ["-f", "mp3"], ".aac": ["-f", "aac"]}.get(path.suffix.lower(), [])
    result = subprocess.run([exe, "-v", "error", *forced, *args, "-of", "csv=p=0", str(path)],
                            capture_output=True, text=True, check=True)
    first = next((line for line in result.stdout.splitlines() if line.strip()), "")
    return first.split(",")[0].strip()


def audio_packets(path: Path) -> int:
    """How many audio packets (AAC or MP3 frames) the first audio stream holds (ffprobe)."""
    return int(_ffprobe_value(path, "-select_streams", "a:0", "-count_packets",
                              "-show_entries", "stream=nb_read_packets"))


def media_seconds(path: Path) -> float:
    """The duration ffprobe reports for the file."""
    return float(_ffprobe_value(path, "-show_entries", "format=duration"))


def decode_mono(path: Path, rate: int = 8000) -> list[int]:
    """Every sample of the first audio stream, decoded to mono 16-bit at `rate`."""
    from array import array

    # A packed segment alone may be misread (an MP3 without header probes as MPEG-TS).
    forced = {".mp3": ["-f", "mp3"], ".aac": ["-f", "aac"]}.get(path.suffix.lower(), [])
    result = subprocess.run([find_ffmpeg(), "-v", "error", *forced, "-i", str(path),
                             "-map", "0:a:0",
                             "-ac", "1", "-ar", str(rate), "-f", "s16le", "-"],
                            capture_output=True, check=True)
    samples = array("h")
    samples.frombytes(result.stdout[:len(result.stdout) // 2 * 2])
    return samples.tolist()


def _power(samples: list[int], rate: int, freq: float) -> float:
    """Goertzel: the energy of `samples` at `freq`."""
    import math

    coeff = 2 * math.cos(2 * math.pi * freq / rate)
    s1 = s2 = 0.0
    for sample in samples:
        s1, s2 = sample + coeff * s1 - s2, s1
    return s1 * s1 + s2 * s2 - coeff * s1 * s2


def dominant_frequency(samples: list[int], rate: int = 8000, low: int = 100,
                       high: int = 2500) -> float:
    """The strongest frequency in `samples`: a 20 Hz sweep, then 2 Hz around the best."""
    coarse = max(range(low, high, 20), key=lambda f: _power(samples, rate, f))
    return float(max(range(coarse - 20, coarse + 21, 2), key=lambda f: _power(samples, rate, f)))


def tones_in(path: Path, durations: list[float], rate: int = 8000) -> list[float]:
    """The dominant frequency in the middle of each part of `path`, parts laid end to end
    with the given durations (at most 0.4 s of each is analysed)."""
    samples = decode_mono(path, rate)
    found, start = [], 0.0
    for seconds in durations:
        middle, half = start + seconds / 2, min(seconds / 4, 0.2)
        window = samples[int((middle - half) * rate):int((middle + half) * rate)]
        found.append(dominant_frequency(window, rate) if window else 0.0)
        start += seconds
    return found


def decoded_seconds(path: Path, rate: int = 8000) -> float:
    """How long the audio of `path` lasts when every sample is decoded."""
    return len(decode_mono(path, rate)) / rate


def audio_problems(path: Path, durations: list[float], freqs: list[int],
                   packets: int | None = None, tolerance: float = 0.03) -> list[str]:
    """What is wrong with a saved recording of parts lasting `durations` whose tones are
    `freqs`: its length (ffprobe's and decoded) more than the longest part away from the
    sum, decoder complaints, a packet count other than `packets`, or a part whose tone is
    off by more than `tolerance` (a lost, repeated, reordered or re-pitched part)."""
    from tests.probe import decode_errors

    problems = []
    expected, slack = sum(durations), max(durations)
    for what, seconds in (("ffprobe", media_seconds(path)),
                          ("decoded", decoded_seconds(path))):
        if abs(seconds - expected) > slack:
            problems.append(f"{what} duration {seconds:.3f} s, expected {expected:.3f} s")
    if packets is not None and (found := audio_packets(path)) != packets:
        problems.append(f"{found} audio packets, expected {packets}")
    tones = tones_in(path, durations)
    for number, (tone, freq) in enumerate(zip(tones, freqs, strict=False)):
        if abs(tone - freq) > freq * tolerance:
            problems.append(f"part {number}: {tone:.0f} Hz, expected {freq} Hz")
    if errors := decode_errors(path):
        lines = errors.splitlines()
        problems.append(f"{len(lines)} decoder error lines, the first: {lines[0][:120]}")
    return problems
