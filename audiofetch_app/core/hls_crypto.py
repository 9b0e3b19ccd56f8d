"""AES-128 segments decrypted by AudioFetch itself (RFC 8216 §4.3.2.4 and §5.2), so that FFmpeg
only ever reads plain media and every segment gets its own IV whatever the local playlist
numbers it."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from audiofetch_app.core.hls_model import HlsError
from audiofetch_app.core.hls_parse import parse_iv
from audiofetch_app.core.net_errors import DiskError

KEY_BYTES = 16
_CHUNK = 1 << 20


def iv_for(iv_attribute: str | None, sequence: int) -> bytes:
    """The IV of one segment (RFC 8216 §5.2): the IV attribute when the key has one, else
    the segment's Media Sequence Number as a big-endian 128-bit integer."""
    if iv_attribute is not None:
        return parse_iv(iv_attribute)
    if not 0 <= sequence < 1 << 128:
        raise HlsError(f"The media sequence number {sequence} cannot serve as an AES IV.")
    return sequence.to_bytes(16, "big")


def decrypt_file(source: Path, dest: Path, key: bytes, iv: bytes, what: str) -> None:
    """Decrypt AES-128-CBC with PKCS7 padding (RFC 8216 §4.3.2.4) from `source` into `dest`
    (through `dest.part`), in constant memory. Blocking: run it in a thread."""
    if len(key) != KEY_BYTES:
        raise HlsError(f"The key for {what} is {len(key)} bytes long; AES-128 needs 16.")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    unpadder = padding.PKCS7(128).unpadder()
    part = dest.with_name(dest.name + ".part")
    try:
        with open(source, "rb") as src, open(part, "wb") as out:
            while chunk := src.read(_CHUNK):
                out.write(unpadder.update(decryptor.update(chunk)))
            out.write(unpadder.update(decryptor.finalize()))
            out.write(unpadder.finalize())
    except ValueError as exc:  # a length not a multiple of 16, or padding that is not PKCS7
        part.unlink(missing_ok=True)
        raise HlsError(f"{what[:1].upper()}{what[1:]} did not decrypt with its AES-128 key: "
                       "the key, the IV or the file is wrong.") from exc
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise DiskError(f"Could not write {dest}: {exc.strerror or type(exc).__name__}.") \
            from exc
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    os.replace(part, dest)
