"""ZIP streaming: archives every reader accepts, safe names, no leftovers, constant memory."""

from __future__ import annotations

import asyncio
import io
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import threading
import traceback
import zipfile
import zlib
from pathlib import Path

import pytest

from audiofetch_app.core import zipstream
from audiofetch_app.core.zip_stored import StoredBlocks
from audiofetch_app.core.zipstream import (
    ZIP32_LIMIT,
    ZipMember,
    ZipStreamError,
    needs_zip64,
    write_zip,
    zip_chunks,
)

ROOT = Path(__file__).resolve().parents[1]
MIB = 1 << 20
GIB4 = 1 << 32


async def pieces(data: bytes, step: int = 10_000):
    for i in range(0, len(data), step):
        await asyncio.sleep(0)
        yield data[i : i + step]


def known(name: str, data: bytes) -> ZipMember:
    return ZipMember(name, lambda: pieces(data), size=len(data), crc32=zlib.crc32(data))


def assert_unzip_accepts(path: Path) -> None:
    if shutil.which("unzip") is None:  # CI installs it; only a bare dev box lacks it
        return
    done = subprocess.run(["unzip", "-tq", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def assert_7z_accepts(path: Path) -> None:
    seven = shutil.which("7z") or shutil.which("7zz")
    if seven is None:  # CI installs Debian's 7zip; only a bare dev box lacks it
        return
    done = subprocess.run([seven, "t", "-bd", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def local_header(data: bytes, offset: int) -> tuple[int, list[int]]:
    """(version needed, ids of the extra fields) of the local file header at `offset`."""
    sig, version, *_, name_len, extra_len = struct.unpack_from("<4sHHHHHIIIHH", data, offset)
    assert sig == b"PK\x03\x04"
    extra = data[offset + 30 + name_len : offset + 30 + name_len + extra_len]
    ids, i = [], 0
    while i < len(extra):
        field_id, size = struct.unpack_from("<HH", extra, i)
        ids.append(field_id)
        i += 4 + size
    return version, ids


def headers(path: Path) -> list[tuple[int, list[int]]]:
    data = path.read_bytes()
    with zipfile.ZipFile(path) as zf:
        return [local_header(data, info.header_offset) for info in zf.infolist()]


async def test_mixed_members_round_trip(tmp_path: Path) -> None:
    rand = os.urandom
    files = {"a.mp3": rand(1_500_001), "empty.mp3": b""}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    streamed = {"c.m4a": rand(250_000), "d.ogg": rand(70_001), "e.opus": rand(1_234_567)}
    members = [
        await ZipMember.from_file(tmp_path / "a.mp3"),
        ZipMember("c.m4a", lambda: pieces(streamed["c.m4a"])),  # factory, unknown size
        await ZipMember.from_file(tmp_path / "empty.mp3"),
        ZipMember("d.ogg", pieces(streamed["d.ogg"], 4096)),  # iterable, unknown size
        known("e.opus", streamed["e.opus"]),
    ]
    progress: list[int] = []
    dest = tmp_path / "out" / "album.zip"
    dest.parent.mkdir()

    written = await write_zip(members, dest, on_progress=progress.append)

    assert written == dest.stat().st_size == progress[-1]
    assert progress == sorted(progress)
    assert not dest.with_name("album.zip.part").exists()
    expected = files | streamed
    with zipfile.ZipFile(dest) as zf:
        assert zf.testzip() is None
        assert zf.namelist() == ["a.mp3", "c.m4a", "empty.mp3", "d.ogg", "e.opus"]
        for info in zf.infolist():
            assert zf.read(info) == expected[info.filename]
            if info.filename in ("a.mp3", "empty.mp3", "e.opus"):
                assert info.compress_type == zipfile.ZIP_STORED
            else:  # size unknown up front: deflate, in stored blocks
                assert info.compress_type == zipfile.ZIP_DEFLATED
    assert_unzip_accepts(dest)
    assert_7z_accepts(dest)


async def test_zip_chunks_streams_small_blocks_from_an_async_member_source() -> None:
    data = [os.urandom(300_000), os.urandom(5)]

    async def members():
        for i, payload in enumerate(data):
            await asyncio.sleep(0)
            yield ZipMember(f"{i}.mp3", pieces(payload))

    blocks = [block async for block in zip_chunks(members())]
    assert max(map(len, blocks)) <= zipstream.HTTP_CHUNK
    with zipfile.ZipFile(io.BytesIO(b"".join(blocks))) as zf:
        assert zf.testzip() is None
        assert [zf.read(n) for n in zf.namelist()] == data


async def test_from_file_measures_size_and_crc(tmp_path: Path) -> None:
    path = tmp_path / "song.flac"
    path.write_bytes(data := os.urandom(3 * MIB + 17))
    member = await ZipMember.from_file(path)
    assert (member.name, member.size, member.crc32) == ("song.flac", len(data), zlib.crc32(data))
    assert b"".join([c async for c in member.open()]) == data
    assert (await ZipMember.from_file(path, "x/y.flac")).name == "x/y.flac"


async def test_member_names_are_sanitised_and_unique(tmp_path: Path) -> None:
    raw = ["../../etc/passwd", "/abs/x.mp3", "C:\\win\\a.mp3", "a/../../b.mp3"]
    raw += ["song.mp3", "song.mp3", "SONG.mp3", "", ""]
    dest = tmp_path / "names.zip"
    await write_zip([known(name, b"x") for name in raw], dest)

    with zipfile.ZipFile(dest) as zf:
        names = zf.namelist()
        assert names == [
            "etc/passwd",
            "abs/x.mp3",
            "C_/win/a.mp3",
            "a/b.mp3",
            "song.mp3",
            "song (2).mp3",
            "SONG (3).mp3",
            "track",
            "track (2)",
        ]
        for name in names:
            assert not name.startswith("/") and "\\" not in name and ":" not in name
            assert ".." not in name.split("/")
        zf.extractall(tmp_path / "x")
    inside = (tmp_path / "x").resolve()
    assert all(p.resolve().is_relative_to(inside) for p in (tmp_path / "x").rglob("*"))
    assert_unzip_accepts(dest)


async def test_failing_member_leaves_neither_part_nor_dest(tmp_path: Path) -> None:
    dest = tmp_path / "broken.zip"
    part = tmp_path / "broken.zip.part"
    seen_part: list[bool] = []

    async def flaky():
        yield os.urandom(MIB)
        yield os.urandom(MIB)
        raise ConnectionError("the server hung up")

    members = [known("ok.mp3", os.urandom(2 * MIB)), ZipMember("flaky.mp3", flaky)]
    with pytest.raises(ConnectionError, match="hung up"):
        await write_zip(members, dest, on_progress=lambda n: seen_part.append(part.exists()))
    assert seen_part and all(seen_part)  # bytes did reach the .part before the failure
    assert not part.exists() and not dest.exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("size", [10, 3 * MIB])
async def test_an_on_progress_error_ends_the_archive_unwritten(tmp_path: Path, size: int) -> None:
    def broken(written: int) -> None:
        raise RuntimeError("the progress bar broke")

    with pytest.raises(RuntimeError, match="progress bar broke"):
        await write_zip([known("a.mp3", os.urandom(size))], tmp_path / "p.zip", on_progress=broken)
    assert list(tmp_path.iterdir()) == []


async def test_checksum_mismatch_becomes_zip_stream_error(tmp_path: Path) -> None:
    data = os.urandom(1000)
    member = ZipMember("bad.mp3", pieces(data), size=len(data), crc32=zlib.crc32(data) ^ 1)
    with pytest.raises(ZipStreamError, match="changed while it was being zipped") as caught:
        await write_zip([known("good.mp3", b"ok"), member], tmp_path / "bad.zip")
    assert str(caught.value).count(".") == 1
    assert list(tmp_path.iterdir()) == []


def stream_zip_threads() -> int:
    """How many threads are inside stream-zip's generator right now."""
    frames = sys._current_frames().values()
    return sum(
        any("stream_zip" in f.f_code.co_filename for f, _ in traceback.walk_stack(frame))
        for frame in frames
    )


@pytest.mark.parametrize("when", ["writing", "reading"])
async def test_cancel_removes_part_and_releases_everything(tmp_path: Path, when: str) -> None:
    dest = tmp_path / "cancelled.zip"
    part = tmp_path / "cancelled.zip.part"
    wrote, stalled, closed = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def stalls():
        try:
            yield os.urandom(3 * MIB)
            stalled.set()
            await asyncio.Event().wait()  # a download that never finishes
            yield b"never"
        finally:
            closed.set()

    task = asyncio.create_task(
        write_zip([ZipMember("slow.mp3", stalls)], dest, on_progress=lambda _: wrote.set())
    )
    await asyncio.wait_for((wrote if when == "writing" else stalled).wait(), 10)
    assert part.exists()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not part.exists() and not dest.exists()
    await asyncio.wait_for(closed.wait(), 5)  # the member's source was closed
    for _ in range(100):  # and stream-zip's executor thread was let go
        if stream_zip_threads() == 0:
            break
        await asyncio.sleep(0.02)
    assert stream_zip_threads() == 0


async def test_first_member_is_32_bit_while_later_ones_go_zip64(tmp_path, monkeypatch) -> None:
    # A real >4 GiB archive is too slow for a unit test: lower the limit instead.
    monkeypatch.setattr(zipstream, "ZIP32_LIMIT", 3 * MIB)
    data = [os.urandom(5 * MIB // 2) for _ in range(3)]
    members = [
        known("1.mp3", data[0]),
        known("2.mp3", data[1]),
        ZipMember("3.mp3", pieces(data[2])),
    ]
    dest = tmp_path / "big.zip"
    await write_zip(members, dest)

    (v1, extras1), (v2, extras2), (v3, extras3) = headers(dest)
    assert v1 == 20 and 0x0001 not in extras1
    assert v2 == 45 and 0x0001 in extras2
    assert v3 == 45 and 0x0001 in extras3
    with zipfile.ZipFile(dest) as zf:
        assert zf.testzip() is None
        assert [zf.read(n) for n in zf.namelist()] == data
    assert_unzip_accepts(dest)
    assert_7z_accepts(dest)


async def test_large_first_member_of_unknown_size_stays_32_bit(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(zipstream, "ZIP32_LIMIT", MIB)
    dest = tmp_path / "first.zip"
    await write_zip([ZipMember("1.mp3", pieces(os.urandom(2 * MIB), MIB))], dest)
    ((version, extras),) = headers(dest)
    assert version == 20 and 0x0001 not in extras


@pytest.mark.parametrize(
    ("size", "offset", "first", "expected"),
    [
        (100, 0, True, False),
        (ZIP32_LIMIT - 1, 0, True, False),
        (ZIP32_LIMIT, 0, True, True),
        (GIB4 - 1, 0, True, True),
        (GIB4 + 1, 0, True, True),
        (None, 0, True, False),
        (None, 2 * GIB4, True, False),  # the first member never is, unless its size says so
        (None, ZIP32_LIMIT - 1, False, False),
        (None, ZIP32_LIMIT, False, True),
        (None, GIB4 + 1, False, True),
        (1000, ZIP32_LIMIT - 1001, False, False),
        (1000, ZIP32_LIMIT - 1000, False, True),  # would end past the limit
        (0, ZIP32_LIMIT, False, True),
        (10 * MIB, 3 * GIB4 // 4, False, False),
    ],
)
def test_needs_zip64_around_the_4_gib_boundary(size, offset, first, expected) -> None:
    assert needs_zip64(size, offset, first=first) is expected


def test_zip64_margin_covers_the_lag_of_the_counted_offset() -> None:
    assert GIB4 - ZIP32_LIMIT == zipstream.ZIP64_MARGIN >= 8 * zipstream.WRITE_SIZE


def _deflated_length(data: bytes) -> int:
    # Members of unknown size go out as deflate stored blocks, full but for the last, each
    # after 5 bytes of header, however the member's bytes came in.
    return len(data) + 5 * (len(data) // 0xFFFF + 1)


@pytest.mark.parametrize("first_known", [True, False])
async def test_header_ending_on_a_block_boundary_is_not_lost(first_known: bool) -> None:
    # stream-zip 0.0.84 drops the rest of the archive when a local header ends exactly on a
    # block boundary (uktrade/stream-zip#189); zip_chunks must see it coming and dodge it.
    block, step, header = 4096, 1000, 30 + 9 + len("b.mp3")
    if first_known:
        first_data = os.urandom(3 * block - header)
        first = known("a.mp3", first_data)
    else:
        sizes = range(2 * block, 4 * block)
        descriptor = 16
        first_data = next(
            data
            for n in sizes
            if (_deflated_length(data := bytes(n)) + descriptor + header) % block == 0
        )
        first = ZipMember("a.mp3", pieces(first_data, step))
    second = b"second member"
    blocks = [b async for b in zip_chunks([first, known("b.mp3", second)], block_size=block)]
    archive = b"".join(blocks)
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        assert zf.testzip() is None
        assert [zf.read("a.mp3"), zf.read("b.mp3")] == [first_data, second]
        offsets = [info.header_offset for info in zf.infolist()]
    assert local_header(archive, offsets[0])[0] == 20
    assert local_header(archive, offsets[1])[0] == 45  # the dodge: a zip64 extra field


@pytest.mark.parametrize("block", [4096, zipstream.HTTP_CHUNK, zipstream.WRITE_SIZE])
def test_stored_blocks_inflate_to_the_input_and_come_in_whole_blocks(block: int) -> None:
    rng = random.Random(block)
    sizes = [0, 1, 65_535, 65_536, 3 * 65_535 + 7, block, block - 1, 2 * block + 3, 1_000_000]
    chunks = [rng.randbytes(n) for n in sizes + [rng.randrange(200_000) for _ in range(20)]]
    made: list[int] = []
    stored = StoredBlocks(block, made.append)
    outputs = [stored.compress(c) for c in chunks]
    assert all(len(out) % block == 0 for out in outputs)  # stream-zip passes them on as they are
    stream = b"".join(outputs) + stored.flush()
    assert sum(made) == len(stream)
    inflate = zlib.decompressobj(-zlib.MAX_WBITS)
    assert inflate.decompress(stream) == b"".join(chunks)
    assert inflate.eof and not inflate.unused_data
    total = sum(map(len, chunks))
    assert len(stream) == total + 5 * (total // 0xFFFF + 1)
    assert StoredBlocks(block, made.append).flush() == b"\x01\x00\x00\xff\xff"  # empty member


async def test_next_member_is_asked_for_only_once_the_last_ones_bytes_are_read(tmp_path) -> None:
    # As page downloads do it: each finished track's file is deleted when the next is asked for.
    paths = []
    for i, size in enumerate([3 * MIB + 5, 0, 17, 12 * MIB + 1, 2 * MIB]):
        paths.append(tmp_path / f"{i}.mp3")
        paths[-1].write_bytes(random.Random(i).randbytes(size))
    data = [p.read_bytes() for p in paths]

    def open_here(path: Path) -> bool:  # Windows cannot delete a file that is open
        fds = Path("/proc/self/fd")
        return fds.is_dir() and any(
            os.path.realpath(fd) == str(path.resolve()) for fd in fds.iterdir()
        )

    async def members():
        previous = None
        for path in paths:
            if previous is not None:
                assert not open_here(previous)
                previous.unlink()
            previous = path
            yield await ZipMember.from_file(path)
        assert not open_here(previous)
        previous.unlink()

    dest = tmp_path / "out.zip"
    await write_zip(members(), dest)
    with zipfile.ZipFile(dest) as zf:
        assert zf.testzip() is None
        assert [zf.read(n) for n in zf.namelist()] == data
    assert not any(p.exists() for p in paths)


@pytest.mark.parametrize("how", ["write_zip", "zip_chunks"])
async def test_bytes_go_out_while_later_members_are_still_coming(tmp_path, how: str) -> None:
    first = os.urandom(3 * MIB)
    out_started, second_sent = asyncio.Event(), False

    async def members():
        nonlocal second_sent
        yield known("1.mp3", first)
        await asyncio.wait_for(out_started.wait(), 10)  # the first track is on its way out
        second_sent = True
        yield ZipMember("2.mp3", pieces(b"late"))

    dest = tmp_path / "late.zip"
    if how == "write_zip":
        await write_zip(members(), dest, on_progress=lambda n: n and out_started.set())
        archive = dest.read_bytes()
    else:
        blocks = []
        async for block in zip_chunks(members()):
            blocks.append(block)
            out_started.set()
        archive = b"".join(blocks)
    assert second_sent
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        assert [zf.read("1.mp3"), zf.read("2.mp3")] == [first, b"late"]


async def test_many_archives_at_once_finish(tmp_path: Path) -> None:
    # More archives than the default executor has threads: none may wait on another's.
    files = []
    for i in range(3):
        files.append(tmp_path / f"{i}.mp3")
        files[-1].write_bytes(os.urandom(2 * MIB + i))

    async def members():
        for path in files:
            yield await ZipMember.from_file(path)

    async def streamed(n: int) -> bytes:
        return b"".join([b async for b in zip_chunks(members(), block_size=4096 * (n + 1))])

    written = [write_zip(members(), tmp_path / f"w{n}.zip") for n in range(12)]
    results = await asyncio.wait_for(
        asyncio.gather(*written, *(streamed(n) for n in range(12))), 60
    )
    for archive in [tmp_path / f"w{n}.zip" for n in range(12)] + results[12:]:
        source = archive if isinstance(archive, Path) else io.BytesIO(archive)
        with zipfile.ZipFile(source) as zf:
            assert zf.testzip() is None
            assert [zf.read(p.name) for p in files] == [p.read_bytes() for p in files]


async def test_a_consumer_that_stops_early_leaves_no_threads_or_open_sources() -> None:
    closed = asyncio.Event()

    async def endless():
        try:
            while True:
                await asyncio.sleep(0)
                yield os.urandom(256 * 1024)
        finally:
            closed.set()

    blocks = zip_chunks([ZipMember("endless.mp3", endless)])
    async for _ in blocks:
        break
    await blocks.aclose()
    await asyncio.wait_for(closed.wait(), 5)
    for _ in range(100):
        if not zip_threads():
            break
        await asyncio.sleep(0.02)
    assert zip_threads() == []


def zip_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("zip-")]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("source", "members", "size_mb"),
    [("memory", 4, 1100), ("files", 200, 1000)],  # the second is the case: 200 tracks
)
def test_bench_writes_1_gb_in_constant_memory(tmp_path: Path, source, members, size_mb) -> None:
    cmd = [sys.executable, "bench/zip_memory.py", "--size-mb", str(size_mb), "--json"]
    cmd += ["--source", source, "--members", str(members), "--runs", "1"]
    cmd += ["--out", str(tmp_path), "--keep"]
    try:
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        ours = report["ours"]
        archive = Path(ours["path"])
        assert archive.stat().st_size == ours["bytes"] >= 1_000_000_000
        assert ours["zipfile_ok"] is True  # the layout matches and testzip() found no bad CRC
        assert ours["unzip_ok"] is not False and ours["sevenzip_ok"] is not False, ours
        with zipfile.ZipFile(archive) as zf:
            assert len(zf.infolist()) == members
            assert sum(i.file_size for i in zf.infolist()) >= size_mb * MIB
        assert_unzip_accepts(archive)
        assert_7z_accepts(archive)
        assert ours["peak_rss_mb"] < 60, ours  # the bound
        assert report["peer"]["seconds"] > 0 and report["ratio"] > 0
    finally:
        for path in tmp_path.glob("*.zip"):
            path.unlink()
