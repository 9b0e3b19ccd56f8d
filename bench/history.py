"""Job history at 1k, 10k and 100k jobs: the one-file layout against the history folder.

    python bench/history.py [--sizes 1000,10000,100000] [--old /tmp/hist-old] [--json]

Builds each history in the one-file format (every job in audiofetch.json's `jobs` table,
written directly as JSON, about 470 bytes a job as AudioFetch writes them), then runs the
code at --old (a checkout from before the history folder: `git worktree add /tmp/hist-old
7a9d95b`) and this tree side by side on copies of it, each in its own processes:
- first start: `audiofetch jobs list` on the copy (this tree moves the jobs here, once);
- jobs list: the same command again (wall time of the whole process);
- write ms: one job state write (JobManager._write of one finished job), median of 15, and
  stall ms: the longest the event loop waited meanwhile (a 1 ms ticker);
- serve: `audiofetch serve` start to the first HTTP 200 of GET /api/jobs;
- GET ms: GET /api/jobs?limit=25 at offset 0 and at the last page, median of 15;
- RSS: of the serve process after those requests.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START = 1_650_000_000.0
STATES = ["done"] * 8 + ["failed", "cancelled"]

PROBE = r"""
import asyncio, json, statistics, time
from audiofetch_app.sources.runtime import open_runtime

async def main():
    rt = await open_runtime(console_log=False)
    jobs = rt.jobs
    job = jobs._jobs[jobs.list(limit=1)[0].id]
    stall = 0.0
    stop = False
    async def ticker():
        nonlocal stall
        while not stop:
            t = time.perf_counter()
            await asyncio.sleep(0.001)
            stall = max(stall, time.perf_counter() - t - 0.001)
    tick = asyncio.create_task(ticker())
    await asyncio.sleep(0.05)
    stall = 0.0
    times = []
    for i in range(15):
        job.title = f"renamed {i}"
        t = time.perf_counter()
        await jobs._write([job])
        times.append(time.perf_counter() - t)
        await asyncio.sleep(0.01)
    stop = True
    await tick
    print(json.dumps({"write_ms": statistics.median(times) * 1000, "stall_ms": stall * 1000}))
    await rt.close()

