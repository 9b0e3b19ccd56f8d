"""ffprobe (Debian's, a test tool only) and a strict decode check with the bundled FFmpeg."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from audiofetch_app.core.ffmpeg import find_ffmpeg


def ffprobe(path: Path) -> dict:
    exe = shutil.which("ffprobe")
    assert exe, "ffprobe is missing: .ci/run installs Debian's ffmpeg package for it"
    result = subprocess.run([exe, "-v", "error", "-print_format", "json", "-show_format",
                             "-show_streams", str(path)], capture_output=True, text=True,
                            check=True)
    return json.loads(result.stdout)


def decode_errors(path: Path) -> str:
    """FFmpeg's complaints while decoding every sample ('' when the audio is clean)."""
    result = subprocess.run([find_ffmpeg(), "-v", "error", "-i", str(path), "-map", "0:a",
                             "-f", "null", "-"], capture_output=True, text=True)
    return result.stderr.strip() + ("" if result.returncode == 0 else " (exit code != 0)")


def tags(info: dict) -> dict[str, str]:
    return {k.lower(): v for k, v in info["format"].get("tags", {}).items()}
