"""Page audio: one page with 40 <audio> tracks, AudioFetch at 1-20 workers against yt-dlp.

    python bench/page.py [--tracks 40] [--size-mb 3] [--latency 0.05] [--bandwidth 1048576]
                         [--workers-list 1,5,10,20] [--skip-ytdlp] [--timeout S] [--keep] [--json]

One real MP3 (a tone, 128 kbps, made with the bundled FFmpeg, ~size-mb MiB) is served under
`--tracks` URLs by tests.fakes.http_server.FakeServer in its own process (this file with
--serve, a fresh one per tool run): `latency` before every answer, bodies paced to
`bandwidth` bytes/s per connection (chunk_size pieces with chunk_delay between), Range and
HEAD supported. Every tool runs as its own process tree, one at a time:
- AudioFetch: `python -m audiofetch_app page <page> -o DIR --workers N` (ZIP, the default)
  for each N of --workers-list, and `--workers 10 --no-zip` (folder).
- yt-dlp (defaults, .part files): its generic extractor makes a playlist of the <audio>
  tags and downloads the entries one after another (-N only splits one file's fragments).
Peak RSS, tree MB and the process measuring are bench/spaces.py's (`measure`).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))


def _sibling(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


_spaces = _sibling("spaces")  # import-clean: constants and functions only
measure, base_env, ensure_ytdlp, TIME = (_spaces.measure, _spaces.base_env, _spaces.ensure_ytdlp,
                                         _spaces.TIME)
BITRATE = 128_000
FOLDER_WORKERS = 10
PAGE_PATH = "/book/"


# -- the site, in its own process -----------------------------------------------------------

def make_mp3(path: Path, size_bytes: int, ffmpeg: str) -> None:
    """A real CBR MP3 of about `size_bytes` (a 440 Hz tone): tagging and decoding work on it."""
    seconds = size_bytes * 8 / BITRATE
    subprocess.run([ffmpeg, "-hide_banner", "-nostdin", "-y", "-v", "error", "-f", "lavfi",
                    "-i", f"sine=frequency=440:sample_rate=44100:duration={seconds:.3f}",
                    "-ac", "2", "-c:a", "libmp3lame", "-b:a", f"{BITRATE // 1000}k", str(path)],
                   check=True)


def page_html(tracks: int) -> str:
    items = "\n".join(f'<li><h2>Chapter {n}</h2>\n<audio controls preload="none" '
                      f'src="/audio/chapter-{n:02d}.mp3"></audio></li>'
                      for n in range(1, tracks + 1))
    return ("<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Bench Audiobook"
            f"</title></head>\n<body><h1>Bench Audiobook</h1>\n<ol>\n{items}\n</ol></body></html>")


def piece_size(bandwidth: int) -> int:
    """Bytes sent between two pauses: at least 16 paced pieces a second, at most 64 KiB."""
    return max(4096, min(64 * 1024, bandwidth // 16))


def serve(mp3: Path, tracks: int, latency: float, bandwidth: int) -> None:
    """Serve the page and the tracks, print the URLs as one JSON line, serve until stdin closes."""
    from tests.fakes.http_server import FakeServer

    body = mp3.read_bytes()
    chunk = piece_size(bandwidth)
    fake = FakeServer()
    fake.add(PAGE_PATH, page_html(tracks), content_type="text/html; charset=utf-8",
             latency=latency)
    fake.add("/audio/", body, content_type="audio/mpeg", latency=latency, prefix=True,
             chunk_size=chunk, chunk_delay=chunk / bandwidth)
    print(json.dumps({"url": fake.url, "page_url": fake.url_for(PAGE_PATH),
                      "bytes": len(body)}), flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        sys.stdin.read()
    finally:
        fake.stop()


def site(mp3: Path, args: argparse.Namespace, log_path: Path):
    """Start the site in its own process; yield what its --serve mode printed."""
    return _spaces.served_process(
        ["--mp3", str(mp3), "--tracks", str(args.tracks), "--latency", str(args.latency),
         "--bandwidth", str(args.bandwidth)], log_path, "the site",
        script=Path(__file__).resolve())


# -- the runs ---------------------------------------------------------------------------------

@dataclass
class Run:
    tool: str
    workers: int | None
    output_kind: str  # "zip", "folder" or "files"
    wall_s: float = 0.0
    peak_rss_mb: float = 0.0
    tree_rss_mb: float = 0.0
    exit_code: int | None = None
    output: str | None = None
    bytes: int = 0
    check: str = "not run"
    details: list[str] = field(default_factory=list)
    speedup: float | None = None  # 1-worker AudioFetch wall time / this wall time
    vs_af10: float | None = None  # this wall time / AudioFetch 10 workers (ZIP) wall time
    log: str = ""

    @property
    def label(self) -> str:
        return f"{self.tool} {self.output_kind}" if self.workers is None else \
            f"{self.tool} -w {self.workers} {self.output_kind}"


def run_audiofetch(page: dict, workers: int, as_zip: bool, args, work: Path) -> Run:
    run = Run("AudioFetch", workers, "zip" if as_zip else "folder")
    tag = f"af-{workers}-{run.output_kind}"
    out_dir, home = work / f"{tag}-out", work / f"{tag}-home"
    out_dir.mkdir()
    home.mkdir()
    cmd = [sys.executable, "-m", "audiofetch_app", "page", page["page_url"], "-o", str(out_dir),
           "--workers", str(workers), *([] if as_zip else ["--no-zip"])]
    run.log = str(work / f"{tag}.log")
    run.exit_code, run.wall_s, run.peak_rss_mb, run.tree_rss_mb, stdout = measure(
        cmd, env=base_env() | {"AUDIOFETCH_HOME": str(home)}, log=Path(run.log),
        timeout=args.timeout)
    lines = stdout.strip().splitlines()
    run.output = lines[-1].strip() if run.exit_code == 0 and lines else None
    return run


def run_ytdlp(page: dict, args, work: Path) -> Run:
    run = Run("yt-dlp", None, "files")
    out_dir = work / "ytdlp-out"
    out_dir.mkdir()
    cmd = [sys.executable, "-m", "yt_dlp", "--ignore-config", "--no-cache-dir", "--no-mtime",
           "--newline", "--no-progress", "-o", str(out_dir / "%(title)s [%(id)s].%(ext)s"),
           page["page_url"]]
    run.log = str(work / "ytdlp.log")
    run.exit_code, run.wall_s, run.peak_rss_mb, run.tree_rss_mb, _ = measure(
        cmd, env=base_env(), log=Path(run.log), timeout=args.timeout)
    run.output = str(out_dir) if run.exit_code == 0 else None
    return run


# -- checking an output ---------------------------------------------------------------------

def decode_errors(path: Path, ffmpeg: str) -> str | None:
    """None when FFmpeg decodes `path` without a word, else the first complaint."""
    done = subprocess.run([ffmpeg, "-hide_banner", "-nostdin", "-v", "error", "-i", str(path),
                           "-f", "null", "-"], capture_output=True, text=True)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    if lines or done.returncode:
        return lines[0][:120] if lines else f"decoder exit code {done.returncode}"
    return None


def missing_tags(path: Path, ffmpeg: str) -> list[str]:
    """Which of the tags AudioFetch writes (title, album, track) `path` lacks."""
    done = subprocess.run([ffmpeg, "-hide_banner", "-nostdin", "-v", "error", "-i", str(path),
                           "-f", "ffmetadata", "-"], capture_output=True, text=True)
    keys = {line.split("=", 1)[0].lower() for line in done.stdout.splitlines() if "=" in line}
    return [key for key in ("title", "album", "track") if key not in keys]


def check_sizes(run: Run, sizes: dict[str, int], source: int, args, exact: bool) -> None:
    if len(sizes) != args.tracks:
        run.details.append(f"{len(sizes)} tracks, expected {args.tracks}")
    # Retagging (FFmpeg stream copy) changes the ID3 and Xing frames: a few hundred bytes.
    off = [n for n, s in sizes.items() if s != source and (exact or abs(s - source) > 16384)]
    if off:
        run.details.append(f"{len(off)} tracks of the wrong size (first: {off[0]}: "
                           f"{sizes[off[0]]} bytes, source {source})")


def check_output(run: Run, source: int, args, ffmpeg: str, work: Path) -> None:
    if run.exit_code != 0 or not run.output or not Path(run.output).exists():
        run.check = "timed out" if run.exit_code == -9 else "failed"
        log = Path(run.log)
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] if log.exists() else []
        run.details.append(f"exit code {run.exit_code}" + (f": {tail[0][:200]}" if tail else ""))
        return
    out = Path(run.output)
    if run.output_kind == "zip":
        run.bytes = out.stat().st_size
        try:
            with zipfile.ZipFile(out) as archive:
                sizes = {i.filename: i.file_size for i in archive.infolist()}
                if (bad := archive.testzip()) is not None:
                    run.details.append(f"CRC error in {bad}")
                names = sorted(sizes)
                samples = []
                for name in {names[0], names[-1]} if names else ():
                    samples.append(Path(archive.extract(name, work / "zip-samples")))
        except zipfile.BadZipFile as exc:
            run.details.append(f"not a ZIP: {exc}")
            run.check = "damaged"
            return
    else:
        files = [p for p in out.iterdir() if p.is_file() and not p.name.startswith(".")]
        if parts := [p.name for p in files if p.suffix in (".part", ".ytdl")]:
            run.details.append(f"{len(parts)} partial files left (first: {parts[0]})")
        sizes = {p.name: p.stat().st_size for p in files if p.suffix == ".mp3"}
        run.bytes = sum(p.stat().st_size for p in files)
        names = sorted(sizes)
        samples = [out / n for n in {names[0], names[-1]}] if names else []
    check_sizes(run, sizes, source, args, exact=run.tool == "yt-dlp")
    for sample in samples:
        if error := decode_errors(sample, ffmpeg):
            run.details.append(f"{sample.name} does not decode cleanly: {error}")
        if run.tool == "AudioFetch" and (missing := missing_tags(sample, ffmpeg)):
            run.details.append(f"{sample.name} has no {', '.join(missing)} tag")
    shutil.rmtree(work / "zip-samples", ignore_errors=True)
    run.check = "damaged" if run.details else "ok"


# -- the benchmark ----------------------------------------------------------------------------

def benchmark(args: argparse.Namespace) -> dict:
    from audiofetch_app.core.ffmpeg import find_ffmpeg

    ffmpeg = find_ffmpeg()
    if not args.skip_ytdlp:
        ensure_ytdlp()
    work = Path(tempfile.mkdtemp(prefix="audiofetch-bench-page-"))
    mp3 = work / "source.mp3"
    make_mp3(mp3, round(args.size_mb * 2**20), ffmpeg)
    source = mp3.stat().st_size
    plan: list[tuple[str, int, bool]] = [("AudioFetch", w, True) for w in args.workers_list]
    plan.append(("AudioFetch", FOLDER_WORKERS, False))
    if not args.skip_ytdlp:
        plan.append(("yt-dlp", 0, False))
    runs: list[Run] = []
    try:
        for n, (tool, workers, as_zip) in enumerate(plan):
            with site(mp3, args, work / f"server-{n}.log") as page:
                run = run_audiofetch(page, workers, as_zip, args, work) \
                    if tool == "AudioFetch" else run_ytdlp(page, args, work)
            print(f"  {run.label:<26} {run.wall_s:8.2f} s (exit {run.exit_code})",
                  file=sys.stderr, flush=True)
            check_output(run, source, args, ffmpeg, work)
            runs.append(run)
            if run.output and not args.keep:  # 120+ MB per run: keep the temp folder small
                target = Path(run.output)
                shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
    finally:
        if args.keep:
            print(f"kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    one = _find(runs, 1, "zip")
    af10 = _find(runs, 10, "zip")
    for run in runs:  # a failed run has no meaningful speed
        if run.exit_code == 0:
            run.speedup = one.wall_s / run.wall_s if one and one.exit_code == 0 else None
            run.vs_af10 = run.wall_s / af10.wall_s if af10 and af10.exit_code == 0 else None
    return {"tracks": args.tracks, "track_bytes": source, "latency_s": args.latency,
            "bandwidth_bps": args.bandwidth, "chunk_size": piece_size(args.bandwidth),
            "ffmpeg": ffmpeg, "gnu_time": TIME, "runs": [asdict(r) for r in runs],
            "targets": targets(runs)}


def _find(runs: list[Run], workers: int, kind: str) -> Run | None:
    return next((r for r in runs if r.tool == "AudioFetch" and r.workers == workers
                 and r.output_kind == kind), None)


def targets(runs: list[Run]) -> list[dict]:
    """The issue's targets; one that needs a run that was skipped is left out."""
    ours = [r for r in runs if r.tool == "AudioFetch"]
    bad = [r.label for r in ours if r.check != "ok"]
    peak = max(ours, key=lambda r: r.peak_rss_mb)
    result = [{"target": "AudioFetch outputs ok", "value": ", ".join(bad) or "all ok",
               "met": not bad},
              {"target": "AudioFetch peak RSS < 150 MB",
               "value": f"{peak.peak_rss_mb:.0f} MB ({peak.label})",
               "met": peak.peak_rss_mb < 150}]
    one, af10, folder = _find(runs, 1, "zip"), _find(runs, 10, "zip"), _find(runs, 10, "folder")
    ytdlp = next((r for r in runs if r.tool == "yt-dlp"), None)
    if one and af10:
        result.append({"target": "10 workers >= 8x faster than 1 worker",
                       "value": f"{af10.speedup or 0:.2f}x "
                                f"({one.wall_s:.1f} s / {af10.wall_s:.1f} s)",
                       "met": (af10.speedup or 0) >= 8})
    if af10 and ytdlp:
        ok = ytdlp.exit_code == 0 and ytdlp.check == "ok"
        result.append({"target": "10 workers faster than yt-dlp",
                       "value": f"{ytdlp.vs_af10 or 0:.2f}x ({ytdlp.wall_s:.1f} s / "
                                f"{af10.wall_s:.1f} s)" + ("" if ok else f", yt-dlp {ytdlp.check}"),
                       "met": af10.exit_code == 0 and af10.wall_s < ytdlp.wall_s})
    if af10 and folder:
        ratio = af10.wall_s / folder.wall_s if folder.wall_s else float("inf")
        result.append({"target": "ZIP within 5% of folder (10 workers)",
                       "value": f"ZIP {af10.wall_s:.2f} s / folder {folder.wall_s:.2f} s = "
                                f"{ratio:.3f}",
                       "met": af10.exit_code == 0 and folder.exit_code == 0 and ratio <= 1.05})
    return result


