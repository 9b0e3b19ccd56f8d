"""A two-hour X Space from the fake X: AudioFetch against FFmpeg's own HLS reader and yt-dlp.

    python bench/spaces.py [--chunks 2400] [--latency 0.04] [--workers 16]
                           [--peer-spaces both|junk|clean] [--skip-ytdlp] [--skip-ffmpeg]
                           [--timeout S] [--keep] [--json]

The fake (tests.fakes.x_server.serve_space_for_bench) runs in its own process (this file
with --serve), so its CPU and memory are nobody's measurement. Every tool runs as its own
process tree, one at a time:
- AudioFetch: `python -m audiofetch_app space <Space link> -o DIR --workers N`, talking to
  the fake through AUDIOFETCH_X_API, on the Space as X serves it (junk before some ID3 tags).
- FFmpeg (what twspace-dl does): `ffmpeg -headers "Referer: https://x.com/" -i <master
  playlist> -c copy out.m4a` with the bundled FFmpeg.
- yt-dlp: its native HLS downloader, `--concurrent-fragments N`, muxing with the bundled FFmpeg.
The peers run on the junk Space (they do not strip junk, so they are checked and reported
honestly) and on a junk-free copy of it (their best case); the speed targets use each
peer's fastest run that exited 0.

Peak RSS is the largest single process of a tree (GNU time's %M: ru_maxrss from wait4 of a
tiny parent, exact; a plain fork from this process would inherit this process's own
high-water mark); "tree MB" is the sum of the tree's RSS sampled every 100 ms. Every output
is checked: ffprobe duration within one chunk of the expected, no FFmpeg decode errors, and
the per-chunk test tones in order (no gap, no repeat, no swap).

The fake notes when it sent its last chunk, so each run also shows how long after that the
output was renamed into place ("ready s", from its ctime) and the process ended ("exit s"),
and wall time against the latency bound (chunks x latency / workers). Targets: AudioFetch
within 1.25x of the bound, ready within 0.5 s, >= 1.8x faster than yt-dlp, peak RSS < 150 MB.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

REFERER = "https://x.com/"
CHUNK_SECONDS = 3.008
PAGE = os.sysconf("SC_PAGE_SIZE")
TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
DROP_ENV = ("AUDIOFETCH_X_AUTH_TOKEN", "AUDIOFETCH_X_CT0", "TWITTER_AUTH_TOKEN", "TWITTER_CT0",
            "IMAGEIO_FFMPEG_EXE")


# -- the fake, in its own process -----------------------------------------------------------

def serve(chunks: int, latency: float, junk_every: int) -> None:
    """Serve one Space, print its URLs as one JSON line, serve until stdin closes."""
    from tests.fakes.x_server import serve_space_for_bench

    fake, space = serve_space_for_bench(chunks=chunks, latency=latency, junk_every=junk_every)
    sid = space.space_id
    first_chunk, last_chunk = _time_chunk_answers(fake.server)
    print(json.dumps({"url": fake.url, "space_id": sid, "space_url": fake.space_url(sid),
                      "playlist_url": fake.playlist_url(sid),
                      "media_playlist_url": fake.media_playlist_url(sid),
                      "expected_duration": fake.expected_duration(sid),
                      "sequence": fake.chunk_sequence(sid),
                      "junk_chunks": len(fake.junk_chunks(sid))}), flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        for line in sys.stdin:  # "stats": when the last chunk answer was sent (epoch s)
            if line.strip() == "stats":
                print(json.dumps({"first_chunk_at": first_chunk[0],
                                  "last_chunk_at": last_chunk[0]}), flush=True)
    finally:
        fake.stop()


def _time_chunk_answers(server) -> tuple[list[float | None], list[float | None]]:
    """Wrap the fake's request handler to note when the first chunk was asked for and when
    the last chunk answer had been sent.

    Wall-clock (epoch) time, so it compares with the output file's ctime (set by the final
    rename) in the measuring process."""
    first: list[float | None] = [None]
    last: list[float | None] = [None]
    handle = server._handle

    def timed(handler, request) -> None:
        if first[0] is None and request.path.endswith("_a.aac"):
            first[0] = time.time()
        handle(handler, request)
        if request.path.endswith("_a.aac"):
            with contextlib.suppress(OSError):
                handler.wfile.flush()
            last[0] = max(last[0] or 0.0, time.time())

    server._handle = timed
    return first, last


@contextlib.contextmanager
def served_process(extra_args: list[str], log_path: Path, what: str, script: Path | None = None):
    """Run `script --serve ...` in its own process; yield the JSON line it prints first.

    The server lives until its stdin closes, so it never outlives the benchmark. The
    yielded dict's "_ask" sends one line to the server and returns its JSON answer.
    """
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, str(script or Path(__file__).resolve()), "--serve", *extra_args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, cwd=ROOT, text=True)
        try:
            line = proc.stdout.readline()
            if not line:
                raise SystemExit(f"{what} did not start:\n{log_path.read_text()}")
            info = json.loads(line)

            def ask(question: str) -> dict:
                proc.stdin.write(question + "\n")
                proc.stdin.flush()
                return json.loads(proc.stdout.readline() or "{}")

            info["_ask"] = ask
            yield info
        finally:
            with contextlib.suppress(OSError):
                proc.stdin.close()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.terminate()
                proc.wait(timeout=10)


def fake_x(args: argparse.Namespace, junk_every: int, log_path: Path):
    """Start the fake X in its own process; yield what its --serve mode printed."""
    return served_process(["--chunks", str(args.chunks), "--latency", str(args.latency),
                           "--junk-every", str(junk_every)], log_path, "the fake X")


# -- measuring one process tree -------------------------------------------------------------

@dataclass
class Run:
    tool: str
    space: str  # "junk" (as X serves it) or "clean" (no junk)
    wall_s: float = 0.0
    peak_rss_mb: float = 0.0
    tree_rss_mb: float = 0.0
    exit_code: int | None = None
    output: str | None = None
    check: str = "not run"
    details: list[str] = field(default_factory=list)
    ratio: float | None = None  # wall time / AudioFetch's wall time
    first_chunk_s: float | None = None  # tool started -> its first chunk request
    ready_after_s: float | None = None  # last chunk answer sent -> output renamed into place
    exit_after_s: float | None = None  # last chunk answer sent -> the tool's process ended
    log: str = ""


def _session_rss(sid: int) -> int:
    """Sum of RSS (bytes) of every process in session `sid` (the measured tree)."""
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            if int(fields[3]) != sid:  # fields after ")": state ppid pgrp session ...
                continue
            with open(f"/proc/{entry.name}/statm", "rb") as f:
                total += int(f.read().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            continue
    return total


def measure(cmd: list[str], *, env: dict[str, str], log: Path, timeout: float,
            cwd: Path = ROOT) -> tuple[int, float, float, float, str]:
    """Run `cmd` in its own session: (exit code, wall s, peak RSS MB, tree RSS MB, stdout)."""
    out_path, rss_path = log.with_suffix(".out"), log.with_suffix(".rss")
    if TIME:  # GNU time's %M: the largest process of the tree, from wait4 of a tiny parent
        cmd = [TIME, "-f", "%M", "-o", str(rss_path), *cmd]
    with open(out_path, "wb") as out, open(log, "wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env,
                                cwd=cwd, start_new_session=True)
        tree_peak = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal tree_peak
            while not done.wait(0.1):
                tree_peak = max(tree_peak, _session_rss(proc.pid))

        def kill() -> None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        timer = threading.Timer(timeout, kill)
        timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        timer.cancel()
        done.set()
        sampler.join()
        kill()  # anything the tool left behind in its session
        proc.returncode = os.waitstatus_to_exitcode(status)
    code = proc.returncode if wall < timeout else -9
    try:
        peak = int(rss_path.read_text().split()[-1]) / 1024  # KiB
    except (OSError, ValueError, IndexError):
        # ru_maxrss of our own child also counts this process's RSS at fork/exec time
        # (Linux keeps the pre-exec high-water mark), so it is only an upper bound.
        peak = usage.ru_maxrss / 1024
    return code, wall, peak, tree_peak / 2**20, out_path.read_text(errors="replace")


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in DROP_ENV}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


# -- the three tools --------------------------------------------------------------------------

def run_audiofetch(space: dict, args, work: Path) -> Run:
    run = Run("AudioFetch", "junk")
    out_dir, home = work / "audiofetch-out", work / "audiofetch-home"
    out_dir.mkdir()
    home.mkdir()
    env = base_env() | {"AUDIOFETCH_HOME": str(home), "AUDIOFETCH_X_API": space["url"]}
    cmd = [sys.executable, "-m", "audiofetch_app", "space", space["space_url"],
           "-o", str(out_dir), "--workers", str(args.workers)]
    run.log = str(work / "audiofetch.log")
    code, run.wall_s, run.peak_rss_mb, run.tree_rss_mb, stdout = measure(
        cmd, env=env, log=Path(run.log), timeout=args.timeout)
    lines = stdout.strip().splitlines()
    run.exit_code = code
    run.output = lines[-1].strip() if code == 0 and lines else None
    return run


def run_ffmpeg(space: dict, kind: str, args, work: Path, ffmpeg: str) -> Run:
    run = Run("FFmpeg (HLS)", kind)
    out = work / f"ffmpeg-{kind}.m4a"
    cmd = [ffmpeg, "-hide_banner", "-nostdin", "-y", "-v", "warning",
           "-headers", f"Referer: {REFERER}\r\n", "-i", space["playlist_url"],
           "-c", "copy", str(out)]
    run.log = str(work / f"ffmpeg-{kind}.log")
    run.exit_code, run.wall_s, run.peak_rss_mb, run.tree_rss_mb, _ = measure(
        cmd, env=base_env(), log=Path(run.log), timeout=args.timeout)
    run.output = str(out) if run.exit_code == 0 and out.exists() else None
    return run


def ensure_ytdlp() -> None:
    try:
        import yt_dlp  # noqa: F401
    except ImportError:
        print("yt-dlp is missing: installing it for the benchmark (never an app dependency)",
              file=sys.stderr)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "yt-dlp"], check=True)


def run_ytdlp(space: dict, kind: str, args, work: Path, ffmpeg: str) -> Run:
    run = Run(f"yt-dlp (-N {args.workers})", kind)
    out_dir = work / f"ytdlp-{kind}"
    out_dir.mkdir()
    # The FFmpeg binary itself, not a folder: with no ffprobe beside it, yt-dlp cannot see
    # that its joined fragments are raw ADTS and always remuxes them into a real MP4 (with
    # an ffprobe it skips the remux and leaves ADTS in a file named .mp4).
    cmd = [sys.executable, "-m", "yt_dlp", "--ignore-config", "--no-cache-dir", "--no-mtime",
           "--newline", "--no-progress", "--hls-prefer-native", "--downloader", "m3u8:native",
           "--concurrent-fragments", str(args.workers), "--add-header", f"Referer:{REFERER}",
           "--ffmpeg-location", ffmpeg, "-o", str(out_dir / "out.%(ext)s"),
           space["playlist_url"]]
    run.log = str(work / f"ytdlp-{kind}.log")
    run.exit_code, run.wall_s, run.peak_rss_mb, run.tree_rss_mb, _ = measure(
        cmd, env=base_env(), log=Path(run.log), timeout=args.timeout)
    outputs = [p for p in out_dir.iterdir() if p.suffix not in (".part", ".ytdl")
               and not p.name.endswith(".part-Frag")]
    run.output = str(outputs[0]) if run.exit_code == 0 and len(outputs) == 1 else None
    return run


def time_the_tail(run: Run, space: dict, ended_at: float) -> None:
    """How long after the last chunk arrived the output was in place (its ctime, set by the
    final rename) and the process had ended."""
    stats = space["_ask"]("stats")
    last, first = stats.get("last_chunk_at"), stats.get("first_chunk_at")
    if first is not None:
        run.first_chunk_s = first - (ended_at - run.wall_s)
    if last is None:
        return
    run.exit_after_s = ended_at - last
    if run.output and Path(run.output).exists():
        run.ready_after_s = Path(run.output).stat().st_ctime - last


# -- checking an output ---------------------------------------------------------------------

def chunk_tones(path: Path, ffmpeg: str, rate: int = 8000) -> list[int]:
    """The test tone (Hz, to 100 Hz) of each 3.008 s window, like space_audio.measure_tones.

    Streams mono PCM at 8 kHz (the tones stay under 1.9 kHz), so two hours cost seconds and
    a few MB instead of 1.4 GB of 48 kHz samples in a Python loop.
    """
    window = round(CHUNK_SECONDS * rate)  # 24064 samples: whole, 3.008 s is 376 / 125
    proc = subprocess.Popen([ffmpeg, "-v", "quiet", "-i", str(path), "-map", "0:a", "-ac", "1",
                             "-ar", str(rate), "-f", "s16le", "pipe:1"],
                            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    tones: list[int] = []
    with proc:
        while len(block := proc.stdout.read(window * 2)) == window * 2:
            middle = block[window // 2:window // 2 + window]  # middle half, in bytes
            tones.append(_tone(middle, rate))
    return tones


def _tone(pcm: bytes, rate: int) -> int:
    try:
        import numpy as np
    except ImportError:
        import array
        samples = array.array("h", pcm)
        crossings = sum((a < 0) != (b < 0) for a, b in itertools.pairwise(samples))
        count = len(samples)
    else:
        negative = np.frombuffer(pcm, dtype="<i2") < 0
        crossings = int(np.count_nonzero(negative[1:] != negative[:-1]))
        count = len(negative)
    return round(crossings / 2 / (count / rate) / 100) * 100


def check_output(run: Run, space: dict, ffmpeg: str, work: Path) -> None:
    from tests.fakes.space_audio import tone_hz

    if run.exit_code != 0 or not run.output:
        run.check = "failed" if run.exit_code != -9 else "timed out"
        log = Path(run.log)
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] if log.exists() else []
        run.details.append(f"exit code {run.exit_code}" + (f": {tail[0][:200]}" if tail else ""))
        return
    path = Path(run.output)
    ffprobe = shutil.which("ffprobe") or "/usr/bin/ffprobe"
    probe = subprocess.run([ffprobe, "-v", "error", "-show_entries", "format=duration",
                            "-of", "json", str(path)], capture_output=True, text=True)
    try:
        duration = float(json.loads(probe.stdout)["format"]["duration"])
    except (ValueError, KeyError):
        duration = -1.0
    expected = space["expected_duration"]
    if abs(duration - expected) > CHUNK_SECONDS:
        run.details.append(f"duration {duration:.1f} s, expected {expected:.1f} s")
    decode = subprocess.run([ffmpeg, "-v", "error", "-i", str(path), "-map", "0:a", "-f", "null",
                             "-"], capture_output=True, text=True)
    errors = [line for line in decode.stderr.splitlines() if line.strip()]
    if errors or decode.returncode:
        run.details.append(f"{len(errors)} decode error lines (first: {errors[0][:120]!r})"
                           if errors else f"decoder exit code {decode.returncode}")
    tones = chunk_tones(path, ffmpeg)
    wanted = [tone_hz(seq) for seq in space["sequence"]]
    wrong = sum(1 for a, b in zip(tones, wanted, strict=False) if a != b) + \
        abs(len(tones) - len(wanted))
    if wrong:
        first = next((i for i, (a, b) in enumerate(zip(tones, wanted, strict=False)) if a != b),
                     min(len(tones), len(wanted)))
        run.details.append(f"{wrong} of {len(wanted)} chunk tones wrong or missing "
                           f"(first at chunk {first})")
    run.check = "damaged" if run.details else "ok"


# -- the run ----------------------------------------------------------------------------------

def benchmark(args: argparse.Namespace) -> dict:
    from audiofetch_app.core.ffmpeg import find_ffmpeg

    ffmpeg = args.ffmpeg or find_ffmpeg()
    if not args.skip_ytdlp:
        ensure_ytdlp()
    kinds = {"both": ["junk", "clean"], "junk": ["junk"], "clean": ["clean"]}[args.peer_spaces]
    work = Path(tempfile.mkdtemp(prefix="audiofetch-bench-spaces-"))
    runs: list[Run] = []
    spaces: dict[str, dict] = {}
    plan: list[tuple[str, str]] = [("AudioFetch", "junk")]
    for kind in kinds:
        if not args.skip_ytdlp:
            plan.append(("yt-dlp", kind))
        if not args.skip_ffmpeg:
            plan.append(("FFmpeg", kind))
    try:
        for tool, kind in plan:
            # A fresh fake per run: no run inherits another's connections or request log.
            with fake_x(args, 7 if kind == "junk" else 0,
                        work / f"server-{len(runs)}-{tool}-{kind}.log") as space:
                spaces[kind] = space
                if tool == "AudioFetch":
                    run = run_audiofetch(space, args, work)
                elif tool == "yt-dlp":
                    run = run_ytdlp(space, kind, args, work, ffmpeg)
                else:
                    run = run_ffmpeg(space, kind, args, work, ffmpeg)
                time_the_tail(run, space, ended_at=time.time())
            print(f"  {run.tool:<16} {run.space:<5} {run.wall_s:8.2f} s (exit {run.exit_code})",
                  file=sys.stderr, flush=True)
            check_output(run, spaces[kind], ffmpeg, work)
            runs.append(run)
    finally:
        if args.keep:
            print(f"kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    ours = next(r for r in runs if r.tool == "AudioFetch")
    for run in runs:  # a run that failed has no meaningful speed
        run.ratio = run.wall_s / ours.wall_s if ours.wall_s and run.exit_code == 0 else None
    bound = latency_bound(args)
    return {"chunks": args.chunks, "latency_s": args.latency, "workers": args.workers,
            "latency_bound_s": bound,
            "expected_duration_s": spaces["junk"]["expected_duration"],
            "junk_chunks": spaces["junk"]["junk_chunks"], "ffmpeg": ffmpeg,
            "runs": [asdict(r) for r in runs], "targets": targets(runs, bound)}


def latency_bound(args: argparse.Namespace) -> float:
    """The least time any tool needs: every chunk request waits `latency`, `workers` at once."""
    return args.chunks * args.latency / args.workers


def targets(runs: list[Run], bound: float) -> list[dict]:
    """The issue's targets, judged against each peer's fastest run (its best case)."""
    ours = next(r for r in runs if r.tool == "AudioFetch")
    ready = ours.ready_after_s
    result = [{"target": "AudioFetch output ok", "value": ours.check, "met": ours.check == "ok"},
              {"target": "AudioFetch peak RSS < 150 MB",
               "value": f"{ours.peak_rss_mb:.0f} MB (tree {ours.tree_rss_mb:.0f} MB)",
               "met": ours.peak_rss_mb < 150 and ours.tree_rss_mb < 150},
              {"target": "AudioFetch wall time within 1.25x of the latency bound",
               "value": f"{ours.wall_s / bound:.2f}x of {bound:.2f} s",
               "met": ours.wall_s <= 1.25 * bound},
              {"target": "file ready within 0.5 s of the last chunk",
               "value": f"{ready:.2f} s (process ended {ours.exit_after_s:.2f} s after)"
               if ready is not None and ours.exit_after_s is not None else "n/a",
               "met": ready is not None and ready <= 0.5}]
    for name, goal, label in (("FFmpeg", 10.0, ">= 10x faster than FFmpeg"),
                              ("yt-dlp", 1.8, ">= 1.8x faster than yt-dlp")):
        peer = [r for r in runs if r.tool.startswith(name) and r.exit_code == 0]
        if peer:
            best = min(peer, key=lambda r: r.wall_s)
            result.append({"target": label, "value": f"{best.ratio:.1f}x ({best.space} Space)",
                           "met": best.ratio is not None and best.ratio >= goal})
    return result


def print_table(report: dict) -> None:
    print(f"\nX Space: {report['chunks']} chunks ({report['expected_duration_s'] / 3600:.2f} h, "
          f"{report['junk_chunks']} with junk before ID3 in the 'junk' Space), "
          f"{report['latency_s'] * 1000:.0f} ms per request, {report['workers']} workers")
    print(f"Latency bound: {report['chunks']} x {report['latency_s']} s / {report['workers']} "
          f"= {report['latency_bound_s']:.2f} s")
    print(f"FFmpeg for peers and checks: {report['ffmpeg']}\n")
    head = (f"{'tool':<16} {'Space':<6} {'wall s':>8} {'x bound':>8} {'1st s':>6} {'ready s':>8} "
            f"{'exit s':>7} {'peak RSS MB':>12} {'tree MB':>8} {'vs AudioFetch':>14}  output")
    print(head)
    print("-" * len(head))
    for r in report["runs"]:
        ratio = f"{r['ratio']:.1f}x" if r["ratio"] is not None else "n/a"
        ready = f"{r['ready_after_s']:.2f}" if r["ready_after_s"] is not None else "n/a"
        ended = f"{r['exit_after_s']:.2f}" if r["exit_after_s"] is not None else "n/a"
        first = f"{r['first_chunk_s']:.2f}" if r["first_chunk_s"] is not None else "n/a"
        print(f"{r['tool']:<16} {r['space']:<6} {r['wall_s']:>8.2f} "
              f"{r['wall_s'] / report['latency_bound_s']:>8.2f} {first:>6} {ready:>8} {ended:>7} "
              f"{r['peak_rss_mb']:>12.1f} {r['tree_rss_mb']:>8.1f} {ratio:>14}  {r['check']}")
        for detail in r["details"]:
            print(f"{'':<16}   - {detail}")
    print("\n'junk': the Space as X serves it; 'clean': the same Space without junk bytes.")
    print("vs AudioFetch: the tool's wall time / AudioFetch's (higher = AudioFetch faster).")
    print("1st s: from the tool's start to its first chunk request. ready s / exit s: from "
          "the fake sending its last chunk to the output being renamed into place / the "
          "tool's process ending.\n")
    for t in report["targets"]:
        print(f"[{'met' if t['met'] else 'MISSED':>6}] {t['target']}: {t['value']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=2400)
    parser.add_argument("--latency", type=float, default=0.04, help="seconds added per request")
    parser.add_argument("--workers", type=int, default=16,
                        help="AudioFetch workers and yt-dlp --concurrent-fragments")
    parser.add_argument("--peer-spaces", choices=["both", "junk", "clean"], default="both",
                        help="run FFmpeg and yt-dlp on the junk Space, a clean copy, or both")
    parser.add_argument("--skip-ytdlp", action="store_true")
    parser.add_argument("--skip-ffmpeg", action="store_true")
    parser.add_argument("--ffmpeg", help="FFmpeg for the peers and checks (default: bundled)")
    parser.add_argument("--timeout", type=float,
                        help="seconds per tool run (default: generous, from chunks and latency)")
    parser.add_argument("--keep", action="store_true", help="keep outputs and logs")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--junk-every", type=int, default=7, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.chunks, args.latency, args.junk_every)
        return 0
    if args.timeout is None:
        args.timeout = 120 + args.chunks * (args.latency + 0.02) * 4
    report = benchmark(args)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_table(report)
    return 0 if all(t["met"] for t in report["targets"]) else 1


if __name__ == "__main__":
    sys.exit(main())
