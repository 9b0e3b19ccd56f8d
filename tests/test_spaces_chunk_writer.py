"""Space chunk files written by a thread of their own: order, bounded backlog, errors, cancel."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from audiofetch_app.sources.spaces import chunk_writer
from audiofetch_app.sources.spaces.chunk_writer import ChunkWriter


def _chunk(seq: int) -> bytes:
    return f"chunk {seq} ".encode() * (seq + 1)


async def test_every_chunk_is_reported_in_order_once_its_file_is_whole(tmp_path: Path) -> None:
    reported: list[tuple[int, Path, bytes]] = []

    def saved(seq: int, path: Path, data: bytes) -> None:
        assert path.read_bytes() == data  # in place before anyone hears of it
        reported.append((seq, path, data))

    writer = ChunkWriter(saved)
    writer.start()
    for seq in range(200):
        await writer.put(seq, tmp_path / f"seg{seq:06d}.aac", _chunk(seq))
    await writer.close()
    assert [seq for seq, _, _ in reported] == list(range(200))
    assert all(data == _chunk(seq) for seq, _, data in reported)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"seg{s:06d}.aac" for s in range(200)]


async def test_a_fetch_waits_only_while_the_backlog_is_full(tmp_path: Path, monkeypatch) -> None:
    disk = threading.Event()  # a disk that stalls until the test lets it go on
    save = chunk_writer.save_whole
    monkeypatch.setattr(chunk_writer, "save_whole", lambda p, d: (disk.wait(), save(p, d)))
    reported: list[int] = []
    writer = ChunkWriter(lambda seq, _p, _d: reported.append(seq), max_pending=100)
    writer.start()
    await writer.put(0, tmp_path / "a", b"x" * 60)  # room: handed over at once
    late = asyncio.create_task(writer.put(1, tmp_path / "b", b"y" * 60))
    for _ in range(20):
        await asyncio.sleep(0)
    assert not late.done() and reported == []
    disk.set()
    await late
    await writer.close()
    assert reported == [0, 1]


async def test_a_chunk_bigger_than_the_backlog_still_goes_alone(tmp_path: Path) -> None:
    reported: list[int] = []
    writer = ChunkWriter(lambda seq, _p, _d: reported.append(seq), max_pending=10)
    writer.start()
    for seq in range(3):
        await writer.put(seq, tmp_path / f"{seq}", b"z" * 50)
    await writer.close()
    assert reported == [0, 1, 2]


async def test_a_write_error_stops_the_writer_and_is_raised(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"")
    reported: list[int] = []
    writer = ChunkWriter(lambda seq, _p, _d: reported.append(seq))
    writer.start()
    await writer.put(0, tmp_path / "ok", b"fine")
    await writer.put(1, tmp_path / "file" / "cannot", b"no folder here")
    await writer.put(2, tmp_path / "after", b"never written")  # queued behind the failure
    with pytest.raises(NotADirectoryError):
        await writer.close()
    assert reported == [0]
    assert not (tmp_path / "after").exists()
    with pytest.raises(NotADirectoryError):
        await writer.put(3, tmp_path / "later", b"refused")


async def test_an_error_of_the_listener_is_raised_by_close(tmp_path: Path) -> None:
    def saved(seq: int, _path: Path, _data: bytes) -> None:
        raise ValueError(f"chunk {seq} is wrong")

    writer = ChunkWriter(saved)
    writer.start()
    await writer.put(0, tmp_path / "a", b"data")
    with pytest.raises(ValueError, match="chunk 0"):
        await writer.close()


async def test_a_quiet_close_keeps_what_was_handed_over_and_nothing_comes_after(
        tmp_path: Path) -> None:
    reported: list[int] = []
    writer = ChunkWriter(lambda seq, _p, _d: reported.append(seq))
    writer.start()
    for seq in range(10):
        await writer.put(seq, tmp_path / f"{seq}", _chunk(seq))
    await writer.close(quiet=True)
    assert reported == list(range(10))
    writer._report()  # a late wake-up from the thread changes nothing
    assert reported == list(range(10))