def print_table(report: dict) -> None:
    mb = report["track_bytes"] / 2**20
    print(f"\nPage: {report['tracks']} tracks x {report['track_bytes']:,} bytes ({mb:.2f} MiB, "
          f"one real 128 kbps MP3), {report['latency_s'] * 1000:.0f} ms per request, "
          f"{report['bandwidth_bps'] / 2**20:.2f} MiB/s per connection "
          f"({report['chunk_size'] // 1024} KiB pieces)")
    print(f"FFmpeg for the source and checks: {report['ffmpeg']}; "
          f"peak RSS from {report['gnu_time'] or 'ru_maxrss (no GNU time: upper bound)'}\n")
    head = (f"{'run':<26} {'wall s':>8} {'MiB/s':>6} {'vs 1w':>6} {'vs AF10':>8} "
            f"{'peak RSS MB':>11} {'tree MB':>8} {'bytes':>12}  output")
    print(head)
    print("-" * len(head))
    for r in report["runs"]:
        label = Run(r["tool"], r["workers"], r["output_kind"]).label
        rate = r["bytes"] / 2**20 / r["wall_s"] if r["wall_s"] and r["bytes"] else 0
        speed = f"{r['speedup']:.2f}x" if r["speedup"] is not None else "n/a"
        vs = f"{r['vs_af10']:.2f}x" if r["vs_af10"] is not None else "n/a"
        print(f"{label:<26} {r['wall_s']:>8.2f} {rate:>6.2f} {speed:>6} {vs:>8} "
              f"{r['peak_rss_mb']:>11.1f} {r['tree_rss_mb']:>8.1f} {r['bytes']:>12,}  "
              f"{r['check']}")
        for detail in r["details"]:
            print(f"{'':<26}   - {detail}")
    print("\nvs 1w: AudioFetch 1-worker wall time / this run's (its speedup). vs AF10: this "
          "run's wall time / AudioFetch 10 workers ZIP (higher = AudioFetch faster).")
    print("peak RSS: largest single process of the tree (GNU time %M); tree MB: the tree's "
          "summed RSS (the app + its FFmpeg tagging children), sampled every 100 ms.\n")
    for t in report["targets"]:
        print(f"[{'met' if t['met'] else 'MISSED':>6}] {t['target']}: {t['value']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=40)
    parser.add_argument("--size-mb", type=float, default=3.0, help="MiB per track (about)")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added per request")
    parser.add_argument("--bandwidth", type=int, default=2**20,
                        help="bytes/s per connection (default 1 MiB/s)")
    parser.add_argument("--workers-list", default="1,5,10,20",
                        type=lambda s: [int(w) for w in s.split(",") if w.strip()],
                        help="AudioFetch ZIP runs (a 10-worker folder run is always added)")
    parser.add_argument("--skip-ytdlp", action="store_true")
    parser.add_argument("--timeout", type=float, help="seconds per tool run (default: generous)")
    parser.add_argument("--keep", action="store_true", help="keep outputs and logs")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--mp3", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.mp3, args.tracks, args.latency, args.bandwidth)
        return 0
    if args.timeout is None:  # three times the one-connection time, plus start-up
        args.timeout = 120 + 3 * args.tracks * (args.size_mb * 2**20 / args.bandwidth
                                                + args.latency)
    report = benchmark(args)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_table(report)
    return 0 if all(t["met"] for t in report["targets"]) else 1


if __name__ == "__main__":
    sys.exit(main())