asyncio.run(main())
"""


def build_history(path: Path, n: int) -> None:
    """n jobs in the one-file format, one every 10 minutes, newest last."""
    rng = random.Random(n)
    jobs = {}
    for i in range(n):
        created = START + i * 600
        jid = f"{i:012x}"
        jobs[str(i + 1)] = {
            "kind": "direct", "url": f"https://media.example.com/shows/{i}/episode.mp3",
            "options": {}, "id": jid, "title": f"Episode {i} of a podcast", "state":
            rng.choice(STATES), "bytes_done": 4_000_000, "bytes_total": 4_000_000,
            "items_done": 1, "items_total": 1, "speed": 0.0, "created_at": created,
            "started_at": created + 1, "finished_at": created + 30,
            "output_path": f"/home/user/Music/AudioFetch/Episode {i}.mp3",
            "files": [f"/home/user/Music/AudioFetch/Episode {i}.mp3"], "error": None,
            "status": "", "resume_at": None, "detail": {}, "from_network": False}
    data = {"jobs": jobs, "settings": {"1": {"download_dir": str(path.parent / "dl")}}}
    path.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")


def env_for(code: Path, home: Path) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(code), AUDIOFETCH_HOME=str(home),
               NICEGUI_STORAGE_PATH=str(home / ".nicegui"))
    env.pop("AUDIOFETCH_PASSWORD", None)
    return env


def timed(cmd: list[str], env: dict[str, str], code: Path) -> float:
    t = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, cwd=code)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {done.stderr[-2000:]}")
    return time.perf_counter() - t


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_ms(url: str) -> float:
    t = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as answer:
        answer.read()
    return (time.perf_counter() - t) * 1000


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def serve_numbers(code: Path, home: Path, n: int) -> dict[str, float]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "audiofetch_app", "serve", "--port", str(port)],
                            env=env_for(code, home), cwd=code, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/api/jobs"
    t = time.perf_counter()
    try:
        while True:
            try:
                get_ms(base + "?limit=1")
                break
            except OSError:
                if proc.poll() is not None or time.perf_counter() - t > 120:
                    raise SystemExit("serve did not answer") from None
                time.sleep(0.02)
        start_s = time.perf_counter() - t
        first = [get_ms(f"{base}?offset=0&limit=25") for _ in range(15)]
        deep = [get_ms(f"{base}?offset={max(0, n - 25)}&limit=25") for _ in range(15)]
        return {"serve_s": start_s, "get0_ms": statistics.median(first),
                "get_deep_ms": statistics.median(deep), "rss_mb": rss_mb(proc.pid)}
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def measure(code: Path, legacy: Path, n: int, tmp: Path, name: str) -> dict[str, float | str]:
    home = tmp / f"{name}-{n}"
    home.mkdir()
    shutil.copy(legacy, home / "audiofetch.json")
    env = env_for(code, home)
    cli = [sys.executable, "-m", "audiofetch_app", "jobs", "list", "--limit", "25"]
    row: dict[str, float | str] = {"layout": name, "jobs": n}
    row["first_start_s"] = timed(cli, env, code)
    row["list_s"] = timed(cli, env, code)
    # The working directory comes first on sys.path with -m and -c: run in the code's tree.
    probe = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True,
                           text=True, timeout=600, cwd=code)
    if probe.returncode != 0:
        raise SystemExit(f"probe failed: {probe.stderr[-2000:]}")
    row.update(json.loads(probe.stdout.strip().splitlines()[-1]))
    row.update(serve_numbers(code, home, n))
    row["db_mb"] = sum(p.stat().st_size for p in home.rglob("*.json") if p.is_file()) / 1e6
    shutil.rmtree(home, ignore_errors=True)
    return row


COLUMNS = [("jobs", "jobs", 7, "d"), ("layout", "layout", 7, "s"),
           ("first_start_s", "1st start s", 12, ".2f"), ("list_s", "jobs list s", 12, ".2f"),
           ("write_ms", "write ms", 9, ".1f"), ("stall_ms", "stall ms", 9, ".1f"),
           ("serve_s", "serve s", 8, ".2f"), ("get0_ms", "GET@0 ms", 9, ".1f"),
           ("get_deep_ms", "GET@end ms", 11, ".1f"), ("rss_mb", "RSS MB", 7, ".0f")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--old", type=Path, default=Path("/tmp/hist-old"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not (args.old / "audiofetch_app").is_dir():
        raise SystemExit(f"No old checkout at {args.old}: git worktree add {args.old} 7a9d95b")
    rows = []
    with tempfile.TemporaryDirectory(prefix="af-bench-history-") as tmp_name:
        tmp = Path(tmp_name)
        for n in [int(s) for s in args.sizes.split(",")]:
            legacy = tmp / f"legacy-{n}.json"
            build_history(legacy, n)
            old = measure(args.old, legacy, n, tmp, "old")
            new = measure(ROOT, legacy, n, tmp, "new")
            rows += [old, new]
            legacy.unlink()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print("".join(f"{title:>{width}}" for _, title, width, _ in COLUMNS))
    for row in rows:
        print("".join(f"{row[key]:>{width}{fmt}}" for key, _, width, fmt in COLUMNS))
    print("\nold ÷ new (higher is better for the new layout):")
    for old, new in zip(rows[::2], rows[1::2], strict=True):
        ratios = "  ".join(f"{title} {old[key] / max(new[key], 1e-9):.1f}×"
                           for key, title, _, _ in COLUMNS[3:])
        print(f"{old['jobs']:>7}  {ratios}")
    ok = all(r["layout"] == "old" or (r["jobs"] < 100_000 or (
        r["write_ms"] < 5 and r["stall_ms"] < 20 and r["serve_s"] < 2 and r["get0_ms"] < 20
        and r["get_deep_ms"] < 20 and r["list_s"] < 1 and r["rss_mb"] < 200)) for r in rows)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
