"""Deflate's stored blocks without zlib, for members whose size is not known in advance.

stream-zip writes such members as deflate (method 8) with a data descriptor. Audio does not
compress, so the deflate stream is made of stored blocks, as zlib's level 0 makes them; zlib's
level 0 runs at a few hundred MB/s on megabyte chunks, this at the speed of one memcpy.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import stream_zip as sz

STORED_MAX = 0xFFFF  # bytes in one stored block
_HEAD = struct.Struct("<BHH")  # BFINAL and BTYPE bits then padding, one byte; LEN; NLEN
_HEAD_SIZE = _HEAD.size


class StoredBlocks:
    """A zlib compressobj look-alike whose output is deflate stored blocks.

    Blocks are full (65,535 bytes) but for the last, so the stream's length depends only on
    the member's: n + 5 * (n // 65,535 + 1). Output comes in whole ZIP blocks of `block` bytes
    (the rest is held for the next call), which stream-zip, whose blocks start afresh after
    each local header, passes on without copying them again. `counted(n)` hears of every byte
    made, so the caller knows exactly where stream-zip's blocks end.
    """

    def __init__(self, block: int, counted: Callable[[int], None]):
        self.block, self.counted = block, counted
        self.data: list[Any] = []  # input not framed yet, less than a stored block
        self.data_size = 0
        self.out: list[Any] = []  # output not handed over yet, less than a ZIP block
        self.out_size = 0

    def __call__(self) -> StoredBlocks:  # stream-zip asks its factory for one per member
        return self

    def compress(self, data: bytes) -> bytes:
        if data:
            self.data.append(memoryview(data))
            self.data_size += len(data)
        while self.data_size >= STORED_MAX:
            self._frame(STORED_MAX, final=False)
        whole = self.out_size - self.out_size % self.block
        return self._hand_over(whole) if whole else b""

    def flush(self) -> bytes:
        self._frame(self.data_size, final=True)
        return self._hand_over(self.out_size)

    def _frame(self, size: int, final: bool) -> None:
        self.out.append(_HEAD.pack(final, size, size ^ 0xFFFF))
        self.out += _take(self.data, size)
        self.data_size -= size
        self.out_size += _HEAD_SIZE + size

    def _hand_over(self, size: int) -> bytes:
        out = b"".join(_take(self.out, size))
        self.out_size -= size
        self.counted(size)
        return out


def _take(pieces: list[Any], size: int) -> list[Any]:
    """Remove the first `size` bytes from `pieces` (buffers), as a list of buffers."""
    taken = []
    while size:
        piece = pieces[0]
        if len(piece) <= size:
            taken.append(pieces.pop(0))
            size -= len(piece)
        else:
            taken.append(piece[:size])
            pieces[0] = piece[size:]
            size = 0
    return taken


class WithCompressor(sz.Method):
    """stream-zip's `method` (ZIP_AUTO's or ZIP_64's layout), deflating with `make()`.

    stream-zip's methods carry their compressor factory; this swaps it (ZIP_AUTO would take
    zlib's, and the archive-wide `get_compressobj` cannot differ per member).
    """

    def __init__(self, method: sz.Method, make: Callable[[], Any]):
        self.method, self.make = method, make

    def _get(self, offset: int, default_get_compressobj: Any) -> Any:
        kind, upgrade, _, size, crc = self.method._get(offset, default_get_compressobj)
        return kind, upgrade, self.make, size, crc
