"""Peak memory and speed of core.zipstream.write_zip, against stdlib zipfile with the same members.

    python bench/zip_memory.py [--size-mb 1100] [--members 4] [--out DIR] [--json] [--keep]

Members are made on the fly from one random 1 MiB block each (incompressible, free to
produce); half have a known size and CRC-32, half do not. Each variant runs in its own
subprocess so that its peak RSS is its own; the archive written by ours is then checked with
zipfile.testzip() and `unzip -t`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MIB = 1 << 20
VARIANTS = ("ours", "peer")


def plan(size_mb: int, members: int) -> list[tuple[str, int, bool]]:
    """(name, size, size known in advance) for each member; sizes are deliberately uneven."""
    base = size_mb * MIB // members
    return [(f"track {i + 1:02d}.mp3", base + 4099 * i, i % 2 == 0) for i in range(members)]


def blocks(index: int, size: int) -> Iterator[bytes]:
    block = random.Random(index).randbytes(MIB)
    full, rest = divmod(size, MIB)
    for _ in range(full):
        yield block
    if rest:
        yield block[:rest]


def peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / MIB if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB elsewhere


async def write_ours(members: list[tuple[str, int, bool]], archive: Path) -> int:
    sys.path.insert(0, str(ROOT))
    from audiofetch_app.core.zipstream import ZipMember, write_zip

    def source(index: int, size: int):
        async def chunks() -> AsyncIterator[bytes]:
            for block in blocks(index, size):
                yield block

        return chunks

    items = []
    for index, (name, size, known) in enumerate(members):
        crc = None
        if known:  # counted in our time: the peer needs no CRC up front
            crc = 0
            for block in blocks(index, size):
                crc = zlib.crc32(block, crc)
        items.append(ZipMember(name, source(index, size), size if known else None, crc))
    return await write_zip(items, archive)


def write_peer(members: list[tuple[str, int, bool]], archive: Path) -> int:
    with archive.open("wb") as fh:
        with zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED) as zf:
            for index, (name, size, known) in enumerate(members):
                info = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
                info.file_size = size if known else 0
                # zipfile needs force_zip64 up front for any entry that might outgrow 2 GiB.
                with zf.open(info, "w", force_zip64=not known or size > 0x7FFFFFFF) as dst:
                    for block in blocks(index, size):
                        dst.write(block)
        fh.flush()
        os.fsync(fh.fileno())  # write_zip fsyncs before its rename; so does the peer
    return archive.stat().st_size


def run_variant(variant: str, members: list[tuple[str, int, bool]], archive: Path) -> dict:
    start = time.perf_counter()
    if variant == "ours":
        size = asyncio.run(write_ours(members, archive))
    else:
        size = write_peer(members, archive)
    seconds = time.perf_counter() - start
    return {"bytes": size, "seconds": seconds, "peak_rss_mb": peak_rss_mb()}


def validate(archive: Path, members: list[tuple[str, int, bool]], full: bool) -> dict:
    with zipfile.ZipFile(archive) as zf:
        layout = [(i.filename, i.file_size) for i in zf.infolist()]
        zipfile_ok = layout == [(name, size) for name, size, _ in members]
        if full:
            zipfile_ok = zipfile_ok and zf.testzip() is None
    unzip_ok = None
    if full and shutil.which("unzip"):
        tested = subprocess.run(["unzip", "-tqq", str(archive)], capture_output=True)
        unzip_ok = tested.returncode == 0
    return {"zipfile_ok": zipfile_ok, "unzip_ok": unzip_ok}


def child(variant: str, args: argparse.Namespace, archive: Path) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--variant",
        variant,
        "--size-mb",
        str(args.size_mb),
        "--members",
        str(args.members),
        "--archive",
        str(archive),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"{variant} failed:\n{done.stderr}")
    return json.loads(done.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1100, help="total member bytes, in MiB")
    parser.add_argument("--members", type=int, default=4)
    parser.add_argument("--out", type=Path, help="folder for the archives (default: a temp dir)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--keep", action="store_true", help="keep the archives")
    parser.add_argument("--variant", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--archive", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    members = plan(args.size_mb, args.members)

    if args.variant:  # a child, measuring one variant
        print(json.dumps(run_variant(args.variant, members, args.archive)))
        return 0

    out = args.out or Path(tempfile.mkdtemp(prefix="zip-bench-"))
    out.mkdir(parents=True, exist_ok=True)
    results: dict = {"size_mb": args.size_mb, "members": args.members}
    try:
        for variant in VARIANTS:
            archive = out / f"bench-{variant}.zip"
            result = child(variant, args, archive)
            result["mib_per_s"] = result["bytes"] / MIB / result["seconds"]
            result |= validate(archive, members, full=variant == "ours")
            result["path"] = str(archive)
            results[variant] = result
            if not args.keep:  # else the next variant pays for fresh page-cache memory
                archive.unlink()
    finally:
        if not args.keep:
            for variant in VARIANTS:
                (out / f"bench-{variant}.zip").unlink(missing_ok=True)
            if args.out is None:
                shutil.rmtree(out, ignore_errors=True)
    results["ratio"] = results["ours"]["seconds"] / results["peer"]["seconds"]

    if args.json:
        print(json.dumps(results))
        return 0
    print(f"{args.members} members, {args.size_mb} MiB, half of unknown size")
    head = ("variant", "archive MiB", "seconds", "MiB/s", "peak RSS MiB")
    print("{:<16}{:>12}{:>9}{:>9}{:>14}  valid".format(*head))
    for variant, label in (("ours", "write_zip"), ("peer", "zipfile")):
        r = results[variant]
        valid = (
            "zipfile+unzip"
            if r["zipfile_ok"] and r["unzip_ok"]
            else ("zipfile" if r["zipfile_ok"] else "NO")
        )
        print(
            f"{label:<16}{r['bytes'] / MIB:>12.1f}{r['seconds']:>9.2f}{r['mib_per_s']:>9.0f}"
            f"{r['peak_rss_mb']:>14.1f}  {valid}"
        )
    print(f"time ours/peer: {results['ratio']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
