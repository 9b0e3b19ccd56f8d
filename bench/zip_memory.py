"""Speed and peak memory of core.zipstream.write_zip, against stdlib zipfile on the same members.

    python bench/zip_memory.py                  # the three standard cases, each variant twice
    python bench/zip_memory.py --source files --members 200 --size-mb 1000 --runs 3
    python bench/zip_memory.py --size-mb 1100 --json --out DIR --keep

Cases (all three by default; naming any of --source/--members/--size-mb runs just that one):
  files, 200 tracks, 1000 MiB   the issue's case: finished tracks on disk. Ours is an async
                                generator of ZipMember.from_file (size and CRC-32 read first,
                                counted in our time) fed to write_zip; zipfile stores each file
                                with 1 MiB copies and patches its CRC-32 into the header after.
  memory, 200 tracks, 1000 MiB  tracks made in memory and handed over one by one, half of unknown
  memory, 4 tracks, 1100 MiB    size (as streamed from the network), half with size and CRC-32
                                known (that CRC counted in our time: the peer needs none).
Each run of a variant is its own subprocess, so its peak RSS (VmHWM) is its own; the variants
alternate, each runs --runs times; the table shows the best time and the spread (slowest over
fastest). Every archive ours writes is checked with zipfile.testzip(), `unzip -t` and `7z t`.
The exit code is 1 if any check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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
LABELS = {"ours": "write_zip", "peer": "zipfile"}
STANDARD_CASES = (("files", 200, 1000), ("memory", 200, 1000), ("memory", 4, 1100))
TARGET_RATIO, TARGET_RSS_MB = 1.3, 60
_BLOCKS: list[bytes] = []


def plan(size_mb: int, members: int) -> list[tuple[str, int, bool]]:
    """(name, size, size known in advance) for each member; sizes are deliberately uneven."""
    base = -(-(size_mb * MIB - 4099 * members * (members - 1) // 2) // members)  # total >= size
    return [(f"track {i + 1:03d}.mp3", base + 4099 * i, i % 2 == 0) for i in range(members)]


def blocks(index: int, size: int) -> Iterator[bytes]:
    """The bytes of member `index` in 1 MiB blocks: incompressible, and free to make.

    Four distinct blocks made once serve every member (members of the same block still differ
    in size, so in CRC-32), so that neither variant pays for making data as it goes.
    """
    if not _BLOCKS:
        base = random.Random(0).randbytes(MIB)
        _BLOCKS.extend(base[turn:] + base[:turn] for turn in (0, 7919, 65537, 524309))
    block = _BLOCKS[index % len(_BLOCKS)]
    full, rest = divmod(size, MIB)
    for _ in range(full):
        yield block
    if rest:
        yield block[:rest]


def peak_rss_mb() -> float:
    # VmHWM belongs to this process's own memory map; ru_maxrss would carry the parent's
    # high-water mark over fork and exec.
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / MIB if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB elsewhere


def make_files(members: list[tuple[str, int, bool]], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, (name, size, _) in enumerate(members):
        path = folder / name
        with path.open("wb") as fh:
            fh.writelines(blocks(index, size))
        paths.append(path)
    return paths


async def write_ours(
    source: str, members: list[tuple[str, int, bool]], tracks: Path, archive: Path
) -> int:
    from audiofetch_app.core.zipstream import ZipMember, write_zip

    if source == "files":  # as the app zips finished tracks: measured as each one comes up

        async def from_files() -> AsyncIterator[ZipMember]:
            for name, _, _ in members:
                yield await ZipMember.from_file(tracks / name)

        return await write_zip(from_files(), archive)

    def chunks(index: int, size: int):
        async def gen() -> AsyncIterator[bytes]:
            for block in blocks(index, size):
                yield block

        return gen

    def crc32(index: int, size: int) -> int:
        crc = 0
        for block in blocks(index, size):
            crc = zlib.crc32(block, crc)
        return crc

    async def streamed() -> AsyncIterator[ZipMember]:  # as tracks come, like the app's
        for index, (name, size, known) in enumerate(members):
            # Counted in our time, measured as from_file does: the peer needs no CRC up front.
            crc = await asyncio.to_thread(crc32, index, size) if known else None
            yield ZipMember(name, chunks(index, size), size if known else None, crc)

    return await write_zip(streamed(), archive)


def write_peer(
    source: str, members: list[tuple[str, int, bool]], tracks: Path, archive: Path
) -> int:
    with archive.open("wb") as fh:
        with zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED) as zf:
            for index, (name, size, known) in enumerate(members):
                if source == "files":
                    info = zipfile.ZipInfo.from_file(tracks / name, name)
                    with (tracks / name).open("rb") as src, zf.open(info, "w") as dst:
                        shutil.copyfileobj(src, dst, MIB)  # zf.write() would copy 8 KiB at a time
                    continue
                info = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
                info.file_size = size if known else 0
                # zipfile needs force_zip64 up front for any entry that might outgrow 2 GiB.
                with zf.open(info, "w", force_zip64=not known or size > 0x7FFFFFFF) as dst:
                    for block in blocks(index, size):
                        dst.write(block)
        fh.flush()
        os.fsync(fh.fileno())  # write_zip fsyncs before its rename; so does the peer
    return archive.stat().st_size


def run_variant(args: argparse.Namespace) -> dict:
    members = plan(args.size_mb, args.members)
    if args.variant == "ours":  # imported untimed, as zipfile is
        sys.path.insert(0, str(ROOT))
        import audiofetch_app.core.zipstream  # noqa: F401
    start = time.perf_counter()
    if args.variant == "ours":
        size = asyncio.run(write_ours(args.source, members, args.tracks, args.archive))
    else:
        size = write_peer(args.source, members, args.tracks, args.archive)
    seconds = time.perf_counter() - start
    return {"bytes": size, "seconds": seconds, "peak_rss_mb": peak_rss_mb()}


def sevenzip() -> str | None:
    return shutil.which("7z") or shutil.which("7zz")


def validate(archive: Path, members: list[tuple[str, int, bool]], full: bool) -> dict:
    with zipfile.ZipFile(archive) as zf:
        layout = [(i.filename, i.file_size) for i in zf.infolist()]
        zipfile_ok = layout == [(name, size) for name, size, _ in members]
        if full:
            zipfile_ok = zipfile_ok and zf.testzip() is None
    unzip_ok = sevenzip_ok = None
    if full and shutil.which("unzip"):
        tested = subprocess.run(["unzip", "-tqq", str(archive)], capture_output=True)
        unzip_ok = tested.returncode == 0
    if full and (seven := sevenzip()):
        tested = subprocess.run([seven, "t", "-bd", str(archive)], capture_output=True)
        sevenzip_ok = tested.returncode == 0
    return {"zipfile_ok": zipfile_ok, "unzip_ok": unzip_ok, "sevenzip_ok": sevenzip_ok}


def child(variant: str, case: tuple[str, int, int], archive: Path, tracks: Path) -> dict:
    source, members, size_mb = case
    cmd = [sys.executable, __file__, "--variant", variant, "--source", source]
    cmd += ["--members", str(members), "--size-mb", str(size_mb)]
    cmd += ["--archive", str(archive), "--tracks", str(tracks)]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"{variant} failed:\n{done.stderr}")
    return json.loads(done.stdout)


def run_case(case: tuple[str, int, int], runs: int, out: Path, keep: bool) -> dict:
    source, count, size_mb = case
    members = plan(size_mb, count)
    tracks = out / "tracks"
    if source == "files":
        make_files(members, tracks)
    results: dict = {"source": source, "members": count, "size_mb": size_mb, "runs": runs}
    seen: dict[str, list[dict]] = {variant: [] for variant in VARIANTS}
    try:
        for run in range(runs):
            for variant in VARIANTS:
                archive = out / f"bench-{variant}.zip"
                result = child(variant, case, archive, tracks)
                result |= validate(archive, members, full=variant == "ours")
                result["path"] = str(archive)
                seen[variant].append(result)
                if not (keep and run == runs - 1):  # else the next run pays for page cache
                    archive.unlink()
    finally:
        shutil.rmtree(tracks, ignore_errors=True)
    for variant, done in seen.items():
        times = [r["seconds"] for r in done]
        best = min(done, key=lambda r: r["seconds"])
        results[variant] = {
            "bytes": best["bytes"],
            "seconds": best["seconds"],
            "seconds_all": times,
            "mib_per_s": best["bytes"] / MIB / best["seconds"],
            "spread": max(times) / min(times) - 1,
            "peak_rss_mb": max(r["peak_rss_mb"] for r in done),
            "path": best["path"],
        } | {
            check: None if any(r[check] is None for r in done) else all(r[check] for r in done)
            for check in ("zipfile_ok", "unzip_ok", "sevenzip_ok")
        }
    results["ratio"] = results["ours"]["seconds"] / results["peer"]["seconds"]
    return results


def describe(case: dict) -> str:
    what = "files on disk" if case["source"] == "files" else "made in memory, half of unknown size"
    return f"{case['members']} tracks {what}, {case['size_mb']} MiB, best of {case['runs']} runs"


def print_case(case: dict) -> None:
    print(describe(case))
    head = ("variant", "archive MiB", "best s", "MiB/s", "spread", "peak RSS MiB")
    print("{:<12}{:>12}{:>9}{:>8}{:>8}{:>14}  checks".format(*head))
    for variant in VARIANTS:
        r = case[variant]
        if variant == "peer":
            checks = "layout" if r["zipfile_ok"] else "NO"
        else:
            names = {"zipfile_ok": "zipfile", "unzip_ok": "unzip -t", "sevenzip_ok": "7z t"}
            checks = ", ".join(
                f"{label} {'ok' if r[key] else 'FAILED' if r[key] is False else 'missing'}"
                for key, label in names.items()
            )
        print(
            f"{LABELS[variant]:<12}{r['bytes'] / MIB:>12.1f}{r['seconds']:>9.2f}"
            f"{r['mib_per_s']:>8.0f}{r['spread']:>8.0%}{r['peak_rss_mb']:>14.1f}  {checks}"
        )
    met = case["ratio"] <= TARGET_RATIO and case["ours"]["peak_rss_mb"] < TARGET_RSS_MB
    print(
        f"time write_zip/zipfile: {case['ratio']:.2f}x  (target <= {TARGET_RATIO}x, peak RSS "
        f"< {TARGET_RSS_MB} MiB: {'met' if met else 'MISSED'})\n"
    )


def all_valid(case: dict) -> bool:
    ours = case["ours"]
    return (
        case["peer"]["zipfile_ok"]
        and all(ours[check] is not False for check in ("zipfile_ok", "unzip_ok", "sevenzip_ok"))
        and ours["zipfile_ok"] is True
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", choices=("files", "memory"))
    parser.add_argument("--size-mb", type=int, help="total member bytes, in MiB")
    parser.add_argument("--members", type=int)
    parser.add_argument("--runs", type=int, default=2, help="runs of each variant (default 2)")
    parser.add_argument("--out", type=Path, help="folder for the archives (default: a temp dir)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--keep", action="store_true", help="keep the last run's archives")
    parser.add_argument("--variant", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--archive", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--tracks", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.variant:  # a child, measuring one variant
        print(json.dumps(run_variant(args)))
        return 0

    if args.source is None and args.size_mb is None and args.members is None:
        cases = list(STANDARD_CASES)
    else:
        cases = [(args.source or "memory", args.members or 4, args.size_mb or 1100)]
    out = args.out or Path(tempfile.mkdtemp(prefix="zip-bench-"))
    out.mkdir(parents=True, exist_ok=True)
    try:
        results = [run_case(case, max(1, args.runs), out, args.keep) for case in cases]
    finally:
        if args.out is None and not args.keep:
            shutil.rmtree(out, ignore_errors=True)
    ok = all(map(all_valid, results))

    if args.json:
        print(json.dumps(results[0] if len(results) == 1 else {"cases": results}))
    else:
        for case in results:
            print_case(case)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
